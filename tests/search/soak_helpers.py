"""Helpers of the soak (``test_soak.py``): the modes of a search as one config, evaluators that count what they
train (in this process, in a scripted two-slot pool, or in local worker processes), a run interrupted at seeded
points, and the archive's invariants after every generation. No torch: nothing is trained."""

from __future__ import annotations

import csv
import itertools
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from search_helpers import (
    CountingEvaluator,
    KeyScorer,
    OutOfOrderPool,
    StopAfter,
    analytic_complexity,
    snapshot,
)

from nsga_lightning.search import Archive, SearchResult, SearchRunner, write_pareto_csv
from nsga_lightning.search.build import fidelity_of, prescreen_of, runner_for
from nsga_lightning.search.core.limits import stored_limits, within
from nsga_lightning.search.core.pareto import pareto_front
from nsga_lightning.search.run_directory import RunDirectory
from nsga_lightning.search.settings import SearchConfig
from nsga_lightning.search.store.history import summarize

# (pop_size, n_offspring, n_gens): the paper's length, and the smaller one for the slow combinations
PAPER = (40, 20, 30)
SMALL = (20, 10, 30)
# the steady state (one child a generation) for as many evaluations as SMALL: 20 + 29 x 10
STEADY_LONG = (20, 1, 1 + (SMALL[2] - 1) * SMALL[1])
RUNGS = [2, 6, 20]  # configs/search/micro-cifar10-fast.yaml
FIDELITY = {"off": {}, "sync": {"rungs": RUNGS, "eta": 3},
            "async": {"rungs": RUNGS, "eta": 3, "asynchronous": True}}
PRESCREEN = {"score": "naswot", "factor": 2}
DATA = {"class_path": "nsga_lightning.data.DigitsDataModule"}  # checked, never built: nothing trains
INTERRUPTS = 3
# the surrogate's inner search, smaller than its default 40 x 20 (the soak checks the loop, not the optimiser)
SURROGATE_INNER = {"inner_pop": 20, "inner_gens": 5}
# the surrogate's guard rails, each of which fires in a soak of the paper's length
GUARDS = {"mated_share": 0.3, "min_trained": 30, "min_tau": 0.1}


@dataclass(frozen=True)
class Modes:
    """One combination of the search's modes.

    ``steady`` is ``n_offspring: 1`` (a paper config run with ``--search.n_offspring 1``): the generational steady
    state with one worker, the asynchronous one with two. ``exploitation`` draws the last third of the generations
    from the Bayesian network (the paper: 10 of 30).
    """

    initialization: str = "random"
    crossover: str = "two_point"
    exploitation: bool = False
    fidelity: str = "off"
    prescreen: bool = False
    steady: bool = False
    workers: int = 1
    surrogate: str = "none"  # not an axis of all_modes(): its own soak (it excludes exploitation and prescreen)
    guards: bool = False  # the surrogate's guard rails (GUARDS)
    genes: str = "ordinal"  # not an axis of all_modes(): search.genes: space has its own soak

    @property
    def name(self) -> str:
        parts = [self.initialization, self.crossover, "exploit" if self.exploitation else "",
                 "" if self.fidelity == "off" else f"rungs-{self.fidelity}", "prescreen" if self.prescreen else "",
                 "steady" if self.steady else "generational",
                 "" if self.surrogate == "none" else f"surrogate-{self.surrogate}", "guarded" if self.guards else "",
                 "" if self.genes == "ordinal" else f"genes-{self.genes}",
                 f"w{self.workers}"]
        return "-".join(part for part in parts if part)

    def config(self, run_dir: Path, size: tuple[int, int, int] = PAPER) -> dict[str, Any]:
        """The search config of these modes (the training replaced, so the model block stays empty)."""
        pop_size, n_offspring, n_gens = size
        if self.steady:
            n_offspring = 1
        search = {"pop_size": pop_size, "n_offspring": n_offspring, "n_gens": n_gens, "seed": 0,
                  "run_dir": str(run_dir), "workers": self.workers, "initialization": self.initialization, "genes": self.genes,
                  "crossover": self.crossover, "exploitation_gens": n_gens // 3 if self.exploitation else 0,
                  "fidelity": FIDELITY[self.fidelity], "prescreen": PRESCREEN if self.prescreen else {},
                  "surrogate": {"model": self.surrogate, **SURROGATE_INNER, **(GUARDS if self.guards else {})}}
        return {"search": search, "space": {"name": "micro"}, "data": DATA, "trainer": {"max_epochs": RUNGS[-1]},
                "progress_bar": False}


def all_modes() -> list[Modes]:
    """Every combination of the modes, supported or not."""
    axes = (("random", "prior"), ("two_point", "homogeneous"), (False, True), ("off", "sync", "async"),
            (False, True), (False, True), (1, 2))
    return [Modes(*values) for values in itertools.product(*axes)]


# -- evaluators ---------------------------------------------------------------------------------------------------

class SoakPool(OutOfOrderPool):
    """The two-slot pool of this process (a scripted, non-FIFO completion order): the asynchronous modes run
    deterministically, so an interrupted run can be compared with an uninterrupted one."""

    def fingerprint(self) -> dict:
        return CountingEvaluator().fingerprint()


def local_pool(config: dict[str, Any]) -> Any:
    """Local worker processes (``search.workers`` of them), each building a :class:`CountingEvaluator` (spawned;
    they import no torch)."""
    from nsga_lightning.search.execution.factory import CopyFactory
    from nsga_lightning.search.execution.local_pool import LocalPoolEvaluator
    from nsga_lightning.search.execution.plans import WorkerPlan

    workers = config["search"]["workers"]
    return LocalPoolEvaluator(CopyFactory(CountingEvaluator()), [WorkerPlan() for _ in range(workers)],
                              CountingEvaluator())


def in_process(config: dict[str, Any]) -> CountingEvaluator | SoakPool:
    """This process: one candidate at a time with one worker, the scripted pool with more."""
    workers = config["search"].get("workers", 1)
    return CountingEvaluator() if workers == 1 else SoakPool(workers=workers)


# -- runs ---------------------------------------------------------------------------------------------------------

class Run:
    """Runs of one config through ``runner_for`` (the builder's path, the training replaced), one evaluator for
    all of its sessions so that it counts everything trained; a scorer stands in for the zero-cost scores."""

    def __init__(self, config: dict[str, Any], evaluator: Any) -> None:
        self.config, self.evaluator, self.scorer = config, evaluator, KeyScorer()
        self.run_dir = Path(config["search"]["run_dir"])

    def runner(self, callbacks: Sequence[Any] = ()) -> SearchRunner:
        return runner_for(self.config, self.evaluator, self.scorer, callbacks=list(callbacks),
                          complexity=analytic_complexity)

    def straight(self) -> SearchResult:
        with self.runner() as runner:
            return runner.run()

    def interrupted(self, points: Sequence[int]) -> SearchResult:
        """Interrupt (KeyboardInterrupt) right after each of ``points`` (commit counts, increasing) and resume
        after each; returns the result of the session that finishes."""
        done = 0
        for point in points:
            with pytest.raises(KeyboardInterrupt), self.runner([StopAfter(point - done)]) as runner:
                runner.run()
            done = point
        with self.runner() as runner:
            return runner.run()


def interrupt_points(name: str, commits: int) -> list[int]:
    """Three commit counts in ``1 .. commits - 1``, seeded by ``name``."""
    rng = np.random.default_rng(zlib.crc32(name.encode()))
    return sorted(int(p) for p in rng.choice(np.arange(1, commits), size=INTERRUPTS, replace=False))


def soak(reference: Run, *interrupted: Run, same_archive: bool = True) -> None:
    """Run ``reference`` uninterrupted, then every ``interrupted`` run with three interrupts (seeded by its run
    directory's name) and a resume after each, all to the end. Checks the invariants of every interrupted run's
    archive, that nothing was scored (or, in this process, trained) twice, and, with ``same_archive``, that its
    archive is the reference's (the order of commits too where the evaluators are of one kind)."""
    expected = reference.straight()
    assert expected.status == "completed" and expected.generations == reference.config["search"]["n_gens"]
    # a run whose course depends on the order of completion may commit fewer rung results than the reference,
    # never fewer than its architectures
    commits = expected.n_evaluated if same_archive else expected.n_archived
    for run in interrupted:
        result = run.interrupted(interrupt_points(run.run_dir.name, commits))
        assert result.status == "completed" and result.generations == expected.generations
        check_archive(run.run_dir, run.config)
        assert len(set(run.scorer.calls)) == len(run.scorer.calls)  # a screened key keeps its score
        trained = getattr(run.evaluator, "trained", None)  # (worker processes train out of sight)
        assert trained is None or len(set(trained)) == len(trained) == expected.n_evaluated
        if same_archive:
            order = type(run.evaluator) is type(reference.evaluator)
            assert archive_state(run.run_dir, order) == archive_state(reference.run_dir, order)


def archive_state(run_dir: Path, order: bool = True) -> dict[str, Any]:
    """What equal runs share: every row (fidelity columns included), every generation row (RNG state included),
    the screened table and, with ``order``, the order in which results were committed."""
    state = snapshot(run_dir)
    del state["fingerprint"]  # names the evaluator: the in-process and the pooled ones differ
    with Archive(run_dir) as archive:
        state["fidelity"] = [(r.key, r.fidelity) for r in archive.rows()]
        state["screened"] = archive.screening()
        if order:
            state["order"] = [r.key for r in archive.rows(order="completion")]
    return state


# -- invariants ---------------------------------------------------------------------------------------------------

def check_archive(run_dir: Path, config: dict[str, Any]) -> None:
    """The archive's invariants after every generation, and a ``pareto.csv`` without children stopped early.

    Every generation row holds ``pop_size`` distinct archived keys of its generation or earlier, with rank and
    crowding for every successful survivor (none for failed ones); each generation trained ``pop_size`` (the
    first) or ``n_offspring`` new children; its counts add up: the children that reached each rung are the
    promotions of the rung below (failures here are per key, so at the first rung), the epochs trained and saved
    make the full epochs of every successful child, and a pre-screen scored ``factor`` times the children it let
    train, those exactly.
    """
    settings = SearchConfig.from_dict(config)
    search, fidelity, prescreen = settings.search, fidelity_of(settings), prescreen_of(settings)
    with Archive(run_dir) as archive:
        rows = {r.key: r for r in archive.rows()}
        limits = stored_limits(archive.config())
        generations = archive.generations()
        summaries = summarize(archive, search.objectives)
        screened = archive.screening()
    assert [g.generation for g in generations] == list(range(search.n_gens))
    assert len(rows) == search.pop_size + (search.n_gens - 1) * search.n_offspring
    for row, summary in zip(generations, summaries):
        g, keys = row.generation, row.population
        where = f"generation {g}"
        assert len(keys) == len(set(keys)) == search.pop_size, where
        assert all(key in rows and rows[key].generation <= g for key in keys), where
        for key, rank, crowding in zip(keys, row.rank, row.crowding):  # results over a limit are unranked too
            assert (rank is not None and crowding is not None) == (rows[key].is_ok and within(rows[key], limits)), (
                where, key)
        new = [r for r in rows.values() if r.generation == g]
        assert summary.evaluated == len(new) == (search.pop_size if g == 0 else search.n_offspring), where
        assert summary.failed == sum(not r.is_ok for r in new), where
        ok = [r for r in new if r.is_ok]
        if fidelity.enabled:
            counts = summary.rung_counts
            assert counts[fidelity.rungs[0]] == len(ok), where
            for low, high in itertools.pairwise(fidelity.rungs):
                assert counts[high] == fidelity.promoted(counts[low]), (where, counts)
            assert summary.epochs_trained + summary.epochs_saved == fidelity.max_epochs * len(ok), where
            assert all(sorted(r.rung_errors) == [e for e in fidelity.rungs if e <= r.epochs] for r in ok), where
        if prescreen.enabled and g > 0:
            of = [s for s in screened if s.generation == g and s.score_name != "limits"]  # not those of a limit
            assert len(of) == prescreen.factor * search.n_offspring == summary.screened, where
            assert {s.key for s in of if s.selected} == {r.key for r in new}, where
    path = RunDirectory(run_dir).pareto_csv
    if not path.is_file():  # a run without the output callbacks: the CSV as they write it
        write_pareto_csv(pareto_front(list(rows.values()), search.objectives, limits), path)
    with path.open() as handle:
        front = [line["key"] for line in csv.DictReader(handle)]
    assert front and all(rows[key].is_ok and not rows[key].stopped_early and within(rows[key], limits)
                         for key in front)
