"""The soak of budgets and warm starts (issue 28): searches of 30 generations (pop 20, 10 children: the soak's
``SMALL``) with a function evaluator, interrupted at three seeded points and resumed after each.

* A search cut by an evaluation budget inside generation 26 ends, interrupted, on two out-of-order workers, and
  extended from a budget cut inside generation 12, in the archive of the single run with that budget; extended
  without a budget it ends in the archive of the unbudgeted run.
* A search warm-started from a finished one with the same evaluator never trains what that one trained, and
  interrupted or on two workers ends in the same archive; warm-started with another evaluator fingerprint it trains
  everything it keeps, and ends interrupted as uninterrupted.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest
from search_helpers import CountingEvaluator
from soak_helpers import SMALL, Modes, Run, archive_state, in_process, interrupt_points

from nsga_lightning.search import Archive

pytestmark = pytest.mark.soak

POP, CHILDREN, GENS = SMALL
CUT = POP + 25 * CHILDREN + 4  # inside generation 26
EARLY = POP + 11 * CHILDREN + 7  # inside generation 12



def _run(folder: Path, name: str, workers: int = 1, evaluator: Any = None, **search: Any) -> Run:
    modes = dataclasses.replace(Modes(), workers=workers)
    config = modes.config(folder / name, SMALL)
    config["search"].update(search)
    return Run(config, evaluator if evaluator is not None else in_process(config))


def _with(run: Run, **search: Any) -> Run:
    """The same run directory and evaluator with other search settings (a budget extended)."""
    config = {**run.config, "search": {**run.config["search"], **search}}
    return Run(config, run.evaluator)


def _check_open_generation(run_dir: Path, evaluations: int) -> None:
    """A cut search: the budget's evaluations exactly, whole generations recorded, the cut one's children open."""
    with Archive(run_dir) as archive:
        rows, generations = archive.rows(), archive.generations()
    recorded = len(generations)
    assert len(rows) == evaluations
    assert all(len(set(g.population)) == POP for g in generations)
    assert sum(1 for r in rows if r.generation == recorded) == evaluations - POP - (recorded - 1) * CHILDREN > 0


def test_a_budget_cut_search_survives_30_generations_interrupts_workers_and_extensions(folder: Path) -> None:
    single = _run(folder, "single", budget={"evaluations": CUT})
    expected = single.straight()
    assert expected.stopped_by == "budget.evaluations" and expected.n_archived == CUT
    _check_open_generation(single.run_dir, CUT)
    reference = archive_state(single.run_dir, order=False)
    interrupted = _run(folder, "interrupted", budget={"evaluations": CUT})
    interrupted.interrupted(interrupt_points("budget-interrupted", CUT))
    two = _run(folder, "two-workers", workers=2, budget={"evaluations": CUT})
    two.straight()
    extended = _run(folder, "extended", budget={"evaluations": EARLY})
    assert extended.straight().n_archived == EARLY
    _check_open_generation(extended.run_dir, EARLY)
    _with(extended, budget={"evaluations": CUT}).interrupted(
        [EARLY - EARLY + p for p in interrupt_points("budget-extended", CUT - EARLY)])
    for run in (interrupted, two, extended):
        assert archive_state(run.run_dir, order=False) == reference, run.run_dir.name
    # past the budget: the unbudgeted run's archive
    unbudgeted = _run(folder, "unbudgeted")
    unbudgeted.straight()
    finished = _with(extended, budget={}).straight()
    assert finished.stopped_by == "n_gens" and finished.generations == GENS
    assert archive_state(extended.run_dir, order=False) == archive_state(unbudgeted.run_dir, order=False)


class OtherSetting(CountingEvaluator):
    """The same function under another fingerprint (other data: its results are not this search's)."""

    def fingerprint(self) -> dict:
        return {"kind": "counting", "version": 1, "data": "other"}


def test_warm_started_searches_survive_30_generations_interrupts_and_workers(folder: Path) -> None:
    source = _run(folder, "source", seed=5)
    source.straight()
    with Archive(source.run_dir) as archive:
        known = {r.key for r in archive.rows()}
    warm = {"warm_start": [str(source.run_dir)]}
    straight = _run(folder, "warm", **warm)
    result = straight.straight()
    assert result.n_evaluated == (GENS - 1) * CHILDREN  # generation 0: the source's best, answered from the archive
    assert not {key for key, _ in straight.evaluator.trained} & known
    interrupted = _run(folder, "warm-interrupted", **warm)
    interrupted.interrupted(interrupt_points("warm-interrupted", result.n_evaluated))
    two = _run(folder, "warm-two-workers", workers=2, **warm)
    two.straight()
    for run in (interrupted, two):
        assert archive_state(run.run_dir, order=False) == archive_state(straight.run_dir, order=False), run.run_dir
        assert not {key for key, _ in run.evaluator.trained} & known

    other = _run(folder, "other", evaluator=OtherSetting(), **warm)
    other_result = other.straight()
    assert other_result.n_evaluated == other_result.n_archived == POP + (GENS - 1) * CHILDREN  # all trained here
    again = _run(folder, "other-interrupted", evaluator=OtherSetting(), **warm)
    again.interrupted(interrupt_points("other-interrupted", other_result.n_evaluated))
    assert archive_state(again.run_dir, order=False) == archive_state(other.run_dir, order=False)
