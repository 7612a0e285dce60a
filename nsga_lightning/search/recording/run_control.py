"""Run control: the budgets (``search.budget``), the convergence rule (``search.stop_when``) and the session clock
of one search; the loops and schedules ask it what they may still train, and whether to go on.

How a budget ends a search:

* ``evaluations`` and ``epochs`` are exact: every batch a schedule submits (a generation's children, a rung's
  promotions) is cut to the prefix, in candidate order, that fits what is left. A cut batch ends the search
  without recording its generation (survival needs every child), so what is archived is what a run with a larger
  budget holds at that moment; running again with a larger budget continues the generation exactly as a resume
  does. The archive is therefore the same for any worker count, interruptions and extensions.
* ``hours`` ends the search after the generation in flight when the time runs out (checked at every result);
  the decision is recorded in the archive (``stops``) the moment it is taken, so that a resume after a kill stops
  where the first session would have. With ``hard`` the search stops at once (a timer interrupts it as Ctrl-C
  would, also where SIGINT is ignored): what is in flight is dropped and trained again when the search continues.
* ``stop_when`` is read off the archive after each generation (deterministic, nothing to record).

The asynchronous steady state stops mating instead and lets the children in flight finish; where it paused is
recorded (``steady_stops``) and a replay pauses there too.
"""

from __future__ import annotations

import _thread
import logging
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from nsga_lightning.search.core.evaluator import Candidate
from nsga_lightning.search.core.interrupts import interruptible_by_timer, restore_sigint
from nsga_lightning.search.core.pareto import hypervolume, objective_matrix, pareto_front
from nsga_lightning.search.core.run_control import Budget, StopWhen
from nsga_lightning.search.store.history import reference_point
from nsga_lightning.search.store.spending import Sessions, Spent, duration

if TYPE_CHECKING:  # pragma: no cover
    from nsga_lightning.search.store.archive import Archive

log = logging.getLogger("nsga_lightning.search.runner")

STOPS = "stops"  # meta: recorded hours stops
STOPPED = "stopped"  # meta: why the last session ended and what was spent (null while a session runs)
STEADY_STOPS = "steady_stops"  # meta: mated counts where the asynchronous steady state paused mating


REASONS = ("n_gens", "budget.evaluations", "budget.epochs", "budget.hours", "stop_when")


@dataclass(frozen=True)
class Stop:
    """Why a search ended: ``reason`` (one of :data:`REASONS`) and, for ``stop_when``, the gain it measured
    (:meth:`RunControl.stop_line` says it in words)."""

    reason: str
    detail: str = ""


def check_epochs_budget(budget: Budget | None, candidate_epochs: int | None, rungs: bool) -> Budget:
    """The budget (``None``: none), refused when it counts epochs that nobody knows.

    Raises:
        ValueError: for an ``epochs`` budget without a candidate's epochs (your own evaluator) or rungs.
    """
    budget = budget if budget is not None else Budget()
    if budget.epochs is not None and candidate_epochs is None and not rungs:
        raise ValueError("search.budget.epochs counts training epochs, and this evaluator's are unknown (your own "
                         "evaluator without search.fidelity): use evaluations or hours")
    return budget


class BudgetCut(Exception):
    """Raised by a loop whose batch was cut to the budget (:attr:`RunControl.cut` says which)."""


class Allowance:
    """What a run of jobs may still spend (``None``: no limit of that kind); :meth:`take` is all or nothing."""

    def __init__(self, evaluations: int | None, epochs: int | None) -> None:
        self.evaluations, self.epochs = evaluations, epochs

    def take(self, evaluations: int, epochs: int | None) -> bool:
        """Spend one job's cost if it fits."""
        if self.evaluations is not None and evaluations > self.evaluations:
            return False
        if self.epochs is not None and (epochs or 0) > self.epochs:
            return False
        if self.evaluations is not None:
            self.evaluations -= evaluations
        if self.epochs is not None:
            self.epochs -= epochs or 0
        return True


class RunControl:
    """Budgets, the convergence rule and the session clock of one search (see the module docstring).

    Args:
        archive: the open, writable archive.
        objectives: the searched objectives.
        budget: the checked budget (``None``: none).
        stop_when: the checked convergence rule (``None``: off).
        reference: the hypervolume reference overrides (``search.reference_point``).
        candidate_epochs: epochs of one candidate's full training (``None``: unknown; the ``epochs`` budget then
            needs rungs).
        first_epochs: epochs of a new candidate's first job (the first rung, else ``candidate_epochs``): less
            left than that ends the search.
    """

    def __init__(self, archive: Archive, objectives: Sequence[str], budget: Budget | None = None,
                 stop_when: StopWhen | None = None, reference: Mapping[str, float] | None = None,
                 candidate_epochs: int | None = None, first_epochs: int | None = None,
                 limits: Mapping[str, float] | None = None) -> None:
        self.archive, self.objectives = archive, tuple(objectives)
        self.limits = dict(limits) if limits else None  # search.constraints: fronts of feasible architectures
        self.budget = budget if budget is not None else Budget()
        self.stop_when = stop_when if stop_when is not None else StopWhen()
        self.reference, self.candidate_epochs = dict(reference or {}), candidate_epochs
        self.first_epochs = first_epochs if first_epochs is not None else candidate_epochs
        self.sessions = Sessions(archive)
        self.previous_end = archive.meta_json(STOPPED)  # how the last session ended (None: interrupted or new)
        self.cut: Stop | None = None  # a batch was cut to the budget: the search ends without its generation
        self.hard_fired = False
        self._timer: threading.Timer | None = None
        self._ignored_sigint: Any = None  # the disposition the hard timer's handler stands in for, put back at close

    # -- the session clock --------------------------------------------------------------------------------

    def start(self) -> None:
        """Start this session's clock (and, with ``hard`` hours, the timer that interrupts the search)."""
        self.sessions.start()
        self.archive.set_meta(STOPPED, None)  # until this session ends
        self.cut, self.hard_fired = None, False
        if self.budget.hard and self.budget.seconds is not None:
            left = max(0.0, self.budget.seconds - self.sessions.seconds())
            self._ignored_sigint = interruptible_by_timer(lambda: self.hard_fired)
            self._timer = threading.Timer(left, self._fire)
            self._timer.daemon = True
            self._timer.start()

    def _fire(self) -> None:
        self.hard_fired = True
        log.warning("the search's time budget (%g h) is spent: stopping at once (search.budget.hard)",
                    self.budget.hours)
        _thread.interrupt_main()

    def record_end(self, stop: Stop, n_gens: int) -> None:
        """Record why the session ended and what the search has spent (the report reads it)."""
        spent = self.spent()
        self.archive.set_meta(STOPPED, {"reason": stop.reason, "text": self.stop_line(stop, n_gens),
                                        "spent": {"evaluations": spent.evaluations, "epochs": spent.epochs,
                                                  "seconds": spent.seconds}})

    def close(self) -> None:
        """Stop the timer and record this session's end."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        restore_sigint(self._ignored_sigint)  # a second close puts the same disposition back
        self.sessions.touch()

    # -- spending -----------------------------------------------------------------------------------------

    def spent(self, before_generation: int | None = None) -> Spent:
        """Evaluations, epochs and seconds spent (the counts of rows first asked before ``before_generation``)."""
        evaluations, rung_epochs, full = self.archive.own_counts(before_generation)
        epochs = None if full and self.candidate_epochs is None else rung_epochs + full * (self.candidate_epochs or 0)
        return Spent(evaluations, epochs, self.sessions.seconds())

    def allowance(self, before_generation: int | None = None) -> Allowance:
        """What is left of the count budgets after the rows first asked before ``before_generation``."""
        budget = self.budget
        if budget.evaluations is None and budget.epochs is None:
            return Allowance(None, None)
        spent = self.spent(before_generation)
        return Allowance(None if budget.evaluations is None else budget.evaluations - spent.evaluations,
                         None if budget.epochs is None else budget.epochs - (spent.epochs or 0))

    def cost(self, candidate: Candidate) -> tuple[int, int | None]:
        """``(evaluations, epochs)`` of training ``candidate``: a new architecture costs one evaluation; a
        promotion to a later rung only the epochs beyond the rung its row reached."""
        if candidate.epochs is None:
            return 1, self.candidate_epochs
        known = self.archive.get(candidate.key)
        if known is None or known.generation < 0:
            return 1, candidate.epochs
        return 0, max(0, candidate.epochs - (known.epochs or 0))

    def admit(self, jobs: Sequence[Candidate]) -> list[Candidate]:
        """The prefix of ``jobs`` (in their order) that fits what is left; a shorter one marks the search cut."""
        if self.budget.evaluations is None and self.budget.epochs is None:
            return list(jobs)
        allowance = self.allowance()
        admitted = []
        for job in jobs:
            cost = self.cost(job)
            if not allowance.take(*cost):
                self.cut = self.cut_stop(cost, allowance)
                log.info("%d of %d candidate(s) fit the budget; the search stops after them", len(admitted),
                         len(jobs))
                break
            admitted.append(job)
        return admitted

    @staticmethod
    def cut_stop(cost: tuple[int, int | None], left: Allowance) -> Stop:
        """The stop of a job of ``cost`` that did not fit in ``left``."""
        return Stop("budget.evaluations" if left.evaluations is not None and cost[0] > left.evaluations
                    else "budget.epochs")

    # -- stopping -----------------------------------------------------------------------------------------

    def stop_before(self, generation: int) -> Stop | None:
        """Why ``generation`` must not start: a count budget spent, the time spent (or a recorded hours stop), or
        convergence at the generation before it."""
        budget, spent = self.budget, self.spent()
        if budget.evaluations is not None and spent.evaluations >= budget.evaluations:
            return Stop("budget.evaluations")
        if budget.epochs is not None and (spent.epochs or 0) + (self.first_epochs or 1) > budget.epochs:
            return Stop("budget.epochs")
        if budget.seconds is not None:
            recorded = self._hours_stop()
            if recorded is None and spent.seconds >= budget.seconds:
                recorded = self.record_hours_stop(generation - 1)
            if recorded is not None and generation > recorded:
                return Stop("budget.hours")
        return self.converged(generation - 1)

    def _hours_stop(self) -> int | None:
        """The generation after which a recorded hours stop that applies to this budget ends the search."""
        applies = [s["generation"] for s in self.archive.meta_json(STOPS) or []
                   if s.get("reason") == "budget.hours" and float(s["hours"]) >= float(self.budget.hours)]
        return min(applies) if applies else None

    def record_hours_stop(self, generation: int) -> int:
        """Record that, with this hours budget, the search ends after ``generation``; returns it."""
        stops = list(self.archive.meta_json(STOPS) or [])
        stops.append({"reason": "budget.hours", "hours": self.budget.hours, "generation": int(generation)})
        self.archive.set_meta(STOPS, stops)
        log.info("the time budget (%g h) is spent: the search ends after generation %d", self.budget.hours,
                 generation)
        return int(generation)

    def hard_stop(self) -> Stop:
        """The stop of a hard time budget that interrupted the search: recorded after the last complete
        generation (the one in flight is continued by a search with a larger budget)."""
        last = self.archive.last_generation()
        self.record_hours_stop(-1 if last is None else last.generation)
        return Stop("budget.hours")

    def hours_spent(self) -> bool:
        """Whether the time budget is spent (``False`` without one)."""
        return self.budget.seconds is not None and self.sessions.seconds() >= self.budget.seconds

    def on_commit(self, candidate: Candidate) -> None:
        """After every result: with an hours budget, keep the clock and take the stop decision when time is up."""
        if self.budget.seconds is None:
            return
        self.sessions.touch()
        if self._hours_stop() is None and self.sessions.seconds() >= self.budget.seconds:
            self.record_hours_stop(candidate.generation)

    def on_generation(self) -> None:
        """After every recorded generation: keep the clock."""
        self.sessions.touch()

    def converged(self, generation: int) -> Stop | None:
        """``stop_when``: the hypervolume after ``generation`` gained less than ``hv_gain_below`` over the last
        ``generations`` generations."""
        rule = self.stop_when
        if not rule.enabled or generation < rule.generations:
            return None
        rows = self.archive.rows()
        reference = reference_point(rows, self.objectives, self.reference)
        now, then = (self._volume(rows, reference, g) for g in (generation, generation - rule.generations))
        if now - then >= rule.hv_gain_below:
            return None
        return Stop("stop_when", f"{now - then:.4g}")

    def _volume(self, rows: Sequence[Any], reference: Mapping[str, float], generation: int) -> float:
        front = pareto_front([r for r in rows if r.generation <= generation], self.objectives, self.limits)
        return hypervolume(objective_matrix(front, self.objectives), reference, self.objectives) if front else 0.0

    def stop_line(self, stop: Stop | None, n_gens: int) -> str:
        """Why the search ended, for people (``None``: it was interrupted)."""
        if stop is None:
            return "interrupted"
        spent, budget = self.spent(), self.budget
        if stop.reason == "budget.evaluations":
            return f"the evaluation budget is reached ({spent.evaluations} of {budget.evaluations} evaluations)"
        if stop.reason == "budget.epochs":
            return f"the epoch budget is reached ({spent.epochs} of {budget.epochs} epochs)"
        if stop.reason == "budget.hours":
            hard = ", stopped at once (hard)" if budget.hard else ", after the generation in flight"
            return f"the time budget is spent ({duration(spent.seconds)} of {budget.hours:g} h{hard})"
        if stop.reason == "stop_when":
            rule = self.stop_when
            return (f"the front converged: its hypervolume gained {stop.detail} (< {rule.hv_gain_below:g}) over the "
                    f"last {rule.generations} generations")
        return f"all {n_gens} generations ran"
