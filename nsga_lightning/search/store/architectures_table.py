"""The archive's ``architectures`` table: one row per evaluated architecture, inserted when its first result
arrives and updated at each later rung it reaches (multi-fidelity runs)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping
from typing import Any

from nsga_lightning.search.core.evaluator import Candidate, Evaluation
from nsga_lightning.search.core.records import ArchiveRow, archive_row, canonical_json

ORDERS = {"generation": "generation, key", "completion": "sequence, key"}


def insert_architecture(db: sqlite3.Connection, candidate: Candidate, evaluation: Evaluation,
                        objectives: Mapping[str, float], genotype: Any, fidelity: Mapping[str, Any] | None,
                        created: str) -> None:
    """Insert the first result of a key (``genotype``: its stored form); the caller holds the transaction.

    The ``error``, ``madds`` and ``params`` columns copy those objectives for SQL queries (``NULL`` where a search's
    objectives are others); the ``objectives`` JSON is authoritative.

    Raises:
        sqlite3.IntegrityError: if the key is already archived.
    """
    values = (
        candidate.key,
        canonical_json([int(g) for g in candidate.genome]),
        canonical_json(genotype),
        int(candidate.generation),
        int(candidate.seed),
        evaluation.status,
        objectives.get("error"),
        objectives.get("madds"),
        objectives.get("params"),
        json.dumps(dict(objectives), sort_keys=True),
        float(evaluation.seconds),
        evaluation.error_text,
        created,
        None if fidelity is None else fidelity["epochs"],
        None if fidelity is None else json.dumps(fidelity, sort_keys=True),
    )
    db.execute(
        "INSERT INTO architectures (key, genome, genotype, generation, seed, status, error, "
        "madds, params, objectives, seconds, error_text, created, epochs, fidelity, sequence) "
        "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?, (SELECT COALESCE(MAX(sequence), 0) + 1 FROM architectures))",
        values,
    )


def promote_architecture(db: sqlite3.Connection, key: str, evaluation: Evaluation, objectives: Mapping[str, float],
                         fidelity: Mapping[str, Any], seconds: float, created: str) -> None:
    """Update the row of a child that reached a later rung (``seconds``: all its rungs' together); the caller holds
    the transaction."""
    values = (evaluation.status, objectives.get("error"), objectives.get("madds"), objectives.get("params"),
              json.dumps(dict(objectives), sort_keys=True), seconds, evaluation.error_text, created,
              fidelity["epochs"], json.dumps(fidelity, sort_keys=True), key)
    db.execute(
        "UPDATE architectures SET status = ?, error = ?, madds = ?, params = ?, objectives = ?, seconds = ?, "
        "error_text = ?, created = ?, epochs = ?, fidelity = ?, "
        "sequence = (SELECT MAX(sequence) + 1 FROM architectures) WHERE key = ?", values)


def next_sequence(db: sqlite3.Connection) -> int:
    """The commit sequence the next write gets."""
    return int(db.execute("SELECT COALESCE(MAX(sequence), 0) + 1 FROM architectures").fetchone()[0])


def select_row(db: sqlite3.Connection, columns: str, key: str) -> ArchiveRow | None:
    """The row of ``key`` (``columns``: the archive's select list), or ``None``."""
    found = db.execute(f"SELECT {columns} FROM architectures WHERE key = ?", (key,)).fetchone()
    return archive_row(found) if found else None


def select_rows(db: sqlite3.Connection, columns: str, status: str | None = None,
                order: str = "generation") -> list[ArchiveRow]:
    """All rows (or those with ``status``) in ``order`` (see :data:`ORDERS`).

    Raises:
        ValueError: for an unknown order.
    """
    sql = f"SELECT {columns} FROM architectures"
    args: tuple = ()
    if status is not None:
        sql, args = sql + " WHERE status = ?", (status,)
    if order not in ORDERS:
        raise ValueError(f"unknown row order {order!r}; allowed: {', '.join(ORDERS)}")
    return [archive_row(r) for r in db.execute(f"{sql} ORDER BY {ORDERS[order]}", args).fetchall()]


def select_keys(db: sqlite3.Connection, before_generation: int | None = None) -> set[str]:
    """Keys of all rows, or of those first asked for before ``before_generation``."""
    if before_generation is None:
        found = db.execute("SELECT key FROM architectures")
    else:
        found = db.execute("SELECT key FROM architectures WHERE generation < ?", (before_generation,))
    return {k for (k,) in found.fetchall()}
