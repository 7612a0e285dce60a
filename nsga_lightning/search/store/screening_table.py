"""The archive's ``screened`` table: one row per child scored by the zero-cost pre-screen (``prescreen.py``)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence

from nsga_lightning.search.core.records import ScreenRow

SCREENED_TABLE = """
CREATE TABLE IF NOT EXISTS screened (
    generation INTEGER NOT NULL, key TEXT NOT NULL, score_name TEXT NOT NULL, score REAL,
    objectives TEXT NOT NULL, selected INTEGER NOT NULL, error_text TEXT, PRIMARY KEY (generation, key)
);
"""


def write_screening(db: sqlite3.Connection, generation: int, rows: Sequence[ScreenRow]) -> None:
    """Store (or replace) a generation's screened children; the caller holds the transaction."""
    db.executemany("INSERT OR REPLACE INTO screened VALUES (?,?,?,?,?,?,?)", [
        (int(generation), r.key, r.score_name, r.score, json.dumps(r.objectives, sort_keys=True), int(r.selected),
         r.error_text) for r in rows])


def read_screening(db: sqlite3.Connection, generation: int | None = None) -> list[ScreenRow]:
    """Screened children of one generation (all if ``None``), by generation then key; ``[]`` for an archive
    without the table (older than the pre-screen, opened read-only)."""
    if db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'screened'").fetchone() is None:
        return []
    where, args = ("WHERE generation = ?", (int(generation),)) if generation is not None else ("", ())
    found = db.execute(f"SELECT generation, key, score_name, score, objectives, selected, error_text FROM screened "
                       f"{where} ORDER BY generation, key", args).fetchall()
    return [ScreenRow(int(g), k, name, None if s is None else float(s), json.loads(o), bool(sel), e)
            for g, k, name, s, o, sel, e in found]
