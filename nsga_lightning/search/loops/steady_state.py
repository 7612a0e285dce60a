"""Asynchronous steady state: ``n_offspring: 1`` with ``workers: N`` keeps N children in flight and updates the
population as each one finishes (the original README's hint for parallel training, done properly).

After the initial population (evaluated like generation 0 of the generational loop), one child is mated from the
current population for every free slot; each finished child is committed, told to the population at once
(survival of parents + child) and recorded as the next generation, and the freed slot gets a new child mated
from the updated population. With one slot this is exactly the generational steady state.

Unlike the generational mode, the result depends on the order in which children finish, which is not
deterministic. The archive records that order (each row's commit ``sequence``), and a resume *replays* it:
from generation 0 the loop runs again without training, taking completions from the archive in their recorded
order, so every population, RNG draw and in-flight child is reconstructed exactly; the children that were in
flight when the search stopped are then trained again, and the search continues live. The number of slots is
part of the run fingerprint (a replay with another window would mate other children).

When mating stops (``n_gens``, a budget, the time, convergence) the children in flight finish; the mated count
where that happened is recorded (``steady_stops``), and a replay pauses there too until nothing is in flight, so a
search extended past it (more generations, a larger budget) replays the first session's course and goes on.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from dataclasses import replace
from typing import TYPE_CHECKING

from pymoo.core.population import Population

from nsga_lightning.search.core.evaluator import Candidate, check_evaluation
from nsga_lightning.search.core.records import ArchiveRow, GenerationRow, ReplayDivergedError
from nsga_lightning.search.evolution.generation_state import population_of, recorded_population, restore_rng
from nsga_lightning.search.evolution.operators import NSGANetOperators
from nsga_lightning.search.recording.run_control import STEADY_STOPS, Stop

if TYPE_CHECKING:  # pragma: no cover
    from nsga_lightning.search.recording.recorder import Recorder

log = logging.getLogger(__name__)


class AsynchronousSteadyState:
    """The asynchronous steady-state loop of one search (see the module docstring).

    Args:
        recorder: the search's recorder (archive, evaluator, callbacks, ``commit``, ``record``).
        operators: the NSGA-Net operators (mating, sampling, survival).
        pop_size: population size.
        n_gens: generations including the initial one (one child told per generation).
        window: children in flight at once.
    """

    def __init__(self, recorder: Recorder, operators: NSGANetOperators, pop_size: int, n_gens: int,
                 window: int) -> None:
        self.recorder, self.window = recorder, int(window)
        self.operators, self.pop_size, self.n_gens = operators, int(pop_size), int(n_gens)
        self.archive = recorder.archive
        gen0 = self.archive.generation(0)
        limits = operators.limits
        self.limits = limits.limits if limits is not None else None
        self.pop = recorded_population(self.archive, gen0, recorder.objectives, recorder.space.n_var, self.limits)
        self.rng = restore_rng(gen0.rng_state)
        self.known = self.archive.keys(before_generation=1)
        completed = [r for r in self.archive.rows(order="completion") if r.generation >= 1]
        self.replay: deque[ArchiveRow] = deque(completed)
        self.in_flight: dict[str, Candidate] = {}  # mating order
        self.submitted: set[str] = set()
        self.mated = self.told = 0
        self.control = recorder.control
        self.allowance = self.control.allowance(before_generation=1)  # each child: one evaluation
        self.pauses = set(self.archive.meta_json(STEADY_STOPS) or [])  # mated counts where mating paused
        self.stop: Stop | None = None

    def run(self) -> GenerationRow:
        """Replay what the archive holds, then run live to ``n_gens`` (or a budget, or convergence); returns the
        last generation row."""
        if self.replay:
            log.info("asynchronous steady state: replaying %d recorded completions", len(self.replay))
        last = self.archive.generation(0)
        while len(self.in_flight) < self.window and self._may_mate():
            self._mate()
        try:
            while self.in_flight:
                row = self._next_completion()
                self.told += 1
                self.known.add(row.key)
                merged = Population.merge(self.pop, population_of([row], self.recorder.objectives,
                                                                  self.recorder.space.n_var, self.limits))
                self.pop = self.operators.survive(merged, self.pop_size, self.rng)
                last = self._record(self.told)
                # one child for the freed slot; every slot once a pause has let the children in flight finish
                wanted = self.window if not self.in_flight and self.mated in self.pauses else 1
                while wanted and len(self.in_flight) < self.window and self._may_mate():
                    self._mate()
                    wanted -= 1
        finally:
            self.recorder.evaluator.cancel()
        return last

    def _may_mate(self) -> bool:
        """Whether the next child may be mated: not while a recorded pause lets the children in flight finish, and
        not past ``n_gens``, the count budgets, the time (live only) or convergence; a stop taken now is recorded
        as a pause, which a replay (and an extension, whose replay goes past it) keeps."""
        if self.mated in self.pauses and self.in_flight:
            return False
        control = self.control
        stop = None
        if self.mated >= self.n_gens - 1:
            stop = Stop("n_gens")
        elif not self.replay and control.hours_spent():
            stop = Stop("budget.hours")
        else:
            stop = control.converged(self.told)
        if stop is None:
            cost = (1, control.candidate_epochs)
            if self.allowance.take(*cost):
                return True
            stop = control.cut_stop(cost, self.allowance)
        self.stop = stop
        if self.mated not in self.pauses:
            self.pauses.add(self.mated)
            self.archive.set_meta(STEADY_STOPS, sorted(self.pauses))
        return False

    def _mate(self) -> None:
        """Mate one new child from the current population and submit it (when live)."""
        excluded = self.known | set(self.in_flight)
        generation = self.told + 1
        if self.operators.limits is not None:
            self.operators.limits.begin(generation)
        off = self.operators.mate(self.pop, 1, self.rng, excluded)
        if len(off) == 0:
            log.warning("generation %d: mating found no new architecture; drawing a fresh sample", generation)
            off = self.operators.sample(1, self.rng, excluded)
        if self.operators.limits is not None:
            self.operators.limits.flush(self.archive, generation)
        if len(off) == 0:
            log.warning("generation %d: no new architecture could be found", generation)
            self.mated += 1
            return
        child = self.recorder.candidate(off[0].X, generation, off[0].get("key"))
        self.in_flight[child.key] = child
        self.mated += 1
        if not self.replay:
            self._submit(child)

    def _submit(self, child: Candidate) -> None:
        if child.key not in self.submitted:
            self.submitted.add(child.key)
            self.recorder.evaluator.submit(child)

    def _next_completion(self) -> ArchiveRow:
        """The next finished child: from the recorded order while replaying, else from the evaluator."""
        if self.replay:
            row = self.replay.popleft()
            if row.key not in self.in_flight:
                raise ReplayDivergedError(
                    f"the archive records {row.key} as the next finished child, but the replay has "
                    f"{list(self.in_flight)} in flight; the run directory cannot be resumed by this version")
            self.in_flight.pop(row.key)
            if not self.replay:  # the replay is done: train what was in flight when the search stopped
                for child in self.in_flight.values():
                    self._submit(child)
            return row
        for child in self.in_flight.values():
            self._submit(child)
        start = time.perf_counter()
        try:
            evaluation = check_evaluation(self.recorder.evaluator.next_completed(), self.recorder.objectives)
        finally:
            self.recorder.evaluation_wall += time.perf_counter() - start
        candidate = self.in_flight.pop(evaluation.key)
        self.recorder.call("on_generation_start", self.told + 1, [candidate])
        return self.recorder.commit(replace(candidate, generation=self.told + 1), evaluation)

    def _record(self, generation: int) -> GenerationRow:
        """Record (or, replaying, check) the population after ``generation``'s child was told."""
        keys = [ind.get("key") for ind in self.pop]
        try:
            stored = self.archive.generation(generation)
        except KeyError:
            return self.recorder.record(generation, self.pop, self.rng)
        if stored.population != keys or stored.rng_state != _plain(self.rng.bit_generator.state):
            raise ReplayDivergedError(f"replaying generation {generation} gives another population than the "
                                      "archive records; the run directory cannot be resumed by this version")
        return stored


def _plain(state: dict) -> dict:
    """The RNG state as the archive stores it (JSON round trip: numpy ints become plain ints)."""
    import json

    from nsga_lightning.search.core.records import json_default

    return json.loads(json.dumps(state, default=json_default))

