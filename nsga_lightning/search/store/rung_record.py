"""The rung record of a multi-fidelity row (the archive's ``fidelity`` column): epochs trained, the full epochs,
the error at every rung reached and, for asynchronous rungs, the commit order and the complexity it replays."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from nsga_lightning.search.core.records import ArchiveRow


def rung_record(known: ArchiveRow | None, epochs: int, max_epochs: int | None, ok: bool,
                objectives: Mapping[str, float], record_order: bool, next_sequence: Callable[[], int]) -> dict[str, Any]:
    """The ``fidelity`` record of a result at the rung of ``epochs``.

    Args:
        known: the key's row before this result (an earlier rung), or ``None``.
        epochs: the rung the candidate was trained to.
        max_epochs: the full epochs.
        ok: whether the result succeeded (a failure records no rung error).
        objectives: the result's objectives (empty for a failure).
        record_order: keep each rung result's commit sequence and the first ok complexity (asynchronous rungs).
        next_sequence: the commit sequence this write gets.

    Raises:
        ValueError: without ``max_epochs``.
    """
    if max_epochs is None:
        raise ValueError("a candidate trained to a rung needs max_epochs (the full epochs)")
    before = known.fidelity if known is not None and known.fidelity else {}
    errors = dict(before.get("errors", {}))
    if ok:
        errors[str(epochs)] = float(objectives["error"])
    record: dict[str, Any] = {"epochs": int(epochs), "max_epochs": int(max_epochs), "errors": errors}
    if record_order:
        completed = dict(before.get("completed", {}))
        completed[str(epochs)] = next_sequence()  # one writer: the run lock holds
        record["completed"] = completed
        complexity = before.get("complexity") or {k: v for k, v in objectives.items() if k != "error"}
        if complexity:
            record["complexity"] = complexity
    return record
