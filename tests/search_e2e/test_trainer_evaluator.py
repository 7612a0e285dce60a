"""TrainerEvaluator on its own: reproducible per-candidate training, quiet Trainers, memory freed between
candidates, the thread setting restored, and clear errors for options the search owns."""

from __future__ import annotations

import gc
import logging
import weakref
from typing import Any

import pytest
import torch
from e2e_helpers import TINY_PROXY, sample_candidates, write_search
from lightning.pytorch import Callback

from nsga_lightning.data import CIFAR10DataModule
from nsga_lightning.module import ArchitectureModule
from nsga_lightning.search.assemble.settings import CANDIDATE_TRAINER_DEFAULTS
from nsga_lightning.search.core.options import defaults
from nsga_lightning.search.training import trainer_evaluator
from nsga_lightning.search.training.trainer_evaluator import SEARCH_SETS, TrainerEvaluator

MODEL = TINY_PROXY
TRAINER = {"max_epochs": 1, "accelerator": "cpu"}


def test_the_same_candidate_trains_to_the_same_result(datamodule):
    candidate = sample_candidates("micro", 1)[0]
    evaluator = TrainerEvaluator("micro", datamodule, model=MODEL, trainer=TRAINER, run_dir=None, num_threads=1)
    first = next(iter(evaluator.evaluate([candidate])))
    second = next(iter(evaluator.evaluate([candidate])))
    assert first.is_ok, first.error_text
    assert first.objectives == second.objectives
    assert set(first.objectives) == {"error", "madds", "params"}


def test_trainers_are_quiet_and_each_candidate_is_freed_before_the_next(datamodule, monkeypatch, capfd, recwarn,
                                                                        caplog):
    alive: list[weakref.ref] = []
    leaks: list[int] = []

    class Tracked(ArchitectureModule):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            leaks.append(sum(ref() is not None for ref in alive))  # earlier candidates still in memory
            super().__init__(*args, **kwargs)
            alive.append(weakref.ref(self))

    monkeypatch.setattr(trainer_evaluator, "ArchitectureModule", Tracked)
    threads = torch.get_num_threads()
    evaluator = TrainerEvaluator("macro", datamodule, model={"init_channels": 4}, trainer=TRAINER,
                                 run_dir="run", num_threads=1)
    with caplog.at_level(logging.INFO):
        results = list(evaluator.evaluate(sample_candidates("macro", 3, n_nodes=4)))
    assert all(r.is_ok for r in results), [r.error_text for r in results]
    assert leaks == [0, 0, 0, 0]  # the module of the options check (prepare), then the three candidates
    assert torch.get_num_threads() == threads
    assert gc.get_freeze_count() == 0  # the evaluator's freeze is undone
    printed = "".join(capfd.readouterr())
    logged = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("lightning"))
    for chatter in ("GPU available", "TPU available", "Tip:", "`Trainer.fit` stopped"):
        assert chatter not in printed and chatter not in logged
    messages = [str(w.message) for w in recwarn.list]
    assert not [m for m in messages if "LeafSpec" in m or "logging interval" in m], messages


def test_step_metrics_are_logged_once_per_epoch(datamodule):
    evaluator = TrainerEvaluator("micro", datamodule, model=MODEL, trainer=TRAINER, run_dir=None)
    evaluator.prepare()
    trainer = evaluator._trainer(sample_candidates("micro", 1)[0])
    assert trainer.log_every_n_steps == len(datamodule.train_dataloader()) == 3
    assert trainer.check_val_every_n_epoch == 1 and trainer.logger is None
    limited = TrainerEvaluator("micro", datamodule, model=MODEL, trainer={**TRAINER, "limit_train_batches": 2})
    limited.prepare()
    assert limited._trainer(sample_candidates("micro", 1)[0]).log_every_n_steps == 2


def test_options_the_search_owns_are_refused(datamodule):
    with pytest.raises(ValueError, match=r"trainer options \['strategy'\] are managed by the search"):
        TrainerEvaluator("micro", datamodule, trainer={"strategy": "ddp"})
    with pytest.raises(ValueError, match=r"model options may not set \['genotype'\]"):
        TrainerEvaluator("micro", datamodule, model={"genotype": "NSGANet"})
    with pytest.raises(ValueError, match="num_threads must be None or an integer >= 1"):
        TrainerEvaluator("micro", datamodule, num_threads=0)


def test_the_fingerprint_holds_the_memory_format_but_not_the_thread_count(datamodule):
    def fingerprint(**options: Any) -> dict[str, Any]:
        return TrainerEvaluator("micro", datamodule, model=MODEL, trainer=TRAINER, **options).fingerprint()

    assert fingerprint(channels_last=False) == fingerprint(channels_last=None) != fingerprint(channels_last=True)
    assert fingerprint(num_threads=1) == fingerprint(num_threads=None) == fingerprint(num_threads=2)
    assert fingerprint()["trainer"] == {**CANDIDATE_TRAINER_DEFAULTS, **TRAINER}
    assert fingerprint()["model"] == {**defaults(ArchitectureModule, skip=(*SEARCH_SETS, "stem")), **MODEL}
    assert "input" not in fingerprint()  # 3-channel 32x32 CIFAR with the cifar stem: as before the stem option


def test_options_written_with_their_default_value_give_the_same_fingerprint(datamodule):
    explicit = TrainerEvaluator("micro", datamodule, model={**MODEL, "se": False, "momentum": 0.9},
                                trainer={**TRAINER, "gradient_clip_val": 5.0})
    omitted = TrainerEvaluator("micro", datamodule, model=MODEL, trainer=TRAINER)
    assert explicit.fingerprint() == omitted.fingerprint()
    other = TrainerEvaluator("micro", datamodule, model=MODEL, trainer={**TRAINER, "gradient_clip_val": 1.0})
    assert other.fingerprint() != omitted.fingerprint()


@pytest.mark.parametrize(
    ("model", "trainer", "match"),
    [
        (MODEL, {**TRAINER, "precison": "16-mixed"}, r"invalid trainer options .*unexpected keyword argument 'precison'"),
        (MODEL, {**TRAINER, "precision": "17"}, r"invalid trainer options .*Precision '?17'? is invalid"),
        (MODEL, {**TRAINER, "max_epochs": 0}, r"invalid trainer options .*max_epochs >= 1 epochs, got 0"),
        ({**MODEL, "layers": 2}, TRAINER, r"proxy network cannot be built from the model block .*layers"),
    ],
)
def test_options_every_candidate_would_fail_on_are_refused_before_training(datamodule, model, trainer, match):
    evaluator = TrainerEvaluator("micro", datamodule, model=model, trainer=trainer)
    with pytest.raises(ValueError, match=match):
        evaluator.prepare()


def test_data_without_a_validation_split_is_refused_before_training(workdir):
    write_search(workdir, "micro")
    evaluator = TrainerEvaluator("micro", CIFAR10DataModule(data_dir="data", val_split=0), model=MODEL,
                                 trainer=TRAINER)
    with pytest.raises(ValueError, match="set a non-zero val_split"):
        evaluator.prepare()


class Formats(Callback):
    """Records, per training step, whether the network's first convolution is in channels-last format."""

    def __init__(self) -> None:
        self.seen: list[bool] = []

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        conv = next(m for m in pl_module.network.modules() if isinstance(m, torch.nn.Conv2d))
        self.seen.append(conv.weight.is_contiguous(memory_format=torch.channels_last))


def test_channels_last_only_when_asked_and_it_changes_speed_not_the_measured_complexity(datamodule):
    """The default (None) is the contiguous format on the CPU too (issue 29: channels-last crashes torch 2.14's
    AVX2 kernels for some shapes); True trains channels-last and measures the same complexity."""
    candidate = sample_candidates("micro", 1, seed=3)[0]
    results = {}
    for setting in (None, True):
        formats = Formats()
        evaluator = TrainerEvaluator("micro", datamodule, model=MODEL, trainer=TRAINER, callbacks=[formats],
                                     num_threads=1, channels_last=setting)
        results[setting] = next(iter(evaluator.evaluate([candidate])))
        assert results[setting].is_ok, results[setting].error_text
        assert set(formats.seen) == {setting is True}
    fresh = ArchitectureModule(space="micro", genotype=candidate.genotype.to_dict(), num_classes=10,
                               log_complexity=False, **MODEL).compute_complexity()
    for setting in (None, True):
        assert results[setting].objectives["madds"] == fresh["madds"]
        assert results[setting].objectives["params"] == fresh["params"]


def test_cpu_mixed_precision_keeps_the_default_format_by_default(datamodule):
    """torch's channels-last bf16 backward of dilated depthwise convolutions is wrong on the CPU (see
    TrainerEvaluator): the default must not pick channels-last there; an explicit choice still can."""
    candidate = sample_candidates("micro", 1, seed=5)[0]  # holds a dil_conv_5x5
    assert any(op.startswith("dil_conv") for op, _ in candidate.genotype.normal + candidate.genotype.reduce)
    for setting, expected in ((None, False), (True, True)):
        formats = Formats()
        evaluator = TrainerEvaluator("micro", datamodule, model=MODEL, callbacks=[formats], num_threads=1,
                                     trainer={**TRAINER, "precision": "bf16-mixed"}, channels_last=setting)
        result = next(iter(evaluator.evaluate([candidate])))
        assert set(formats.seen) == {expected}
        if setting is None:
            assert result.is_ok, result.error_text


def test_the_fingerprint_records_an_input_other_than_the_one_of_earlier_runs(datamodule):
    def fingerprint(**model: Any) -> dict[str, Any]:
        return TrainerEvaluator("micro", datamodule, model={**MODEL, **model}, trainer=TRAINER).fingerprint()

    assert fingerprint(stem="cifar") == fingerprint() == fingerprint(stem="auto")  # auto: cifar at 32 pixels
    assert fingerprint(stem="imagenet")["input"] == {"in_channels": 3, "image_size": 32, "stem": "imagenet"}
    evaluator = TrainerEvaluator("micro", datamodule, model={**MODEL, "stem": "imagenet"}, trainer=TRAINER)
    evaluator.prepare()
    assert evaluator.build_module(sample_candidates("micro", 1)[0], 10).network.stem_type == "imagenet"
