"""The archive's ``generations`` table: one row per completed generation (population, rank, crowding, RNG state)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping, Sequence
from typing import Any

from nsga_lightning.search.core.records import (
    GenerationRow,
    generation_row,
    json_default,
    optional_float,
    optional_int,
)


def write_generation(db: sqlite3.Connection, generation: int, population: Sequence[str],
                     rank: Sequence[int | None], crowding: Sequence[float | None], rng_state: Mapping[str, Any],
                     created: str) -> None:
    """Insert one generation's row; the caller holds the transaction (``sqlite3.IntegrityError`` if recorded)."""
    db.execute("INSERT INTO generations VALUES (?,?,?,?,?,?)", (
        int(generation),
        json.dumps(list(population)),
        json.dumps([optional_int(r) for r in rank]),
        json.dumps([optional_float(c) for c in crowding]),
        json.dumps(rng_state, default=json_default),
        created,
    ))


def read_generation(db: sqlite3.Connection, generation: int) -> GenerationRow | None:
    """The row of one generation, or ``None``."""
    found = db.execute("SELECT * FROM generations WHERE generation = ?", (generation,)).fetchone()
    return generation_row(found) if found else None


def read_generations(db: sqlite3.Connection) -> list[GenerationRow]:
    """All generation rows, in order."""
    return [generation_row(r) for r in db.execute("SELECT * FROM generations ORDER BY generation")]


def read_last_generation(db: sqlite3.Connection) -> GenerationRow | None:
    """The last completed generation, or ``None`` before generation 0 completes."""
    found = db.execute("SELECT * FROM generations ORDER BY generation DESC LIMIT 1").fetchone()
    return generation_row(found) if found else None
