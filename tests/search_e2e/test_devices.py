"""Candidate training on every device: the CPU always, CUDA where present (marker ``gpu``).

The CUDA variants are the GPU checks of the search (mixed precision, the deferred non-finite-loss check,
memory freed between candidates): a session with a GPU runs them with ``python -m pytest -m gpu -q``. The CPU
variants run the same test code everywhere, so the checks themselves stay exercised.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
import torch
from e2e_helpers import TINY_PROXY, sample_candidates

from nsga_lightning.callbacks import NonFiniteLossError, StopOnNonFiniteLoss
from nsga_lightning.module import ArchitectureModule
from nsga_lightning.search.training import trainer_evaluator
from nsga_lightning.search.training.trainer_evaluator import TrainerEvaluator

MODEL = TINY_PROXY
NO_CUDA = not torch.cuda.is_available()
CUDA = [pytest.mark.gpu, pytest.mark.skipif(NO_CUDA, reason="needs a CUDA device")]


def _accelerator(device: str) -> str:
    return "gpu" if device == "cuda" else "cpu"


@pytest.mark.parametrize(
    ("device", "precision"),
    [
        ("cpu", "32-true"),
        ("cpu", "bf16-mixed"),
        pytest.param("cuda", "32-true", marks=CUDA),
        pytest.param("cuda", "16-mixed", marks=CUDA),
        pytest.param("cuda", "bf16-mixed", marks=CUDA),
    ],
)
def test_a_candidate_trains_on_the_device_with_the_precision(datamodule, device, precision):
    candidate = sample_candidates("micro", 1, seed=5)[0]
    evaluator = TrainerEvaluator("micro", datamodule, model=MODEL, num_threads=1,
                                 trainer={"max_epochs": 1, "accelerator": _accelerator(device),
                                          "precision": precision})
    result = next(iter(evaluator.evaluate([candidate])))
    assert result.is_ok, result.error_text
    assert 0.0 <= result.objectives["error"] <= 100.0
    fresh = ArchitectureModule(space="micro", genotype=candidate.genotype.to_dict(), num_classes=10,
                               log_complexity=False, **MODEL).compute_complexity()
    assert result.objectives["madds"] == fresh["madds"] and result.objectives["params"] == fresh["params"]


class NaNModule(ArchitectureModule):
    """Returns a NaN loss from its second training step on."""

    def training_step(self, batch: Any, batch_idx: int) -> Any:
        loss = super().training_step(batch, batch_idx)
        return loss * float("nan") if batch_idx >= 1 else loss


@pytest.mark.parametrize("device", ["cpu", pytest.param("cuda", marks=CUDA)])
def test_a_non_finite_loss_fails_the_candidate_on_the_device(datamodule, device, monkeypatch):
    monkeypatch.setattr(trainer_evaluator, "ArchitectureModule", NaNModule)
    evaluator = TrainerEvaluator("micro", datamodule, model=MODEL, num_threads=1,
                                 trainer={"max_epochs": 2, "accelerator": _accelerator(device)})
    first, second = evaluator.evaluate(sample_candidates("micro", 2, seed=6))
    for result in (first, second):  # the search goes on after the first failure
        assert not result.is_ok
        assert "NonFiniteLossError: non-finite training loss" in result.error_text


@pytest.mark.parametrize("device", ["cpu", pytest.param("cuda", marks=CUDA)])
def test_the_deferred_check_reads_the_flag_every_n_steps_and_at_the_epoch_end(device):
    """The accelerator path (no host sync per step), forced here so that it also runs on the CPU."""
    trainer = SimpleNamespace(current_epoch=0)

    def loss(value: float) -> dict[str, torch.Tensor]:
        return {"loss": torch.tensor(value, device=device)}

    deferred = StopOnNonFiniteLoss(every=3, check_every_step=False)
    deferred.on_train_batch_end(trainer, None, loss(1.0), None, 0)
    deferred.on_train_batch_end(trainer, None, loss(float("nan")), None, 1)  # flagged, not read yet
    with pytest.raises(NonFiniteLossError, match="checked every 3 batches"):
        deferred.on_train_batch_end(trainer, None, loss(2.0), None, 2)  # third step: the flag is read

    at_epoch_end = StopOnNonFiniteLoss(every=50, check_every_step=False)
    at_epoch_end.on_train_batch_end(trainer, None, loss(float("inf")), None, 0)
    with pytest.raises(NonFiniteLossError):
        at_epoch_end.on_train_epoch_end(trainer, None)

    clean = StopOnNonFiniteLoss(every=2, check_every_step=False)
    for step in range(4):
        clean.on_train_batch_end(trainer, None, loss(1.0), None, step)
    clean.on_train_epoch_end(trainer, None)  # nothing raised

    eager = StopOnNonFiniteLoss(check_every_step=True)
    with pytest.raises(NonFiniteLossError, match="at epoch 0, batch 0"):
        eager.on_train_batch_end(trainer, None, loss(float("nan")), None, 0)
    with pytest.raises(ValueError, match="every must be >= 1"):
        StopOnNonFiniteLoss(every=0)


@pytest.mark.gpu
@pytest.mark.skipif(NO_CUDA, reason="needs a CUDA device")
def test_device_memory_is_released_between_candidates(datamodule):
    torch.cuda.synchronize()
    baseline = torch.cuda.memory_allocated()
    evaluator = TrainerEvaluator("micro", datamodule, model=MODEL, trainer={"max_epochs": 1, "accelerator": "gpu"})
    after: list[int] = []
    for result in evaluator.evaluate(sample_candidates("micro", 3, seed=7)):
        assert result.is_ok, result.error_text
        torch.cuda.synchronize()
        after.append(torch.cuda.memory_allocated())
    # the shared datamodule keeps nothing on the device between fits; every candidate is freed
    assert after == [baseline] * 3, (baseline, after)
