"""The pre-screen with real networks: ZeroCostScorer's scores are deterministic for a seed and computed on the
network training starts from; a small search built from a config screens, stores and trains the chosen children.
The embedded digits (no files), one batch per epoch."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import torch
import yaml

from nsga_lightning.search.build import build_evaluator, build_search
from nsga_lightning.search.core.evaluator import Candidate, derive_seed
from nsga_lightning.search.training.zero_cost_scorer import ZeroCostScorer
from nsga_lightning.spaces import make_space

ROOT = Path(__file__).resolve().parents[2]


def _config(run_dir: Path, **search) -> dict:
    config = yaml.safe_load((ROOT / "configs" / "quickstart.yaml").read_text())
    config["search"].update(run_dir=str(run_dir), pop_size=4, n_offspring=2, n_gens=2, **search)
    config["trainer"].update(max_epochs=1, limit_train_batches=1, limit_val_batches=1)
    config["progress_bar"] = False
    return config


def _candidates(n: int, seed: int = 0) -> list[Candidate]:
    space = make_space("micro", n_blocks=5)
    rng = __import__("numpy").random.default_rng(3)
    out = []
    for _ in range(n):
        genome = [int(g) for g in rng.integers(space.lower, space.upper + 1)]
        key = space.key(genome)
        out.append(Candidate(key, genome, 1, derive_seed(seed, key), space.decode(genome)))
    return out


@pytest.mark.parametrize("score", ["synflow", "naswot"])
def test_scores_are_deterministic_for_a_seed_and_leave_the_global_rng_alone(tmp_path, score):
    config = _config(tmp_path / "run")
    candidates = _candidates(3)
    torch.manual_seed(123)
    rng = torch.get_rng_state()
    first = ZeroCostScorer(build_evaluator(config), score, seed=0)(candidates)
    assert torch.equal(torch.get_rng_state(), rng)
    second = ZeroCostScorer(build_evaluator(copy.deepcopy(config)), score, seed=0)(candidates)
    assert first == second
    assert all(value is not None and error is None and objectives["madds"] > 0 for value, objectives, error in first)
    assert len({value for value, _, _ in first}) == 3  # different networks, different scores
    other_batch = ZeroCostScorer(build_evaluator(config), score, seed=1)(candidates)
    if score == "naswot":  # reads the batch; SynFlow is data-free
        assert [v for v, _, _ in other_batch] != [v for v, _, _ in first]
    else:
        assert other_batch == first


def test_the_scored_network_is_the_one_training_starts_from(tmp_path):
    evaluator = build_evaluator(_config(tmp_path / "run"))
    candidate = _candidates(1)[0]
    scorer = ZeroCostScorer(evaluator, "synflow", seed=0)
    seen = []
    original = evaluator.build_module

    def recording(c, num_classes):
        module = original(c, num_classes)
        seen.append({k: v.clone() for k, v in module.state_dict().items()})
        return module

    evaluator.build_module = recording
    scorer([candidate])
    from lightning.pytorch import seed_everything

    seed_everything(candidate.seed, workers=True, verbose=False)  # what training does before building
    trained_from = original(candidate, evaluator.prepare()).state_dict()
    assert all(torch.equal(seen[0][k], v) for k, v in trained_from.items())


def test_a_search_built_from_a_config_screens_stores_and_trains_the_chosen(tmp_path):
    with build_search(_config(tmp_path / "run", prescreen={"score": "naswot", "factor": 3})) as runner:
        runner.run()
        screened = runner.archive.screening()
        trained = {r.key for r in runner.archive.rows() if r.generation == 1}
        assert runner.config()["prescreen"]["score"] == "naswot"
    assert len(screened) == 6 and all(s.score is not None for s in screened)
    assert trained == {s.key for s in screened if s.selected} and len(trained) == 2
