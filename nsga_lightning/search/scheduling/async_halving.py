"""Asynchronous successive halving within one generation (``search.fidelity.asynchronous: true``): MO-ASHA.

The synchronous rule (``successive_halving.py``) waits at every rung until all of the generation's children have
reached it; with several workers the ones that finish first sit idle at each barrier. Here every free worker
gets a job at once, by this priority:

1. a promotion, highest rung first: a child that reached rung ``r``, is not yet promoted and is among the best
   ``floor(keep * n)`` of the ``n`` children that have reached ``r`` so far (the promotion order of
   ``fidelity.py``), while fewer than ``floor(keep * n)`` have been promoted from ``r``;
2. else the next new child, at the first rung;
3. else, once no child can reach rung ``r`` any more (no new child left, nothing running or queued at rungs
   ``<= r``, rung ``r - 1`` closed), rung ``r`` closes: the best children not yet promoted are promoted until
   ``max(1, ceil(keep * n))`` are, the count of the synchronous rule, so both spend the same number of
   promotions per generation; the others are final at ``r``.

Promotions made before a rung closes are MO-ASHA's: decided on the results in so far, so *which* children go on
depends on the order in which results arrive. That order is not deterministic with several workers, so this mode,
unlike the synchronous one, does not give the same archive for every worker count (the README says so). The
archive records the order: every rung result stores its commit sequence (``fidelity["completed"]``), and a resume
*replays* the recorded results in that order through the same rule, without training, which reconstructs every
decision and the jobs that were in flight; those are trained again (from their rung checkpoints) and the
generation continues live. Given the same completion order afterwards it ends as the uninterrupted run.
"""

from __future__ import annotations

import logging
import math
from collections import deque
from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np

from nsga_lightning.search.core.evaluator import Candidate, check_evaluation
from nsga_lightning.search.core.records import ArchiveRow, ReplayDivergedError
from nsga_lightning.search.evolution.fidelity import Fidelity, promotion_order
from nsga_lightning.search.store import rung_checkpoints

if TYPE_CHECKING:  # pragma: no cover
    from nsga_lightning.search.recording.recorder import Recorder

log = logging.getLogger("nsga_lightning.search.runner")


class AsynchronousHalving:
    """The asynchronous rungs of one generation (see the module docstring).

    Args:
        recorder: the search's recorder (archive, evaluator with ``submit``/``next_completed``/``cancel``, ``commit``).
        children: the generation's new children, in candidate order.
        fidelity: the rungs and the share promoted.
        slots: jobs in flight at once (the workers).
    """

    def __init__(self, recorder: Recorder, children: Sequence[Candidate], fidelity: Fidelity, slots: int) -> None:
        self.recorder, self.fidelity, self.slots = recorder, fidelity, max(1, int(slots))
        self.children = {child.key: child for child in children}
        self.new: deque[str] = deque(self.children)  # not started yet, in candidate order
        top = len(fidelity.rungs) - 1
        self.reached: list[dict[str, list[float]]] = [{} for _ in range(top)]  # rung -> key -> (error, complexity)
        self.promoted: list[set[str]] = [set() for _ in range(top)]
        self.closed = [False] * top
        self.ready: deque[tuple[str, int]] = deque()  # decided jobs (key, rung index) waiting for a slot
        self.running: dict[str, int] = {}  # key -> rung index being trained (submitted unless replaying)
        self.rows: dict[str, ArchiveRow] = {}
        self.complexity = [name for name in recorder.objectives if name != "error"]
        # the budget, as it stood before this generation: the replay takes the recorded jobs' costs again
        generation = min((child.generation for child in children), default=0)
        self.allowance = recorder.control.allowance(before_generation=generation)

    # -- the loop ---------------------------------------------------------------------------------------------

    def run(self) -> dict[str, ArchiveRow]:
        """Replay the recorded results of this generation, train the rest; return the final rows by key."""
        replay = self._recorded()
        if replay:
            log.info("asynchronous rungs: replaying %d recorded results", len(replay))
        try:
            self._fill(live=not replay)
            while self.running:
                key, index, row = self._next(replay)
                self._complete(key, index, row)
                self._fill(live=not replay)
            if replay:
                raise ReplayDivergedError(f"the archive records {len(replay)} result(s) the replay never asked for; "
                                          "the run directory cannot be resumed by this version")
        finally:
            self.recorder.evaluator.cancel()
        for key in self.children:  # final: no checkpoint is needed any more
            rung_checkpoints.discard(self.recorder.run_directory, key)
        return self.rows

    def _fill(self, live: bool) -> None:
        """Give every free slot its next job (submitted to the evaluator when ``live``)."""
        while len(self.running) < self.slots and not self.recorder.control.cut:
            job = self._next_job()
            if job is None:
                return
            key, index = job
            if not self._admit(index):
                return
            self.running[key] = index
            if live:
                self._submit(key, index)

    def _admit(self, index: int) -> bool:
        """Whether a job at rung ``index`` fits the budget (a new child: one evaluation and the first rung's
        epochs; a promotion: the epochs beyond the rung below); else the search is cut and no job starts."""
        rungs = self.fidelity.rungs
        cost = (1, rungs[0]) if index == 0 else (0, rungs[index] - rungs[index - 1])
        if self.allowance.take(*cost):
            return True
        control = self.recorder.control
        control.cut = control.cut_stop(cost, self.allowance)
        log.info("asynchronous rungs: the next job does not fit the budget; the generation stops after the %d in "
                 "flight", len(self.running))
        return False

    def _submit(self, key: str, index: int) -> None:
        self.recorder.evaluator.submit(replace(self.children[key], epochs=self.fidelity.rungs[index]))

    def _next(self, replay: deque[tuple[str, int, ArchiveRow]]) -> tuple[str, int, ArchiveRow]:
        """The next finished job: from the recorded order while replaying, else from the evaluator."""
        if replay:
            key, index, row = replay.popleft()
            if self.running.get(key) != index:
                raise ReplayDivergedError(
                    f"the archive records {key} at {self.fidelity.rungs[index]} epochs as the next result, but the "
                    f"replay has {self._describe_running()} in flight; the run directory cannot be resumed by "
                    "this version")
            if not replay:  # the replay is done: train what was in flight when the search stopped
                for other, other_index in self.running.items():
                    if other != key:
                        self._submit(other, other_index)
            return key, index, row
        evaluation = check_evaluation(self.recorder.evaluator.next_completed(), self.recorder.objectives)
        key = evaluation.key  # (the loop times the whole generation's evaluation)
        if key not in self.running:
            raise RuntimeError(f"the evaluator returned a result for {key!r}, which is not in flight")
        index = self.running[key]
        candidate = replace(self.children[key], epochs=self.fidelity.rungs[index])
        return key, index, self.recorder.commit(candidate, evaluation)

    def _complete(self, key: str, index: int, row: ArchiveRow) -> None:
        del self.running[key]
        self.rows[key] = row
        epochs = self.fidelity.rungs[index]
        if epochs in row.rung_errors and index < len(self.reached):  # ok at this rung (a replayed row may have
            # failed at a later one, which keeps this rung's error and the complexity recorded with it)
            complexity = row.fidelity.get("complexity") or row.objectives
            self.reached[index][key] = [row.rung_errors[epochs], *(float(complexity[n]) for n in self.complexity)]
        else:  # full fidelity or failed: final
            rung_checkpoints.discard(self.recorder.run_directory, key)

    # -- the rule ---------------------------------------------------------------------------------------------

    def _next_job(self) -> tuple[str, int] | None:
        while True:
            if self.ready:
                return self.ready.popleft()
            for index in reversed(range(len(self.reached))):
                key = self._promotable(index)
                if key is not None:
                    self.promoted[index].add(key)
                    return key, index + 1
            if self.new:
                return self.new.popleft(), 0
            if not self._close_a_rung():
                return None

    def _order(self, index: int) -> list[str]:
        reached = self.reached[index]
        keys = list(reached)
        F = np.array([reached[k] for k in keys], dtype=float).reshape(len(keys), 1 + len(self.complexity))
        return [keys[i] for i in promotion_order(F, keys)]

    def _promotable(self, index: int) -> str | None:
        """The best child at rung ``index`` that MO-ASHA may promote now, if any."""
        if self.closed[index]:
            return None
        allowed = math.floor(self.fidelity.keep * len(self.reached[index]) + 1e-9)
        if len(self.promoted[index]) >= allowed:
            return None
        return next((k for k in self._order(index)[:allowed] if k not in self.promoted[index]), None)

    def _close_a_rung(self) -> bool:
        """Close the lowest rung no child can reach any more; ``False`` if none can be closed now."""
        for index, closed in enumerate(self.closed):
            if closed:
                continue
            busy = any(i <= index for i in self.running.values()) or any(i <= index for _, i in self.ready)
            if self.new or busy or (index > 0 and not self.closed[index - 1]):
                return False
            self.closed[index] = True
            wanted = self.fidelity.promoted(len(self.reached[index]))
            for key in self._order(index):
                if len(self.promoted[index]) >= wanted:
                    break
                if key not in self.promoted[index]:
                    self.promoted[index].add(key)
                    self.ready.append((key, index + 1))
            for key in self.reached[index]:
                if key not in self.promoted[index]:
                    rung_checkpoints.discard(self.recorder.run_directory, key)  # final at this rung
            log.info("rung %d epochs closed: %d of %d children promoted to %d epochs", self.fidelity.rungs[index],
                     len(self.promoted[index]), len(self.reached[index]), self.fidelity.rungs[index + 1])
            return True
        return False

    # -- resume -----------------------------------------------------------------------------------------------

    def _recorded(self) -> deque[tuple[str, int, ArchiveRow]]:
        """This generation's rung results already in the archive, in their recorded commit order."""
        events = []
        index_of = {epochs: i for i, epochs in enumerate(self.fidelity.rungs)}
        for key in self.children:
            row = self.recorder.archive.get(key)
            if row is None or row.fidelity is None:
                continue
            completed = row.fidelity.get("completed")
            if completed is None:
                raise ReplayDivergedError(f"{key} has rung results without their recorded order; the run directory "
                                          "was not written by the asynchronous rungs")
            for epochs, sequence in completed.items():
                events.append((int(sequence), key, index_of[int(epochs)], row))
        events.sort()
        return deque((key, index, row) for _, key, index, row in events)

    def _describe_running(self) -> str:
        return ", ".join(f"{k} at {self.fidelity.rungs[i]} epochs" for k, i in self.running.items()) or "nothing"
