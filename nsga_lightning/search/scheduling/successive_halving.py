"""Successive halving over epochs within one generation (``search.fidelity``).

Every new child trains to the first rung; the best ``keep`` share of those that reached a rung (``fidelity.py``:
non-dominated rank on the rung error and the complexity objectives, then crowding) continues from its rung
checkpoint to the next, up to the full epochs. Each rung is a barrier: all of its children finish (in parallel
with several workers) before the promotion is decided, so the promotions, and with them the archive, are the same
for any number of workers. (``fidelity.asynchronous`` promotes as results arrive instead, as MO-ASHA does:
``async_halving.py``; the archive then depends on the order of completion.)

Resume: every rung result is committed at once (the child's row carries every rung error); a resumed generation
recomputes the promotions from those rows, answers every rung already reached from the archive and continues the
promoted children from their rung checkpoints, so it ends as the uninterrupted run.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np

from nsga_lightning.search.core.evaluator import Candidate, evaluate_all
from nsga_lightning.search.core.records import ArchiveRow
from nsga_lightning.search.evolution.fidelity import Fidelity, promotion_order
from nsga_lightning.search.store import rung_checkpoints

if TYPE_CHECKING:
    from nsga_lightning.search.recording.recorder import Recorder

log = logging.getLogger("nsga_lightning.search.runner")


def train_in_rungs(recorder: Recorder, children: Sequence[Candidate], fidelity: Fidelity) -> dict[str, ArchiveRow]:
    """Train a generation's new children through the rungs and return their final rows by key.

    Args:
        recorder: the search's recorder (its archive, evaluator, objectives and ``commit``).
        children: the generation's new children (keys not archived before this generation), in candidate order.
        fidelity: the rungs and the share promoted.
    """
    rows: dict[str, ArchiveRow] = {}
    current = list(children)
    complexity = [name for name in recorder.objectives if name != "error"]
    for index, epochs in enumerate(fidelity.rungs):
        todo = []
        for child in current:
            row = recorder.archive.get(child.key)
            if row is None or (row.is_ok and row.epochs < epochs):
                todo.append(replace(child, epochs=epochs))
            else:
                rows[child.key] = row  # reached in an interrupted attempt (or failed there: final)
        for candidate, evaluation in evaluate_all(recorder.evaluator, recorder.control.admit(todo),
                                                  recorder.objectives):
            rows[candidate.key] = recorder.commit(candidate, evaluation)
        if recorder.control.cut:  # the budget ends the search here: no promotion is decided
            return rows
        if index == len(fidelity.rungs) - 1:
            break
        reached = [child for child in current if rows[child.key].is_ok]
        F = np.array([[rows[c.key].rung_errors[epochs], *(rows[c.key].objectives[n] for n in complexity)]
                      for c in reached], dtype=float).reshape(len(reached), 1 + len(complexity))
        order = promotion_order(F, [c.key for c in reached])
        promoted = {reached[i].key for i in order[: fidelity.promoted(len(reached))]}
        for child in current:
            if child.key not in promoted:
                rung_checkpoints.discard(recorder.run_directory, child.key)  # final at this rung
        log.info("rung %d epochs: %d of %d children promoted to %d epochs", epochs, len(promoted), len(reached),
                 fidelity.rungs[index + 1])
        current = [child for child in current if child.key in promoted]
    for child in children:  # final: no checkpoint is needed any more
        rung_checkpoints.discard(recorder.run_directory, child.key)
    return rows

