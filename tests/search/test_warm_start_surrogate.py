"""A config-driven search with the default surrogate (``gp``, initial design ``min_trained: 20``), a warm start of
another setting (prior data for the surrogate's fit) and an evaluation budget: the guard rail counts this search's
own trained architectures, the fit takes the prior data this search had not trained before the generation, and a
search cut by its budget inside a surrogate generation, interrupted and extended ends in the single run's archive."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from cell_space import CellSpace, cell_latency, cell_objectives
from search_helpers import StopAfter, snapshot

from nsga_lightning.search import Archive, FunctionEvaluator
from nsga_lightning.search.build import build_search
from nsga_lightning.search.proposers.surrogate import training_rows

OBJECTIVES = ("error", "latency")


def _run(run_dir: Path, table: str, callbacks: tuple = (), **search: Any):
    config = {"search": {"pop_size": 8, "n_offspring": 4, "n_gens": 8, "seed": 3, "run_dir": str(run_dir),
                         "objectives": list(OBJECTIVES), **search}, "progress_bar": False}
    evaluator = FunctionEvaluator(cell_objectives, {"table": table}, objectives=OBJECTIVES, complexity=cell_latency)
    with build_search(config, callbacks=list(callbacks), space=CellSpace(), evaluator=evaluator) as runner:
        if "surrogate" not in search:
            assert runner.config()["surrogate"]["model"] == "gp"  # the default, on
        return runner.run()


@pytest.fixture
def source(tmp_path: Path) -> Path:
    """A finished search of the cell space under another setting (its architectures are prior data)."""
    _run(tmp_path / "source", "cell v0", n_gens=5, surrogate={"model": "none"})
    return tmp_path / "source"


def test_the_default_surrogate_fits_prior_data_after_its_own_initial_design(tmp_path: Path, source: Path) -> None:
    _run(tmp_path / "single", "cell v1", warm_start=[str(source)])
    with Archive(tmp_path / "single") as archive:
        rows, prior = archive.rows(), archive.warm_rows("prior")
        proposed = {g: archive.predictions(g) for g in range(1, 8)}
    assert prior and any(proposed.values())
    for generation, predictions in proposed.items():
        own = training_rows(rows, generation)
        # the initial design counts this search's own trained architectures, never the prior data
        assert bool(predictions) == (len(own) >= 20), generation
        earlier = {r.key for r in rows if r.generation < generation}
        fitted = len(own) + len([r for r in prior if r.status == "ok" and r.key not in earlier])
        assert all(p.fit_rows == fitted for p in predictions), generation


def test_a_budget_cut_inside_a_surrogate_generation_extends_to_the_single_run(tmp_path: Path, source: Path) -> None:
    _run(tmp_path / "single", "cell v1", warm_start=[str(source)])
    cut = tmp_path / "cut"
    with pytest.raises(KeyboardInterrupt):
        _run(cut, "cell v1", (StopAfter(22),), warm_start=[str(source)], budget={"evaluations": 30})
    result = _run(cut, "cell v1", warm_start=[str(source)], budget={"evaluations": 30})
    assert result.stopped_by.startswith("budget") and result.spent["evaluations"] == 30
    with Archive(cut) as archive:
        assert archive.predictions(archive.last_generation().generation + 1)  # cut inside a surrogate generation
    _run(cut, "cell v1", warm_start=[str(source)])  # the budget lifted: the search goes on to n_gens
    assert snapshot(cut)["rows"] == snapshot(tmp_path / "single")["rows"]
    assert snapshot(cut)["generations"] == snapshot(tmp_path / "single")["generations"]
