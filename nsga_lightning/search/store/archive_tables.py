"""The archive's side tables as methods of :class:`~nsga_lightning.search.store.archive.Archive` (a mixin, so
that the archive module keeps to the main tables): the pre-screen's ``screened``, the surrogate's ``predictions``
and the warm start's ``warm_start`` with the result rows it imports."""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Callable, Sequence
from typing import Any

from nsga_lightning.search.core.evaluator import Candidate, Evaluation
from nsga_lightning.search.core.records import ArchiveRow, ScreenRow, canonical_json
from nsga_lightning.search.store.architectures_table import insert_architecture
from nsga_lightning.search.store.archive_file import Transaction
from nsga_lightning.search.store.meta_table import write_meta
from nsga_lightning.search.store.prediction_table import PredictionRow, read_predictions, write_predictions
from nsga_lightning.search.store.screening_table import read_screening, write_screening
from nsga_lightning.search.store.warm_table import WarmRow, read_warm_rows, write_warm_rows

IMPORTED_GENERATION = -1  # the generation of a result row brought in by a warm start: before this search's first


class SideTables:
    """The side tables' methods; the archive provides ``_db``, ``path``, ``_database_errors`` and ``_transaction``."""

    _db: sqlite3.Connection
    path: Any
    _database_errors: Callable[[], contextlib.AbstractContextManager[None]]
    _transaction: Callable[[], Transaction]

    # -- pre-screen ---------------------------------------------------------------------------------------

    def record_screening(self, generation: int, rows: Sequence[ScreenRow]) -> None:
        """Commit a generation's screened children (``prescreen.py``) in one transaction."""
        with self._database_errors(), self._transaction():
            write_screening(self._db, generation, rows)

    def screening(self, generation: int | None = None) -> list[ScreenRow]:
        """The screened children of one generation, or of all (by generation, then key)."""
        return read_screening(self._db, generation)

    # -- surrogate ----------------------------------------------------------------------------------------

    def record_predictions(self, rows: Sequence[PredictionRow]) -> None:
        """Commit the surrogate's chosen children with their predictions (``proposers/surrogate.py``)."""
        with self._database_errors(), self._transaction():
            write_predictions(self._db, rows)

    def predictions(self, generation: int | None = None) -> list[PredictionRow]:
        """The surrogate's predictions of one generation, or of all (by generation, then position)."""
        return read_predictions(self._db, generation)

    # -- warm start ---------------------------------------------------------------------------------------

    def record_warm_start(self, rows: Sequence[WarmRow], results: Sequence[ArchiveRow], summary: Any) -> None:
        """Commit a warm start in one transaction: its rows, the result rows it imports (generation -1, their
        source's seed, objectives, time and rung record kept) and ``summary`` as the meta entry ``warm_start``,
        whose presence says the warm start is done.

        Raises:
            ValueError: if the warm start was recorded already or an imported key is archived.
        """
        try:
            with self._database_errors(), self._transaction():
                write_warm_rows(self._db, rows)
                for row in results:
                    insert_imported(self._db, row)
                write_meta(self._db, "warm_start", canonical_json(summary))
        except sqlite3.IntegrityError as exc:
            raise ValueError(f"the warm start of {self.path} is recorded already or imports an archived "
                             f"architecture ({exc})") from exc

    def warm_rows(self, use: str | None = None) -> list[WarmRow]:
        """What the warm start brought in (of one ``use``: ``result`` or ``prior``), by key."""
        return read_warm_rows(self._db, use)

    def own_counts(self, before_generation: int | None = None) -> tuple[int, int, int]:
        """``(architectures, their rung epochs, those without a rung record)`` this search trained (imported rows,
        generation -1, left out; those first asked before ``before_generation``), counted in SQL."""
        sql = ("SELECT COUNT(*), COALESCE(SUM(epochs), 0), COUNT(*) - COUNT(epochs) FROM architectures "
               "WHERE generation >= 0")
        args: tuple = ()
        if before_generation is not None:
            sql, args = sql + " AND generation < ?", (int(before_generation),)
        count, epochs, full = self._db.execute(sql, args).fetchone()
        return int(count), int(epochs), int(full)

    def imported_keys(self) -> set[str]:
        """Keys of the result rows a warm start imported (never trained by this search)."""
        return {r.key for r in read_warm_rows(self._db, "result")}


def insert_imported(db: sqlite3.Connection, row: ArchiveRow, generation: int = IMPORTED_GENERATION) -> None:
    """Insert a row evaluated elsewhere as it was (``generation``: where it goes here); the caller holds the
    transaction (``sqlite3.IntegrityError`` if the key is archived)."""
    candidate = Candidate(row.key, list(row.genome), int(generation), int(row.seed))
    evaluation = Evaluation(row.key, row.status, dict(row.objectives), float(row.seconds), row.error_text)
    insert_architecture(db, candidate, evaluation, dict(row.objectives), row.genotype, row.fidelity, row.created)


def import_rows(archive: Any, rows: Sequence[ArchiveRow]) -> None:
    """Insert exported rows into an archive that holds none, as they were (generation, seed, time, rung record),
    in their order (which becomes the commit order), in one transaction.

    Raises:
        ValueError: if the archive holds architectures already.
    """
    if len(archive):
        raise ValueError(f"{archive.path} holds {len(archive)} architectures already: import into a new run_dir")
    with archive._database_errors(), archive._transaction():
        for row in rows:
            insert_imported(archive._db, row, row.generation)
