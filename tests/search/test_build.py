"""Building a search from plain settings: every block checked against what it configures (a typo is one line
naming the closest valid names, before anything is created), and fingerprints that refuse a resume with another
operator or Trainer default while treating an explicit default like an omitted one."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from nsga_lightning.cli import main
from nsga_lightning.search.assemble.settings import SearchConfig
from nsga_lightning.search.build import check_config

DIGITS = {"class_path": "nsga_lightning.data.DigitsDataModule", "init_args": {"image_size": 16, "val_split": 0.2}}


def _config(**blocks) -> dict:
    config = {"search": {"pop_size": 2, "n_offspring": 1, "n_gens": 1, "run_dir": "run"}, "data": DIGITS,
              "model": {"init_channels": 4, "layers": 3}, "trainer": {"max_epochs": 1},
              "retrain": {"model": {"init_channels": 4, "layers": 3}, "trainer": {"max_epochs": 1}},
              "progress_bar": False}
    for name, value in blocks.items():
        config[name] = value
    return config


@pytest.mark.parametrize(
    ("blocks", "message"),
    [
        ({"trainer": {"max_epoch": 5}}, "unknown option trainer.max_epoch; did you mean max_epochs?"),
        ({"model": {"init_channel": 34}}, "unknown option model.init_channel; did you mean init_channels?"),
        ({"retrain": {"model": {"init_channel": 34}}}, "unknown option retrain.model.init_channel; did you mean "
                                                       "init_channels?"),
        ({"retrain": {"trainer": {"max_epoch": 5}}}, "unknown option retrain.trainer.max_epoch; did you mean "
                                                     "max_epochs?"),
        ({"search": {"pop_sizes": 4}}, "unknown option search.pop_sizes; did you mean pop_size?"),
        ({"serch": {}}, "unknown option search config.serch; did you mean search?"),
        ({"trainer": {"strategy": "ddp"}}, "trainer.strategy is set by the search"),
        ({"model": {"genotype": "DARTS"}}, "model.genotype is set by the search"),
        ({"retrain": {"model": {"num_classes": 100}}}, "retrain.model.num_classes is set by the search"),
    ],
)
def test_a_typo_in_any_block_names_the_closest_valid_option(blocks, message):
    with pytest.raises(ValueError, match=message.replace("?", r"\?")):
        check_config(_config(**blocks))


@pytest.mark.parametrize(
    ("blocks", "message"),
    [
        ({"retrain": {"data": {"class_path": "nsga_lightning.data.CIFAR10DataModul"}}},
         "has no class CIFAR10DataModul; did you mean CIFAR10DataModule"),
        ({"retrain": {"data": {"class_path": "nsga_lightning.data.CIFAR10DataModule",
                               "init_args": {"batchsize": 96}}}},
         "unknown option retrain.data.init_args.batchsize; did you mean batch_size"),
        ({"data": {"class_path": "nsga_lightning.data.DigitsDataModule", "init_args": {"imagesize": 16}}},
         "unknown option data.init_args.imagesize; did you mean image_size"),
        ({"retrain": {"model": {"auxiliary": True, "layers": 8}}}, "the retrain recipe cannot train on its data"),
        ({"search": {"pop_size": 2, "n_gens": 2, "run_dir": "run", "crossover": "uniform"}}, "crossover"),
        ({"search": {"pop_size": 2, "n_gens": 2, "run_dir": "run", "exploitation_gens": 2}}, "exploitation_gens"),
        ({"search": {"pop_size": 2, "n_gens": 2, "run_dir": "run", "initial_architectures": ["Resnet"]}},
         "'Resnet' is neither a micro zoo name"),
        ({"search": {"pop_size": 2, "n_gens": 2, "run_dir": "run", "objectives": ["error", "energy"]}},
         "objective 'energy' is not one the evaluator returns: the evaluator returns error, madds, params, latency"),
        ({"search": {"pop_size": 2, "n_gens": 2, "run_dir": "run", "constraints": {"energy": 1.0}}},
         "search.constraints has a limit on 'energy', which nothing computes: the evaluator returns error, madds"),
        ({"search": {"pop_size": 2, "n_gens": 2, "run_dir": "run", "objectives": ["error", "latency"],
                     "latency": {"target": "tpu"}}},
         "search.latency.target\": Expected a typing.Literal['cpu', 'cuda', 'onnxruntime']. Got value: tpu"),
        ({"space": {"class_path": "cell_space.CellSpace"}}, "the cell space builds no networks for the trainer"),
        ({"space": {"class_path": "cell_space.CellSpac"}}, "has no class CellSpac; did you mean CellSpace"),
        ({"space": {"class_path": "cell_space.CellSpace", "init_args": {"edges": 6}}},
         "unknown option space.init_args.edges"),
        ({"model": {"init_channels": 4, "layers": 8, "auxiliary": True}},
         "proxy network cannot be built from the model block on this data (auxiliary head needs feature maps of "
         "8x8 to 10x10 at cell 5; image_size 16 gives 4x4"),
    ],
)
def test_the_search_command_stops_on_bad_blocks_with_one_line_and_creates_nothing(tmp_path, monkeypatch, capsys,
                                                                               blocks, message):
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "search.yaml"
    config = _config(**blocks)
    path.write_text(yaml.safe_dump(config))
    assert main(["search", "--config", str(path)]) == 2
    lines = [line for line in capsys.readouterr().err.splitlines() if line.startswith("nsga-lightning: error:")]
    assert len(lines) == 1 and message in lines[0], lines
    assert not (tmp_path / "run").exists()


def test_from_dict_round_trips_and_keeps_defaults_separate():
    config = SearchConfig.from_dict(_config())
    again = SearchConfig.from_dict(config.to_dict())
    assert again == config
    assert config.candidate_trainer["gradient_clip_val"] == 5.0 and "gradient_clip_val" not in config.trainer


def test_changing_an_operator_setting_refuses_the_resume(tmp_path):
    from search_helpers import make_runner

    with make_runner(tmp_path, n_gens=1) as runner:
        runner.run()
    with pytest.raises(ValueError, match=r"operators.mutation.eta: stored 3.0 -> given 5.0"):
        make_runner(tmp_path, n_gens=2, eta=5.0)


def test_a_changed_trainer_default_refuses_the_resume_and_an_explicit_default_does_not(tmp_path, monkeypatch):
    from lightning.pytorch import LightningDataModule  # noqa: F401 - torch side of the test
    from search_helpers import make_runner

    from nsga_lightning.search.assemble import settings
    from nsga_lightning.search.training.trainer_evaluator import TrainerEvaluator

    class Data:
        hparams = {"kind": "fake"}
        num_classes, in_channels, image_size = 10, 3, 32  # what a datamodule states (no data to read them from)

    def runner(run_dir: Path, trainer: dict):
        return make_runner(run_dir, evaluator=TrainerEvaluator("micro", Data(), trainer=trainer), n_gens=1)

    with runner(tmp_path, {"max_epochs": 1}) as first:
        first.run()  # the fake data fails every candidate: the archive holds rows, so its fingerprint binds
    with runner(tmp_path, {"max_epochs": 1, "gradient_clip_val": 5.0}):
        pass  # written explicitly: the same fingerprint
    monkeypatch.setitem(settings.CANDIDATE_TRAINER_DEFAULTS, "gradient_clip_val", 1.0)
    with pytest.raises(ValueError, match=r"evaluator.trainer.gradient_clip_val: stored 5.0 -> given 1.0"):
        runner(tmp_path, {"max_epochs": 1})
