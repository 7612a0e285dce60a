"""The run archive: one SQLite file in the run directory (``RunDirectory.archive``).

One module per table holds its SQL (``meta_table``, ``architectures_table``, ``generations_table``,
``screening_table``, ``prediction_table``, whose table is created at its first write); ``archive_file`` opens the
file and describes the tables.

The database runs in WAL mode with ``synchronous=FULL`` and commits every row at once, so a killed process
loses at most the candidates that were running. Readers open it read-only (``mode=ro``) and never write.
SQLite's errors (a damaged file, another program's database, a full disk) become one-line errors that say
what to do (:class:`~nsga_lightning.errors.ArchiveError`, :class:`~nsga_lightning.errors.ArchiveWriteError`).
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from nsga_lightning.search.core.evaluator import Candidate, Evaluation
from nsga_lightning.search.core.records import ArchiveRow, GenerationRow, canonical_json
from nsga_lightning.search.store.architectures_table import (
    insert_architecture,
    next_sequence,
    promote_architecture,
    select_keys,
    select_row,
    select_rows,
)
from nsga_lightning.search.store.archive_file import (
    SCHEMA_VERSION,
    Transaction,
    check_schema,
    connect,
    database_errors,
    migrate,
    refuse_lost_archive,
    row_columns,
    utc_now,
)
from nsga_lightning.search.store.archive_tables import SideTables
from nsga_lightning.search.store.generations_table import (
    read_generation,
    read_generations,
    read_last_generation,
    write_generation,
)
from nsga_lightning.search.store.meta_table import configuration_to_store, read_meta, write_meta
from nsga_lightning.search.store.run_directory import RunDirectory
from nsga_lightning.search.store.run_lock import RunDirectoryLock
from nsga_lightning.search.store.rung_record import rung_record
from nsga_lightning.spaces import SearchSpace


class Archive(SideTables):
    """The SQLite archive of one run.

    Args:
        run_dir: the run directory (a path or a :class:`RunDirectory`); the database is its ``archive`` path.
        config: the configuration that affects results. A writer (``config`` given) creates the run directory,
            holds its lock, stores the configuration's fingerprint in a new archive and refuses a different one
            in an existing archive, unless nothing was evaluated in it yet (a search that stopped before its
            first candidate, e.g. on a wrong data path): such an archive takes the new configuration.
            ``None`` opens an existing archive read-only (``report``, ``draw``, a read-only run directory).
        space: the search space, which says how a candidate's genotype is stored (``genotype_to_data``); without
            one no genotype is stored (``None``; readers never need it).

    Raises:
        ValueError: if the archive was created with a different configuration.
        FileNotFoundError: if ``config`` is ``None`` and there is no archive.
        ArchiveError: if the file is damaged, truncated, not an SQLite database or another program's database,
            or empty while the run directory holds an earlier search's outputs; nothing is changed.
        RunDirectoryError: if a writer cannot create or write the run directory.
        RunDirectoryInUseError: if ``config`` is given and another process is searching in ``run_dir``.
    """

    def __init__(self, run_dir: str | Path | RunDirectory, config: Mapping[str, Any] | None = None,
                 space: SearchSpace | None = None) -> None:
        self.run = RunDirectory(run_dir)
        self.space = space
        self.run_dir = self.run.path
        self.path = self.run.archive
        self.writable = config is not None
        self._lock: RunDirectoryLock | None = None
        self._db: sqlite3.Connection | None = None
        if not self.writable and not self.path.is_file():
            raise FileNotFoundError(f"no search archive at {self.path}: give the run_dir of a search "
                                    "(search.run_dir in its config)")
        if self.writable:
            self.run.create()
            refuse_lost_archive(self.run)
            # a writer holds the run directory's lock: a second search there is refused
            self._lock = RunDirectoryLock(self.run)
        try:
            with self._database_errors():
                self._db = connect(self.run, self.writable)
                check_schema(self._db, self.run)
                if self.writable:
                    self._check_config(config)
                    migrate(self._db)
                self._columns = row_columns(self._db)
        except BaseException:
            self.close()
            raise

    def _database_errors(self) -> contextlib.AbstractContextManager[None]:
        return database_errors(self.run, self.__len__)

    def _check_config(self, config: Mapping[str, Any]) -> None:
        """Store ``config``'s fingerprint in a new (or still empty) archive; refuse a different one otherwise."""
        entries = configuration_to_store(self._db, self.run_dir, config, self._is_empty)
        if entries is None:
            return
        with self._transaction():
            for name, value in (*entries.items(), ("schema_version", str(SCHEMA_VERSION)), ("created", utc_now())):
                write_meta(self._db, name, value)

    def _is_empty(self) -> bool:
        """Nothing evaluated and no generation recorded: no result depends on the stored configuration."""
        return len(self) == 0 and self.last_generation() is None

    def meta(self) -> dict[str, str]:
        """The ``meta`` table as a dict."""
        return read_meta(self._db)

    def set_meta(self, name: str, value: Any) -> None:
        """Store ``value`` (JSON-encoded) under ``name`` in the ``meta`` table (writers only)."""
        with self._database_errors(), self._transaction():
            write_meta(self._db, name, canonical_json(value))

    def meta_json(self, name: str) -> Any:
        """A JSON value stored with :meth:`set_meta`, or ``None``."""
        text = self.meta().get(name)
        return None if text is None else json.loads(text)

    def config(self) -> dict[str, Any]:
        """The stored configuration (empty if none)."""
        return json.loads(self.meta().get("config", "{}"))

    # -- architectures --------------------------------------------------------------------------------------

    def add(self, candidate: Candidate, evaluation: Evaluation, max_epochs: int | None = None,
            record_order: bool = False) -> ArchiveRow:
        """Commit one evaluated candidate and return its row; its genotype is stored as the space's
        ``genotype_to_data`` gives it.

        A candidate trained to a rung (``candidate.epochs`` set; ``max_epochs`` the full epochs) records its rung
        error; at a later rung the same key's row is updated: objectives, status and epochs become the new
        rung's, the rung errors accumulate and the seconds add up. With ``record_order`` (asynchronous rungs) the
        row also keeps each rung result's commit sequence (``completed``) and the complexity objectives of its
        first ok result (``complexity``, kept if a later rung fails), from which a resume replays the decisions.

        Raises:
            ValueError: if the key is already archived (at this or a later rung) or the evaluation belongs to
                another key.
        """
        if evaluation.key != candidate.key:
            raise ValueError(f"evaluation for {evaluation.key!r} given for candidate {candidate.key!r}")
        objectives = dict(evaluation.objectives) if evaluation.is_ok else {}
        known = self.get(candidate.key)
        fidelity = None
        if candidate.epochs is not None:
            fidelity = rung_record(known, candidate.epochs, max_epochs, evaluation.is_ok, objectives, record_order,
                                   lambda: next_sequence(self._db))
        if known is not None:
            if fidelity is None or known.epochs is None or known.epochs >= fidelity["epochs"]:
                raise ValueError(f"architecture {candidate.key!r} is already in the archive")
            with self._database_errors(), self._transaction():
                promote_architecture(self._db, candidate.key, evaluation, objectives, fidelity,
                                     known.seconds + float(evaluation.seconds), utc_now())
        else:
            genotype = None if candidate.genotype is None or self.space is None else (
                self.space.genotype_to_data(candidate.genotype))
            try:
                with self._database_errors(), self._transaction():
                    insert_architecture(self._db, candidate, evaluation, objectives, genotype, fidelity, utc_now())
            except sqlite3.IntegrityError as exc:
                raise ValueError(f"architecture {candidate.key!r} is already in the archive") from exc
        row = self.get(candidate.key)
        assert row is not None  # just written
        return row

    def get(self, key: str) -> ArchiveRow | None:
        """The row of ``key``, or ``None``."""
        return select_row(self._db, self._columns, key)

    def get_many(self, keys: Sequence[str]) -> list[ArchiveRow]:
        """Rows of ``keys`` in that order.

        Raises:
            KeyError: naming a key that is not archived.
        """
        out = []
        for key in keys:
            row = self.get(key)
            if row is None:
                raise KeyError(f"architecture {key!r} is not in the archive {self.path}")
            out.append(row)
        return out

    def rows(self, status: str | None = None, order: str = "generation") -> list[ArchiveRow]:
        """All rows (or those with ``status``): ``order="generation"`` by generation, then key;
        ``order="completion"`` in the order they were committed."""
        return select_rows(self._db, self._columns, status, order)

    def keys(self, before_generation: int | None = None) -> set[str]:
        """Keys of all rows, or of those first asked for before ``before_generation``."""
        return select_keys(self._db, before_generation)

    def __contains__(self, key: object) -> bool:
        return self._db.execute("SELECT 1 FROM architectures WHERE key = ?", (key,)).fetchone() is not None

    def __len__(self) -> int:
        return int(self._db.execute("SELECT COUNT(*) FROM architectures").fetchone()[0])

    # -- generations ----------------------------------------------------------------------------------------

    def record_generation(
        self,
        generation: int,
        population: Sequence[str],
        rank: Sequence[int | None],
        crowding: Sequence[float | None],
        rng_state: Mapping[str, Any],
    ) -> GenerationRow:
        """Commit the row of a completed generation (replacing none: a generation is recorded once).

        Raises:
            ValueError: if the generation is already recorded.
        """
        try:
            with self._database_errors(), self._transaction():
                write_generation(self._db, generation, population, rank, crowding, rng_state, utc_now())
        except sqlite3.IntegrityError as exc:
            raise ValueError(f"generation {generation} is already recorded in {self.path}") from exc
        return self.generation(generation)

    def generation(self, generation: int) -> GenerationRow:
        """The row of one generation.

        Raises:
            KeyError: if it is not recorded.
        """
        found = read_generation(self._db, generation)
        if found is None:
            raise KeyError(f"generation {generation} is not recorded in {self.path}")
        return found

    def generations(self) -> list[GenerationRow]:
        """All generation rows, in order."""
        return read_generations(self._db)

    def last_generation(self) -> GenerationRow | None:
        """The last completed generation, or ``None`` before generation 0 completes."""
        return read_last_generation(self._db)

    # -- plumbing -------------------------------------------------------------------------------------------

    def _transaction(self) -> Transaction:
        return Transaction(self._db)

    def close(self) -> None:
        """Close the database connection and release the run directory's lock."""
        if self._db is not None:
            self._db.close()
            self._db = None
        if self._lock is not None:
            self._lock.release()

    def __enter__(self) -> Archive:  # noqa: PYI034 - Self needs Python 3.11
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
