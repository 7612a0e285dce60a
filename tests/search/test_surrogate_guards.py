"""The surrogate's guard rails: a share of every surrogate generation mated (``mated_share``), an initial design
before the first fit (``min_trained``), and a generation of mating after predictions that ranked their children
badly (``min_tau``). Each decides from the archive's earlier generations only, so an interrupted search and two
workers give the archive of one; each is in the fingerprint only when on; bad values are one line."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from cell_space import CellSpace, cell_latency, cell_objectives
from search_helpers import StopAfter

from nsga_lightning.search import Archive, FunctionEvaluator
from nsga_lightning.search.build import build_search
from nsga_lightning.search.surrogate.quality import surrogate_quality
from nsga_lightning.search.surrogate.settings import make_surrogate

OBJECTIVES = ("error", "latency")


def _config(run_dir: Path, surrogate: dict[str, Any], **search: Any) -> dict[str, Any]:
    return {"search": {"pop_size": 8, "n_offspring": 4, "n_gens": 6, "seed": 3, "run_dir": str(run_dir),
                       "objectives": list(OBJECTIVES), "surrogate": {"model": "rbf", "min_trained": 0, **surrogate}, **search},
            "progress_bar": False}


def _search(run_dir: Path, surrogate: dict[str, Any], callbacks: tuple = (), **search: Any):
    evaluator = FunctionEvaluator(cell_objectives, {"table": "cell v1"}, objectives=OBJECTIVES, complexity=cell_latency)
    with build_search(_config(run_dir, surrogate, **search), list(callbacks), space=CellSpace(),
                      evaluator=evaluator) as runner:
        return runner.run(), runner.config()["surrogate"]


def _state(run_dir: Path) -> dict[str, Any]:
    with Archive(run_dir) as archive:
        return {"rows": [(r.key, r.genome, r.generation, r.status, r.objectives) for r in archive.rows()],
                "generations": [(g.generation, g.population, g.rng_state) for g in archive.generations()],
                "predictions": [(p.generation, p.key, p.predicted_error) for p in archive.predictions()]}


def _predicted_per_generation(run_dir: Path) -> dict[int, int]:
    return dict(Counter(p[0] for p in _state(run_dir)["predictions"]))


def test_the_guard_rails_keep_resume_and_worker_count_identity(tmp_path: Path) -> None:
    guards = {"mated_share": 0.25, "min_trained": 10, "min_tau": 0.2}
    result, block = _search(tmp_path / "one", guards)
    assert result.status == "completed" and all(block[name] == value for name, value in guards.items())
    one = _state(tmp_path / "one")
    proposed = _predicted_per_generation(tmp_path / "one")
    assert 1 not in proposed and set(proposed.values()) == {3}  # 8 trained before generation 1; 1 of 4 mated
    assert _search(tmp_path / "two", guards, workers=2)[0].workers == 2
    assert _state(tmp_path / "two") == one
    for stop in (6, 14):  # inside generations 0 and 1
        with pytest.raises(KeyboardInterrupt):
            _search(tmp_path / f"cut{stop}", guards, (StopAfter(stop),))
        _search(tmp_path / f"cut{stop}", guards)
        assert _state(tmp_path / f"cut{stop}") == one


def test_a_mated_share_of_every_surrogate_generation_is_mated(tmp_path: Path) -> None:
    _search(tmp_path / "run", {"mated_share": 0.5})
    assert _predicted_per_generation(tmp_path / "run") == {g: 2 for g in range(1, 6)}  # 2 of 4 from the surrogate
    rows = _state(tmp_path / "run")["rows"]
    assert Counter(r[2] for r in rows) == {0: 8, **{g: 4 for g in range(1, 6)}}


def test_the_surrogate_waits_for_its_initial_design(tmp_path: Path) -> None:
    _search(tmp_path / "run", {"min_trained": 16})  # 8 + 4 + 4 rows trained before generation 3
    assert sorted(_predicted_per_generation(tmp_path / "run")) == [3, 4, 5]


def test_after_predictions_that_ranked_badly_one_generation_mates(tmp_path: Path) -> None:
    _search(tmp_path / "run", {"min_tau": 0.99}, n_gens=10)  # only a (near) perfect ranking passes
    with Archive(tmp_path / "run") as archive:
        quality = {q.generation: q.kendall_tau for q in surrogate_quality(archive.predictions(), archive.rows())}
    fallbacks = 0
    for generation in range(1, 9):
        if generation not in quality:  # mated: the surrogate tries again in the next generation
            assert generation + 1 in quality
            fallbacks += 1
        elif quality[generation] < 0.99:  # ranked badly: the next generation mates
            assert generation + 1 not in quality
    assert fallbacks >= 1
    _search(tmp_path / "never", {"min_tau": -1.0})
    assert sorted(_predicted_per_generation(tmp_path / "never")) == [1, 2, 3, 4, 5]


def test_the_guard_rails_are_in_the_fingerprint_only_when_on() -> None:
    plain = make_surrogate("gp").describe()
    assert not {"mated_share", "min_trained", "min_tau"} & set(plain)
    guarded = make_surrogate("gp", mated_share=0.2, min_trained=30, min_tau=0.1).describe()
    assert {k: guarded[k] for k in ("mated_share", "min_trained", "min_tau")} == {"mated_share": 0.2,
                                                                                 "min_trained": 30, "min_tau": 0.1}


@pytest.mark.parametrize(("setting", "message"), [
    ({"mated_share": 1.0}, r"search.surrogate.mated_share must be a number in \[0, 1\), got 1.0"),
    ({"min_trained": -1}, "search.surrogate.min_trained must be an integer >= 0, got -1"),
    ({"min_tau": 2}, r"search.surrogate.min_tau must be a number in \[-1, 1\] or null, got 2"),
])
def test_a_bad_guard_rail_is_one_line(setting: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        make_surrogate("gp", **setting)
