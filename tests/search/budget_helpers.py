"""Helpers of the budget, convergence and warm-start tests: searches of the cell space (``cell_space.py``) with a
function evaluator (no torch), evaluators that answer out of order or take time, and archive snapshots."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from cell_space import CellSpace, cell_objectives
from search_helpers import OutOfOrderPool, StopAfter, snapshot

from nsga_lightning.search import Candidate, Evaluation, FunctionEvaluator, SearchRunner, safe_evaluate
from nsga_lightning.search.core.run_control import make_budget, make_stop_when
from nsga_lightning.search.evolution.fidelity import make_fidelity

OBJECTIVES = ("error", "latency")
FINGERPRINT = {"table": "cell v1"}


def rung_cell_objectives(candidate: Candidate) -> dict[str, float]:
    """:func:`cell_objectives` whose error falls with the epochs by a key-dependent amount (``None``: full)."""
    values = cell_objectives(candidate)
    values["error"] += 20 * (int(candidate.key[-2:], 16) / 255) / (candidate.epochs or 9)
    return values


class CellEvaluator(FunctionEvaluator):
    """The cell space's objectives, counting what it trains; ``reverse`` answers each batch last first (as a
    parallel backend may); ``sleep`` seconds per candidate."""

    def __init__(self, reverse: bool = False, sleep: float = 0.0, fingerprint: dict | None = None) -> None:
        super().__init__(rung_cell_objectives, fingerprint or FINGERPRINT, objectives=OBJECTIVES)
        self.reverse, self.sleep = reverse, sleep
        self.trained: list[tuple[str, int | None]] = []

    def evaluate(self, candidates: list[Candidate]) -> Iterator[Evaluation]:
        for candidate in reversed(candidates) if self.reverse else candidates:
            if self.sleep:
                time.sleep(self.sleep)
            self.trained.append((candidate.key, candidate.epochs))
            yield safe_evaluate(self.function, candidate)


class CellPool(OutOfOrderPool):
    """Two slots answering out of order (a fixed, scripted order) with the cell space's objectives."""

    objective_names = OBJECTIVES

    def __init__(self) -> None:
        super().__init__(workers=2, objectives=rung_cell_objectives)


def runner(run_dir: Path, evaluator: Any = None, *, budget: dict | None = None, stop_when: dict | None = None,
           rungs: tuple[int, ...] = (), callbacks: tuple = (), **settings: Any) -> SearchRunner:
    """A search of the cell space (pop 8, 4 children, 8 generations by default)."""
    asynchronous = settings.pop("asynchronous_rungs", False)
    options = {"pop_size": 8, "n_offspring": 4, "n_gens": 8, "seed": 1, "objectives": OBJECTIVES, **settings}
    fidelity = make_fidelity(list(rungs), None, 3, rungs[-1], asynchronous) if rungs else None
    return SearchRunner(CellSpace(), evaluator or CellEvaluator(), run_dir, callbacks=list(callbacks),
                        budget=make_budget(**(budget or {})), stop_when=make_stop_when(**(stop_when or {})),
                        fidelity=fidelity, **options)


def run(run_dir: Path, evaluator: Any = None, **kwargs: Any):
    with runner(run_dir, evaluator, **kwargs) as search:
        return search.run()


def run_interrupted(run_dir: Path, points: tuple[int, ...], evaluator: Any = None, **kwargs: Any):
    """Interrupt after each of ``points`` commits (cumulative), resume after each; returns the last result."""
    import pytest

    done = 0
    for point in points:
        with pytest.raises(KeyboardInterrupt), runner(run_dir, evaluator, callbacks=(StopAfter(point - done),),
                                                      **kwargs) as search:
            search.run()
        done = point
    return run(run_dir, evaluator, **kwargs)


def state(run_dir: Path) -> dict[str, Any]:
    """What equal runs share (rows, generations, fingerprint; not the commit order)."""
    return snapshot(run_dir)
