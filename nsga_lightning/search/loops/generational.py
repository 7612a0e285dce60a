"""The generational loop: sample and evaluate generation 0, then per generation propose children, schedule
their evaluation, keep ``pop_size`` by rank and crowding and record the generation (population and RNG state),
from which a resume continues exactly."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence

import numpy as np
from pymoo.core.population import Population

from nsga_lightning.search.core.records import ArchiveRow, GenerationRow
from nsga_lightning.search.evolution.generation_state import population_of, recorded_population, restore_rng
from nsga_lightning.search.evolution.operators import NSGANetOperators
from nsga_lightning.search.proposers.mating import Ask, Proposer
from nsga_lightning.search.recording.recorder import Recorder
from nsga_lightning.search.recording.run_control import BudgetCut
from nsga_lightning.search.scheduling.batch import Schedule

log = logging.getLogger("nsga_lightning.search.runner")


class GenerationalLoop:
    """Generations of ``n_offspring`` children each.

    Args:
        recorder: the search's recorder.
        operators: the NSGA-Net operators (sampling, ranking, survival).
        proposer: proposes each generation's children.
        schedule: evaluates them.
        pop_size: population size.
        n_offspring: children per generation.
        seed: the run seed (generation 0's RNG).
    """

    def __init__(self, recorder: Recorder, operators: NSGANetOperators, proposer: Proposer, schedule: Schedule,
                 pop_size: int, n_offspring: int, seed: int) -> None:
        self.recorder, self.operators, self.proposer, self.schedule = recorder, operators, proposer, schedule
        self.pop_size, self.n_offspring, self.seed = int(pop_size), int(n_offspring), int(seed)

    def initial_generation(self, seeds: Sequence[np.ndarray] = ()) -> GenerationRow:
        """Sample (after a warm start's ``seeds``), evaluate and record generation 0."""
        rng = np.random.default_rng(self.seed)
        self._begin(0)
        pop = self.operators.initial(self.pop_size, rng, seeds)
        if len(pop) < self.pop_size:
            log.warning("only %d distinct architectures found for an initial population of %d", len(pop),
                        self.pop_size)
        pop = self.evaluated(pop, 0)
        return self.recorder.record(0, self.operators.rank(pop, rng), rng)

    def next_generation(self, last: GenerationRow) -> GenerationRow:
        """Propose, evaluate and record the generation after ``last``."""
        archive, generation = self.recorder.archive, last.generation + 1
        rng = restore_rng(last.rng_state)
        pop = recorded_population(archive, last, self.recorder.objectives, self.recorder.space.n_var, self._limits())
        excluded = archive.keys(before_generation=generation)
        self._begin(generation)
        ask = Ask(pop, generation, rng, excluded, self.n_offspring, self.n_offspring)
        off = self.proposer.propose(self.recorder, ask)
        merged = Population.merge(pop, self.evaluated(off, generation))
        return self.recorder.record(generation, self.operators.survive(merged, self.pop_size, rng), rng)

    def evaluated(self, pop: Population, generation: int) -> Population:
        """``pop`` with objectives: known keys from the archive, new ones scheduled and committed."""
        recorder = self.recorder
        keys = [ind.get("key") for ind in pop]
        rows: dict[str, ArchiveRow] = {}
        todo = []
        for key, ind in zip(keys, pop):
            known = recorder.archive.get(key)
            # with rungs, this generation's own children (an interrupted attempt's) may still be promoted
            if known is not None and not (self.schedule.resumes_own_generation and known.generation == generation):
                rows[key] = known
            else:
                todo.append(recorder.candidate(ind.X, generation, key))
        if rows:
            log.info("generation %d: %d architecture(s) answered from the archive", generation, len(rows))
        if self.operators.limits is not None:  # the children the limits kept from training, stored before it
            self.operators.limits.flush(recorder.archive, generation)
        recorder.call("on_generation_start", generation, list(todo))
        start = time.perf_counter()
        try:
            rows.update(self.schedule.evaluate(recorder, todo))
        finally:
            recorder.evaluation_wall += time.perf_counter() - start
        if recorder.control.cut:  # a budget cut the batch: the generation stays open (a resume continues it)
            raise BudgetCut
        ordered = [rows[key] for key in keys]  # told in candidate order, whatever the order of completion
        return population_of(ordered, recorder.objectives, recorder.space.n_var, self._limits())

    def _begin(self, generation: int) -> None:
        if self.operators.limits is not None:
            self.operators.limits.begin(generation)

    def _limits(self) -> dict[str, float] | None:
        """The limits results are judged by (``None``: none)."""
        return self.operators.limits.limits if self.operators.limits is not None else None
