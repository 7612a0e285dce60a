"""Exact continuation of multi-fidelity training: a candidate trained to a rung and continued from its rung
checkpoint ends with the weights and the error of one trained straight on (``RungStop``)."""

from __future__ import annotations

from dataclasses import replace

import torch
from e2e_helpers import TINY_PROXY, sample_candidates

from nsga_lightning.search.store.run_directory import RunDirectory
from nsga_lightning.search.training.trainer_evaluator import TrainerEvaluator

TRAINER = {"max_epochs": 3, "accelerator": "cpu"}


def _state(path) -> dict:
    checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    return {"weights": checkpoint["state_dict"], "optimizer": checkpoint["optimizer_states"],
            "epoch": checkpoint["epoch"]}


def _equal(a, b) -> bool:
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_equal(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(_equal(x, y) for x, y in zip(a, b))
    if isinstance(a, torch.Tensor):
        return torch.equal(a, b)
    return a == b


def test_one_plus_one_epochs_equal_two_and_one_plus_two_equal_three(datamodule, tmp_path):
    candidate = replace(sample_candidates("micro", 1)[0], genotype=None)
    straight_run, rung_run = RunDirectory(tmp_path / "straight"), RunDirectory(tmp_path / "rungs")
    straight = TrainerEvaluator("micro", datamodule, model={**TINY_PROXY, "drop_path_prob": 0.2}, trainer=TRAINER,
                                run_dir=straight_run, num_threads=1)
    rungs = TrainerEvaluator("micro", datamodule, model={**TINY_PROXY, "drop_path_prob": 0.2}, trainer=TRAINER,
                             run_dir=rung_run, num_threads=1)

    two = next(iter(straight.evaluate([replace(candidate, epochs=2)])))  # from scratch to epoch 2
    state_two = _state(straight_run.rung_checkpoint(candidate.key))
    one = next(iter(rungs.evaluate([replace(candidate, epochs=1)])))
    assert _state(rung_run.rung_checkpoint(candidate.key))["epoch"] == 1
    one_two = next(iter(rungs.evaluate([replace(candidate, epochs=2)])))  # continued from the rung checkpoint
    assert one.is_ok and two.is_ok and one_two.is_ok, (one.error_text, two.error_text, one_two.error_text)
    assert _equal(_state(rung_run.rung_checkpoint(candidate.key)), state_two)
    assert one_two.objectives == two.objectives

    full = next(iter(straight.evaluate([replace(candidate, epochs=None)])))  # the search without rungs
    continued = next(iter(rungs.evaluate([replace(candidate, epochs=3)])))
    assert continued.objectives == full.objectives
    assert not rung_run.rung_checkpoint(candidate.key).exists()  # final: deleted


def test_a_missing_or_unfitting_rung_checkpoint_means_training_from_the_start(datamodule, tmp_path):
    candidate = sample_candidates("micro", 1, seed=3)[0]
    run = RunDirectory(tmp_path / "run")
    evaluator = TrainerEvaluator("micro", datamodule, model=TINY_PROXY, trainer=TRAINER, run_dir=run, num_threads=1)
    first = next(iter(evaluator.evaluate([replace(candidate, epochs=2)])))
    # a checkpoint at the epochs asked for again (killed after saving, before the row) is not continued from
    again = next(iter(evaluator.evaluate([replace(candidate, epochs=2)])))
    assert again.objectives == first.objectives
    run.rung_checkpoint(candidate.key).unlink()
    full = next(iter(evaluator.evaluate([replace(candidate, epochs=3)])))
    straight = next(iter(evaluator.evaluate([replace(candidate, epochs=None)])))
    assert full.objectives == straight.objectives
