"""The recorder: what every loop, schedule and proposer of a search shares, and the one place results are written.

It holds the open archive, the run directory, the evaluator's whole interface (:class:`Execution`), the space
and the objectives, and it commits each result at once (``commit``), records each completed generation
(``record``), calls the search callbacks (``call``) and keeps the session's meters (results received, busy
seconds, wall time spent waiting). The parts get the recorder, never the runner.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from pymoo.core.population import Population

from nsga_lightning.search.core.evaluator import Candidate, Evaluation, derive_seed
from nsga_lightning.search.core.records import ArchiveRow, GenerationRow
from nsga_lightning.search.evolution.generation_state import last_line, log_generation
from nsga_lightning.search.execution.protocols import Execution
from nsga_lightning.search.recording.run_control import RunControl
from nsga_lightning.search.store.archive import Archive
from nsga_lightning.spaces import SearchSpace

log = logging.getLogger("nsga_lightning.search.runner")


class Recorder:
    """Commits results and generations of one search and calls its callbacks.

    Args:
        owner: the object the callbacks receive as their first argument (the :class:`SearchRunner`).
        archive: the open (writable) archive.
        execution: the evaluator's interface.
        space: the search space.
        objectives: the objective names, in order.
        seed: the run seed (per-candidate seeds derive from it and the key).
        callbacks: the search callbacks (any object; the hooks it defines are called).
        max_epochs: with rungs, the full epochs (stored with every rung result); ``None`` without.
        record_order: keep each rung result's commit sequence (asynchronous rungs replay it on resume).
        control: the search's budgets and stop rules (``run_control.py``); ``None``: none.
    """

    def __init__(self, owner: Any, archive: Archive, execution: Execution, space: SearchSpace,
                 objectives: Sequence[str], seed: int, callbacks: Sequence[Any] = (), max_epochs: int | None = None,
                 record_order: bool = False, control: RunControl | None = None) -> None:
        self.owner, self.archive, self.evaluator, self.space = owner, archive, execution, space
        self.run_directory = archive.run
        self.objectives, self.seed = tuple(objectives), int(seed)
        self.callbacks = list(callbacks)
        self.max_epochs, self.record_order = max_epochs, record_order
        self.control = control if control is not None else RunControl(archive, objectives)
        self.n_evaluated = 0
        self.busy_seconds = 0.0  # sum of the evaluations' own times (training, in whichever process)
        self.evaluation_wall = 0.0  # wall time spent waiting for evaluations

    def call(self, hook: str, *args: Any) -> None:
        """Call ``hook(owner, *args)`` on every callback that defines it."""
        for callback in self.callbacks:
            method = getattr(callback, hook, None)  # callbacks define any subset of the hooks
            if callable(method):
                method(self.owner, *args)

    def candidate(self, genome: Sequence[int], generation: int, key: str | None = None) -> Candidate:
        """The :class:`Candidate` of a genome asked for in ``generation`` (its seed derives from the key)."""
        genome = [int(g) for g in genome]
        key = key if key is not None else self.space.key(genome)
        return Candidate(key, genome, generation, derive_seed(self.seed, key), self.space.decode(genome))

    def commit(self, candidate: Candidate, evaluation: Evaluation) -> ArchiveRow:
        """Archive one result at once, log a failure and call ``on_candidate_end``."""
        self.n_evaluated += 1
        self.busy_seconds += float(evaluation.seconds)
        row = self.archive.add(candidate, evaluation, self.max_epochs, record_order=self.record_order)
        if not evaluation.is_ok:
            log.warning("architecture %s failed: %s", candidate.key, last_line(evaluation.error_text))
        self.control.on_commit(candidate)
        self.call("on_candidate_end", candidate, evaluation)
        return row

    def record(self, generation: int, pop: Population, rng: np.random.Generator) -> GenerationRow:
        """Commit a completed generation's population and RNG state, log it and call ``on_generation_end``."""
        keys = [ind.get("key") for ind in pop]
        row = self.archive.record_generation(generation, keys, [ind.get("rank") for ind in pop],
                                             [ind.get("crowding") for ind in pop], rng.bit_generator.state)
        rows = self.archive.get_many(keys)
        log_generation(generation, rows, self.objectives)
        self.control.on_generation()
        self.call("on_generation_end", generation, rows, self.archive)
        return row

    def meters(self) -> Mapping[str, float]:
        """Results received, busy seconds and evaluation wall time of this session."""
        return {"n_evaluated": self.n_evaluated, "busy_seconds": self.busy_seconds,
                "evaluation_wall": self.evaluation_wall}
