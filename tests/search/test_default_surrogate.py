"""The surrogate is on by default (``search.surrogate.model: default``: ``gp``) where the search's modes, its
objectives and a complexity count without training allow it, and off otherwise, saying why in one line; a model
named in the config is refused in those modes as before."""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any

import pytest
from cell_space import CellSpace, cell_latency, cell_objectives

from nsga_lightning.search import FunctionEvaluator
from nsga_lightning.search.build import build_search

OBJECTIVES = ("error", "latency")


def _runner(run_dir: Path, complexity: Any = cell_latency, **search: Any):
    config = {"search": {"pop_size": 8, "n_offspring": 4, "n_gens": 3, "seed": 0, "run_dir": str(run_dir),
                         "objectives": list(OBJECTIVES), **search}, "progress_bar": False}
    evaluator = FunctionEvaluator(cell_objectives, {"table": "cell v1"}, objectives=OBJECTIVES, complexity=complexity)
    return build_search(config, callbacks=[], space=CellSpace(), evaluator=evaluator)


def test_where_nothing_excludes_it_the_default_surrogate_is_gp(tmp_path: Path) -> None:
    with _runner(tmp_path / "run") as runner:
        block = runner.config()["surrogate"]
    assert block["model"] == "gp" and block["min_trained"] == 20


def _squared(candidate):
    values = cell_objectives(candidate)
    return {"latency": values["latency"], "error_squared": values["error"] ** 2}


@pytest.mark.parametrize(("search", "complexity", "reason"), [
    ({"exploitation_gens": 1}, cell_latency, "exploitation_gens proposes the children of the last generations"),
    ({"n_offspring": 1, "workers": 2}, cell_latency, "the asynchronous steady state"),
    ({"objectives": ["latency", "error_squared"]}, cell_latency, "it predicts the error, which is not among"),
    ({}, None, r"the evaluator counts no complexity without training \(complexity\(candidates\)\)"),
])
def test_a_mode_or_an_evaluator_that_excludes_it_turns_it_off_in_one_line(tmp_path: Path, caplog, search, complexity,
                                                                        reason) -> None:
    objectives = tuple(search.get("objectives", OBJECTIVES))
    evaluator = FunctionEvaluator(_squared if "error_squared" in objectives else cell_objectives, {"cells": 1},
                                  objectives=objectives, complexity=complexity)
    config = {"search": {"pop_size": 8, "n_offspring": 4, "n_gens": 3, "run_dir": str(tmp_path / "run"),
                         "objectives": list(objectives), **search}, "progress_bar": False}
    with caplog.at_level(logging.INFO, "nsga_lightning.search.runner"), \
            build_search(config, callbacks=[], space=CellSpace(), evaluator=evaluator) as runner:
        assert "surrogate" not in runner.config()
    lines = [r.getMessage() for r in caplog.records if "search.surrogate (model: default, gp) is off" in r.getMessage()]
    assert len(lines) == 1 and re.search(reason, lines[0])


def test_a_named_model_in_an_excluding_mode_is_refused_as_before(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="search.surrogate and exploitation_gens both propose children"):
        _runner(tmp_path / "run", exploitation_gens=1, surrogate={"model": "gp"})
    assert not (tmp_path / "run").exists()


def test_the_surrogate_fits_and_predicts_on_one_blas_thread_whatever_the_caller_allows(tmp_path: Path,
                                                                                      monkeypatch) -> None:
    from threadpoolctl import threadpool_info, threadpool_limits

    from nsga_lightning.search.surrogate.models import GPModel

    seen: list[int] = []
    fit, predict = GPModel.fit, GPModel.predict

    def counting(method):
        def wrapped(self, *args):
            seen.append(max(pool["num_threads"] for pool in threadpool_info()))
            return method(self, *args)
        return wrapped

    monkeypatch.setattr(GPModel, "fit", counting(fit))
    monkeypatch.setattr(GPModel, "predict", counting(predict))
    with threadpool_limits(2), _runner(tmp_path / "run", surrogate={"min_trained": 4}) as runner:
        assert runner.run().status == "completed"
        allowed = max(pool["num_threads"] for pool in threadpool_info())
    assert allowed == 2  # the search itself runs with what the caller allows
    assert seen and set(seen) == {1}  # generations 1 and 2: every fit and prediction on one thread
