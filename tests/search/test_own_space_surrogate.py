"""The surrogate (``search.surrogate``) on a space the package has never seen, through
``build_search(config, space=..., evaluator=...)``: it proposes from its own one-hot features and the evaluator's
own complexity count, two workers give the archive of one, an interrupted search resumes to it, its quality is
reported, and an evaluator without a usable count is one line before anything is created."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from cell_space import CellSpace, cell_latency, cell_objectives
from search_helpers import StopAfter

from nsga_lightning.cli import main
from nsga_lightning.search import Archive, FunctionEvaluator
from nsga_lightning.search.assemble.settings import SearchConfig
from nsga_lightning.search.build import build_search, default_callbacks

OBJECTIVES = ("error", "latency")
SURROGATE = {"model": "rbf", "start": 1, "inner_pop": 12, "inner_gens": 4, "min_trained": 0}


def _config(run_dir: Path, **search: Any) -> dict[str, Any]:
    return {"search": {"pop_size": 8, "n_offspring": 4, "n_gens": 5, "seed": 2, "run_dir": str(run_dir),
                       "objectives": list(OBJECTIVES), "surrogate": SURROGATE, **search}, "progress_bar": False}


def _evaluator(complexity: Any = cell_latency) -> FunctionEvaluator:
    return FunctionEvaluator(cell_objectives, {"table": "cell v1"}, objectives=OBJECTIVES, complexity=complexity)


def _search(run_dir: Path, callbacks: tuple = (), **search: Any):
    config = SearchConfig.from_dict(_config(run_dir, **search))
    with build_search(config, [*default_callbacks(config), *callbacks], space=CellSpace(),
                      evaluator=_evaluator()) as runner:
        return runner.run()


def _snapshot(run_dir: Path) -> dict[str, Any]:
    with Archive(run_dir) as archive:
        rows = [(r.key, r.genome, r.genotype, r.generation, r.status, r.objectives) for r in archive.rows()]
        generations = [(g.generation, g.population, g.rng_state) for g in archive.generations()]
        predictions = [(p.generation, p.key, p.model, p.predicted_error, p.fit_rows) for p in archive.predictions()]
        return {"rows": rows, "generations": generations, "predictions": predictions}


def test_the_surrogate_searches_a_user_space_on_two_workers_and_after_an_interruption_alike(tmp_path: Path,
                                                                                          capsys) -> None:
    result = _search(tmp_path / "one")
    assert result.status == "completed"
    one = _snapshot(tmp_path / "one")
    # generations 1-4 are the surrogate's: 4 children each, every one predicted before it trained
    assert [p[0] for p in one["predictions"]] == [g for g in range(1, 5) for _ in range(4)]
    assert {p[1] for p in one["predictions"]} <= {r[0] for r in one["rows"] if r[3] >= 1}
    assert len({r[0] for r in one["rows"]}) == len(one["rows"]) == 8 + 4 * 4

    assert _search(tmp_path / "two", workers=2).workers == 2
    assert _snapshot(tmp_path / "two") == one

    with pytest.raises(KeyboardInterrupt):  # in generation 2, the surrogate's second, after its first child
        _search(tmp_path / "stopped", callbacks=(StopAfter(13),))
    assert _search(tmp_path / "stopped").status == "completed"
    assert _snapshot(tmp_path / "stopped") == one

    assert main(["report", str(tmp_path / "one")]) == 0
    page = (tmp_path / "one" / "report.html").read_text()
    assert "Kendall" in page and "rbf" in page


def _no_latency(candidate: Any) -> dict[str, float]:
    return {"energy": 1.0}


def _broken(candidate: Any) -> dict[str, float]:
    raise RuntimeError("no latency table for this cell")


@pytest.mark.parametrize(("complexity", "message"), [
    (None, "search.surrogate needs the exact complexity of a genome without training"),
    (_no_latency, "the complexity count gave ['energy'] for cell-"),
    (_broken, "the complexity count failed on a sampled genome (RuntimeError: no latency table for this cell)"),
])
def test_an_evaluator_without_a_usable_complexity_count_is_one_line_before_anything_is_created(
        tmp_path: Path, complexity: Any, message: str) -> None:
    run = tmp_path / "run"
    with pytest.raises(ValueError) as error:
        build_search(_config(run), space=CellSpace(), evaluator=_evaluator(complexity))
    assert message in str(error.value) and "\n" not in str(error.value)
    assert not run.exists()


@pytest.mark.soak
def test_the_surrogate_on_a_user_space_survives_the_paper_length_and_three_interrupts(tmp_path: Path) -> None:
    """30 generations (the paper's length), cut at three commits and resumed: the archive of the uninterrupted run."""
    assert _search(tmp_path / "whole", n_gens=30).status == "completed"
    whole = _snapshot(tmp_path / "whole")
    assert len(whole["generations"]) == 30 and {p[0] for p in whole["predictions"]} == set(range(1, 30))
    for stop in (11, 30, 40):  # commits per session: in generation 0, then early and late surrogate generations
        with pytest.raises(KeyboardInterrupt):
            _search(tmp_path / "cut", callbacks=(StopAfter(stop),), n_gens=30)
    assert _search(tmp_path / "cut", n_gens=30).status == "completed"
    assert _snapshot(tmp_path / "cut") == whole
