"""The archive's ``warm_start`` table: the architectures a warm start brought in (``search.warm_start``), written
once, in one transaction with the imported result rows, before generation 0.

``use`` says what each one is to this search: ``result`` (evaluated with the same evaluator fingerprint: the row is
also in ``architectures``, with generation -1, and is never trained again) or ``prior`` (evaluated with other
settings: it only seeds the first population and the surrogate's prior data; never a result of this search).
``position`` orders the seeds of the first population (``NULL``: not a seed).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, field

__all__ = ["USES", "WARM_TABLE", "WarmRow", "read_warm_rows", "write_warm_rows"]

USES = ("result", "prior")
WARM_TABLE = """
CREATE TABLE IF NOT EXISTS warm_start (
    key TEXT PRIMARY KEY, source TEXT NOT NULL, use TEXT NOT NULL CHECK (use IN ('result', 'prior')),
    genome TEXT NOT NULL, status TEXT NOT NULL, objectives TEXT NOT NULL, position INTEGER
);
"""


@dataclass(frozen=True)
class WarmRow:
    """One architecture a warm start brought in.

    Attributes:
        key: its canonical key in this search's space.
        source: where it came from (the ``search.warm_start`` entry).
        use: ``result`` or ``prior`` (see the module docstring).
        genome: its genome.
        status: ``ok`` or ``failed`` where it was evaluated.
        objectives: its objectives there (empty when failed).
        position: its place among the first population's seeds, ``None`` if it is not one.
    """

    key: str
    source: str
    use: str
    genome: tuple[int, ...]
    status: str = "ok"
    objectives: dict[str, float] = field(default_factory=dict)
    position: int | None = None


def write_warm_rows(db: sqlite3.Connection, rows: Sequence[WarmRow]) -> None:
    """Store warm-start rows; the caller holds the transaction (``sqlite3.IntegrityError`` on a repeated key)."""
    db.execute(WARM_TABLE)
    db.executemany("INSERT INTO warm_start VALUES (?,?,?,?,?,?,?)", [
        (r.key, r.source, r.use, json.dumps([int(g) for g in r.genome]), r.status,
         json.dumps(dict(r.objectives), sort_keys=True), r.position) for r in rows])


def read_warm_rows(db: sqlite3.Connection, use: str | None = None) -> list[WarmRow]:
    """The warm-start rows (of one ``use``, or all) by key; ``[]`` for an archive without the table."""
    if db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'warm_start'").fetchone() is None:
        return []
    where, args = ("WHERE use = ?", (use,)) if use is not None else ("", ())
    found = db.execute(f"SELECT key, source, use, genome, status, objectives, position FROM warm_start {where} "
                       "ORDER BY key", args).fetchall()
    return [WarmRow(k, s, u, tuple(json.loads(g)), st, json.loads(o), None if p is None else int(p))
            for k, s, u, g, st, o, p in found]
