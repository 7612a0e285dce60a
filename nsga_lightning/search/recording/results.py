"""The state of a search as a :class:`~nsga_lightning.search.core.records.SearchResult`: the last population, the
front, the session's meters, why the search ended and what it has spent."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np
from pymoo.core.population import Population

from nsga_lightning.search.core.evaluator import Candidate, Evaluation
from nsga_lightning.search.core.pareto import pareto_front
from nsga_lightning.search.core.records import ArchiveRow, GenerationRow, SearchResult
from nsga_lightning.search.recording.recorder import Recorder
from nsga_lightning.search.recording.run_control import Stop

STATUSES = ("completed", "interrupted", "already complete")


class Meters:
    """What the runner hands on to its recorder: the session's meters, and making, committing and recording
    candidates and generations (a mixin of the runner)."""

    recorder: Recorder

    def candidate(self, genome: Sequence[int], generation: int, key: str | None = None) -> Candidate:
        """The :class:`Candidate` of a genome asked for in ``generation`` (its seed derives from the key)."""
        return self.recorder.candidate(genome, generation, key)

    def commit(self, candidate: Candidate, evaluation: Evaluation) -> ArchiveRow:
        """Archive one result at once, log a failure and call ``on_candidate_end``."""
        return self.recorder.commit(candidate, evaluation)

    def record(self, generation: int, pop: Population, rng: np.random.Generator) -> GenerationRow:
        """Commit a completed generation's population and RNG state, log it and call ``on_generation_end``."""
        return self.recorder.record(generation, pop, rng)

    @property
    def n_evaluated(self) -> int:
        """Evaluator results received in this session."""
        return self.recorder.n_evaluated

    @property
    def busy_seconds(self) -> float:
        """Sum of the evaluations' own times in this session."""
        return self.recorder.busy_seconds

    @property
    def evaluation_wall(self) -> float:
        """Wall time spent waiting for evaluations in this session."""
        return self.recorder.evaluation_wall


def search_result(recorder: Recorder, status: str, stop: Stop | None, n_gens: int, workers: int) -> SearchResult:
    """The current state of ``recorder``'s search (``stop``: why it ended; ``None`` while it has not).

    Raises:
        ValueError: for an unknown status.
    """
    if status not in STATUSES:
        raise ValueError(f"unknown status {status!r}; allowed: {', '.join(STATUSES)}")
    archive, control = recorder.archive, recorder.control
    last = archive.last_generation()
    rows = archive.rows()
    wall = recorder.evaluation_wall
    return SearchResult(
        status, 0 if last is None else last.generation + 1,
        archive.get_many(last.population) if last is not None else [],
        pareto_front(rows, recorder.objectives, control.limits), recorder.n_evaluated, recorder.run_directory.path,
        n_archived=len(rows), n_failed=sum(1 for r in rows if not r.is_ok), workers=workers,
        busy_share=recorder.busy_seconds / (workers * wall) if wall else None,
        stopped_by=None if stop is None else stop.reason,
        stop_text=None if stop is None else control.stop_line(stop, n_gens),
        spent=dataclasses.asdict(control.spent()),
    )
