"""What proposes a generation's children: the :class:`Proposer` interface and the NSGA-Net mating proposer.

A proposer is asked for ``n`` children whose keys are new (:class:`Ask`); it may return fewer only when the space
has no more. Proposers wrap each other: the BOA exploitation (``exploitation.py``) takes over the last generations
from mating, and the zero-cost pre-screen (``prescreen.py``) asks its inner proposer for ``factor`` times as many
and keeps the best. Each proposer describes its own block of the run fingerprint.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
from pymoo.core.population import Population

from nsga_lightning.search.evolution.operators import NSGANetOperators
from nsga_lightning.search.recording.recorder import Recorder

log = logging.getLogger("nsga_lightning.search.runner")


@dataclass(frozen=True)
class Ask:
    """What a proposer is asked for.

    Attributes:
        pop: the current (evaluated, ranked) population.
        generation: the generation the children belong to.
        rng: the generation's random generator (the only source of randomness, so resume is exact).
        excluded: keys that may not be proposed (archived before this generation).
        n: children wanted.
        at_least: fewer than this many mated children are filled up with fresh samples.
    """

    pop: Population
    generation: int
    rng: np.random.Generator
    excluded: set[str]
    n: int
    at_least: int


class Proposer(Protocol):
    """Proposes a generation's children."""

    def propose(self, recorder: Recorder, ask: Ask) -> Population:
        """Children with keys new to ``ask.excluded`` (each individual's ``key`` set)."""
        ...

    def describe(self) -> dict[str, Any]:
        """This proposer's blocks of the run fingerprint (empty when it adds none)."""
        ...


class MatingProposer:
    """Binary tournament, crossover and mutation (:class:`NSGANetOperators`), filled with fresh samples when
    mating finds too few new keys.

    Args:
        operators: the NSGA-Net operators.
        max_mating_rounds: rounds the operators try (only named in the warning).
    """

    def __init__(self, operators: NSGANetOperators, max_mating_rounds: int) -> None:
        self.operators, self.max_mating_rounds = operators, int(max_mating_rounds)

    def propose(self, recorder: Recorder, ask: Ask) -> Population:
        """``ask.n`` mated children, filled up to ``ask.at_least``."""
        return self.fill(self.operators.mate(ask.pop, ask.n, ask.rng, ask.excluded), ask)

    def fill(self, off: Population, ask: Ask) -> Population:
        """``off`` with fresh samples added when it holds fewer than ``ask.at_least`` children."""
        if len(off) >= ask.at_least:
            return off
        missing = ask.at_least - len(off)
        log.warning("generation %d: mating found only %d of %d new architectures in %d rounds; filling %d "
                    "with fresh samples", ask.generation, len(off), ask.at_least, self.max_mating_rounds, missing)
        taken = ask.excluded | {ind.get("key") for ind in off}
        off = Population.merge(off, self.operators.sample(missing, ask.rng, taken))
        if len(off) < ask.at_least:
            log.warning("generation %d: only %d new architectures could be found", ask.generation, len(off))
        return off

    def describe(self) -> dict[str, Any]:
        """Nothing beyond the operators' block (described by the operators)."""
        return {}
