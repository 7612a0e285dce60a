"""The archive's ``predictions`` table: the surrogate's prediction for every child it chose, stored before the
child trains (``proposers/surrogate.py``), so that a resumed generation trains the same children and the
predictor's quality is measured on what it predicted then."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["PREDICTIONS_TABLE", "PredictionRow", "read_predictions", "write_predictions"]

PREDICTIONS_TABLE = """
CREATE TABLE IF NOT EXISTS predictions (
    generation INTEGER NOT NULL, key TEXT NOT NULL, position INTEGER NOT NULL, genome TEXT NOT NULL,
    model TEXT NOT NULL, predicted_error REAL NOT NULL, predicted_std REAL NOT NULL, fit_rows INTEGER NOT NULL,
    seconds REAL NOT NULL, PRIMARY KEY (generation, key)
);
"""


@dataclass(frozen=True)
class PredictionRow:
    """One child the surrogate chose.

    Attributes:
        generation: the generation it was proposed for.
        key: its canonical key.
        position: its place in the generation's chosen children (0 first).
        genome: its genome.
        model: the model that predicted (``auto``'s choice by name).
        predicted_error: the predicted validation error (the mean, not the optimistic bound).
        predicted_std: the predicted standard deviation of the error (0 for models without one).
        fit_rows: the trained architectures the model was fitted to.
        seconds: the driver's seconds for the whole proposal (fit, inner search, choice), the same on every
            row of a generation.
    """

    generation: int
    key: str
    position: int
    genome: tuple[int, ...]
    model: str
    predicted_error: float
    predicted_std: float
    fit_rows: int
    seconds: float


def write_predictions(db: sqlite3.Connection, rows: Sequence[PredictionRow]) -> None:
    """Store (or replace) predictions; the caller holds the transaction."""
    db.execute(PREDICTIONS_TABLE)
    db.executemany("INSERT OR REPLACE INTO predictions VALUES (?,?,?,?,?,?,?,?,?)", [
        (r.generation, r.key, r.position, json.dumps(list(r.genome)), r.model, r.predicted_error, r.predicted_std,
         r.fit_rows, r.seconds) for r in rows])


def read_predictions(db: sqlite3.Connection, generation: int | None = None) -> list[PredictionRow]:
    """Predictions of one generation (all if ``None``) by generation then position; ``[]`` for an archive
    without the table."""
    if db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'predictions'").fetchone() is None:
        return []
    where, args = ("WHERE generation = ?", (int(generation),)) if generation is not None else ("", ())
    found = db.execute(f"SELECT * FROM predictions {where} ORDER BY generation, position", args).fetchall()
    return [PredictionRow(int(g), k, int(p), tuple(json.loads(genome)), m, float(e), float(s), int(n), float(t))
            for g, k, p, genome, m, e, s, n, t in found]
