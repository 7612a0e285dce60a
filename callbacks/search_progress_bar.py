"""SearchProgressBar: one bar over the search's candidates, with the generation and an ETA."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

from tqdm.auto import tqdm
from tqdm.contrib.logging import logging_redirect_tqdm
from typing_extensions import override

from nsga_lightning.search import (
    Archive,
    ArchiveRow,
    Candidate,
    Evaluation,
    SearchCallback,
    SearchResult,
    SearchRunner,
    format_objective,
)


def budget_postfix(runner: SearchRunner) -> dict[str, str]:
    """The hours and epochs budgets, spent of set (``{"hours": "0.12/0.50", "epochs": "36/60"}``); the
    evaluation budget is the bar's total."""
    control = runner.control
    budget, shown = control.budget, {}
    if budget.hours is not None:
        shown["hours"] = f"{control.sessions.seconds() / 3600:.2f}/{budget.hours:g}"
    if budget.epochs is not None:
        shown["epochs"] = f"{control.spent().epochs}/{budget.epochs}"
    return shown


class SearchProgressBar(SearchCallback):
    """Show ``gen g/G | candidates n/N | best error, running, failed | ETA`` while a search runs (the best of the
    first objective where error is not searched).

    The total is the search's evaluations, ``pop_size + (n_gens - 1) * n_offspring`` architectures or
    ``search.budget.evaluations`` if smaller, each counted at its first result (with ``search.fidelity``, a
    promotion to a later rung is not another architecture); on resume the bar starts at the number of architectures
    the search has trained (a warm start's imported ones are not). An hours or epochs budget shows as
    ``hours=spent/budget``, ``epochs=spent/budget``. tqdm derives the ETA from the rate at which
    candidates finished in this session, which already counts every worker training at once; ``running`` is
    the number of candidates in flight on the workers. While the bar is shown, log lines are written above it
    instead of through it.

    Args:
        disable: hide the bar (e.g. in tests or non-interactive logs).
    """

    def __init__(self, disable: bool = False) -> None:
        self.disable = disable
        self.bar: Any = None
        self.shown = "error"  # the objective whose best value is shown: error, else the first one
        self.best = float("inf")
        self.failed = 0
        self._redirect: Any = None

    @override
    def on_search_start(self, runner: SearchRunner) -> None:
        total = runner.pop_size + (runner.n_gens - 1) * runner.n_offspring
        budget = runner.control.budget
        if budget.evaluations is not None:  # the evaluation budget, if it ends the search sooner
            total = min(total, budget.evaluations)
        done = runner.control.spent().evaluations  # (a warm start's imported architectures were never trained)
        self.bar = tqdm(total=max(total, done), initial=done, desc="search", unit="arch", disable=self.disable,
                        file=sys.stderr, dynamic_ncols=True)
        if not self.disable:
            self._redirect = logging_redirect_tqdm()
            self._redirect.__enter__()
        self.shown = "error" if "error" in runner.objectives else runner.objectives[0]
        for row in runner.archive.rows("ok"):
            self.best = min(self.best, float(row.objectives.get(self.shown, float("inf"))))
        self.failed = len(runner.archive.rows("failed"))

    @override
    def on_generation_start(self, runner: SearchRunner, generation: int, candidates: Sequence[Candidate]) -> None:
        if self.bar is not None:
            self.bar.set_description(f"gen {generation + 1}/{runner.n_gens}")

    @override
    def on_candidate_end(self, runner: SearchRunner, candidate: Candidate, evaluation: Evaluation) -> None:
        if self.bar is None:
            return
        if not evaluation.is_ok:
            self.failed += 1
        elif self.shown in evaluation.objectives:
            self.best = min(self.best, float(evaluation.objectives[self.shown]))
        postfix = {}
        if self.best < float("inf"):
            postfix[f"best_{self.shown}"] = format_objective(self.shown, self.best)
        in_flight = getattr(runner.evaluator, "in_flight", None)
        if in_flight is not None:
            postfix["running"] = int(in_flight)
        postfix["failed"] = self.failed
        postfix.update(budget_postfix(runner))
        self.bar.set_postfix(postfix, refresh=False)
        fidelity = runner.fidelity
        promoted = fidelity is not None and candidate.epochs not in (None, fidelity.rungs[0])
        self.bar.update(0 if promoted else 1)

    @override
    def on_generation_end(self, runner: SearchRunner, generation: int, population: Sequence[ArchiveRow],
                          archive: Archive) -> None:
        if self.bar is not None:
            self.bar.refresh()

    @override
    def on_search_end(self, runner: SearchRunner, result: SearchResult) -> None:
        if self._redirect is not None:
            self._redirect.__exit__(None, None, None)
            self._redirect = None
        if self.bar is not None:
            self.bar.close()
            self.bar = None
