"""The start order of a parallel batch: longest expected training first (ties, and candidates without a hint, in
candidate order), and the evaluator's hint: the network's layer count, cached, the global torch RNG untouched."""

from __future__ import annotations

from pathlib import Path

import torch
import yaml

from nsga_lightning.search.build import build_evaluator
from nsga_lightning.search.core.evaluator import Candidate
from nsga_lightning.search.execution.dispatch_order import layer_count, longest_first
from nsga_lightning.spaces import make_space

ROOT = Path(__file__).resolve().parents[2]


def _candidate(key: str) -> Candidate:
    return Candidate(key, [0], 0, 0)


def test_the_longest_expected_training_starts_first_and_ties_keep_candidate_order():
    candidates = [_candidate(k) for k in "abcde"]
    hints = {"a": 1.0, "b": 5.0, "c": 1.0, "d": 7.0, "e": 5.0}
    assert [c.key for c in longest_first(candidates, lambda c: hints[c.key])] == ["d", "b", "e", "a", "c"]
    assert longest_first(candidates, None) == candidates


def test_a_candidate_without_a_hint_starts_last_and_the_batch_still_runs():
    def hint(candidate: Candidate) -> float:
        if candidate.key == "b":
            raise ValueError("cannot build it")
        return {"a": 1.0, "c": 2.0}[candidate.key]

    assert [c.key for c in longest_first([_candidate(k) for k in "abc"], hint)] == ["c", "a", "b"]


def test_the_hint_is_the_layer_count_of_the_network_trained_and_leaves_the_rng_alone(tmp_path):
    config = yaml.safe_load((ROOT / "configs" / "quickstart.yaml").read_text())
    config["search"]["run_dir"] = str(tmp_path / "run")
    evaluator = build_evaluator(config)
    evaluator.prepare()
    space = make_space("micro", n_blocks=5)
    genome = [int(g) for g in space.sample(__import__("numpy").random.default_rng(0), 1)[0]]
    candidate = Candidate(space.key(genome), genome, 1, 7, space.decode(genome))
    torch.manual_seed(5)
    state = torch.get_rng_state()
    hint = evaluator.cost_hint(candidate)
    assert torch.equal(torch.get_rng_state(), state)
    assert hint == layer_count(evaluator.build_module(candidate, evaluator.prepare())) > 10
    evaluator.build_module = None  # a second ask is answered from the cache
    assert evaluator.cost_hint(candidate) == hint
    assert layer_count(torch.nn.Sequential(torch.nn.Conv2d(1, 1, 1), torch.nn.Sequential(torch.nn.ReLU()))) == 2
