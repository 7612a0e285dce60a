"""One session of a search: from the last recorded generation to the end (``n_gens``, a budget, convergence),
generation by generation or in the asynchronous steady state, and why it ended."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import numpy as np

from nsga_lightning.search.core.records import GenerationRow
from nsga_lightning.search.evolution.operators import NSGANetOperators
from nsga_lightning.search.loops.generational import GenerationalLoop
from nsga_lightning.search.loops.steady_state import AsynchronousSteadyState
from nsga_lightning.search.recording.recorder import Recorder
from nsga_lightning.search.recording.run_control import BudgetCut, Stop

log = logging.getLogger("nsga_lightning.search.runner")


def run_generations(recorder: Recorder, operators: NSGANetOperators, proposer: Any, schedule: Any, *, pop_size: int,
                    n_offspring: int, n_gens: int, seed: int, window: int | None,
                    seeds: Sequence[np.ndarray] = ()) -> Stop:
    """Run the search from its last recorded generation until it ends; returns why it ended.

    Args:
        recorder: the search's recorder (its ``control`` holds the budgets and the stop rule).
        operators, proposer, schedule: the search's parts.
        pop_size, n_offspring, n_gens, seed: the population settings.
        window: the asynchronous steady state's children in flight (``None``: generational).
        seeds: a warm start's genomes, first in the initial population.

    Raises:
        KeyboardInterrupt: from the evaluator or a hard time budget; the archive keeps what finished.
    """
    control = recorder.control
    last: GenerationRow | None = recorder.archive.last_generation()
    loop = GenerationalLoop(recorder, operators, proposer, schedule, pop_size, n_offspring, seed)
    try:
        if last is None:
            last = loop.initial_generation(seeds)
        if window is not None and last.generation + 1 < n_gens:
            steady = AsynchronousSteadyState(recorder, operators, pop_size, n_gens, window)
            steady.run()
            return steady.stop or Stop("n_gens")
        while last.generation + 1 < n_gens:
            stop = control.stop_before(last.generation + 1)
            if stop is not None:
                return stop
            last = loop.next_generation(last)
    except BudgetCut:
        assert control.cut is not None  # set by whoever cut the batch
        return control.cut
    return Stop("n_gens")
