"""The run archive: one SQLite file in the run directory (``RunDirectory.archive``).

Tables:
    ``meta(name PRIMARY KEY, value)``: ``fingerprint`` (sha256 of the canonical JSON of the configuration that
        affects results), ``config`` (that JSON), ``schema_version``, ``created``, and ``runtime`` (JSON of
        the settings that may change float rounding but not the configuration, e.g. intra-op threads).
    ``architectures``: one row per evaluated architecture, committed as each finishes; ``key`` is the
        canonical key (PRIMARY KEY). Columns: genome (JSON), genotype (JSON), generation (first asked in),
        seed, status ('ok'/'failed'), error, madds, params (copies of the objectives for SQL queries),
        objectives (JSON, authoritative), seconds, error_text, created (UTC ISO time), sequence (1, 2, ...:
        the order in which results were committed, which the asynchronous mode replays on resume), epochs and
        fidelity (multi-fidelity runs: epochs trained and JSON ``{"epochs", "max_epochs", "errors": {rung
        epochs: error}}``; NULL otherwise). A promoted child's row is updated at each rung it reaches.
    ``generations``: one row per completed generation: population keys (JSON, survivor order), rank and
        crowding per member (JSON; null for failed members; crowding may be ``Infinity``), rng_state (JSON of
        ``Generator.bit_generator.state`` after survival, i.e. at the start of the next generation's mating),
        created.
    ``screened``: one row per child scored by the zero-cost pre-screen (``search.prescreen``): generation, key,
        score_name, score (NULL if it could not be computed), objectives (JSON complexity before training),
        selected (1 if it was trained), error_text.

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
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from nsga_lightning.search.core.evaluator import Candidate, Evaluation
from nsga_lightning.search.core.records import (
    ArchiveRow,
    GenerationRow,
    ScreenRow,
    archive_row,
    canonical_json,
    config_differences,
    fingerprint,
    generation_row,
    json_default,
    optional_float,
    optional_int,
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
)
from nsga_lightning.search.store.prediction_table import PredictionRow, read_predictions, write_predictions
from nsga_lightning.search.store.run_directory import RunDirectory
from nsga_lightning.search.store.run_lock import RunDirectoryLock
from nsga_lightning.search.store.screening_table import read_screening, write_screening
from nsga_lightning.spaces import genotype_to_data


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


class Archive:
    """The SQLite archive of one run.

    Args:
        run_dir: the run directory (a path or a :class:`RunDirectory`); the database is its ``archive`` path.
        config: the configuration that affects results. A writer (``config`` given) creates the run directory,
            holds its lock, stores the configuration's fingerprint in a new archive and refuses a different one
            in an existing archive, unless nothing was evaluated in it yet (a search that stopped before its
            first candidate, e.g. on a wrong data path): such an archive takes the new configuration.
            ``None`` opens an existing archive read-only (``report``, ``draw``, a read-only run directory).

    Raises:
        ValueError: if the archive was created with a different configuration.
        FileNotFoundError: if ``config`` is ``None`` and there is no archive.
        ArchiveError: if the file is damaged, truncated, not an SQLite database or another program's database,
            or empty while the run directory holds an earlier search's outputs; nothing is changed.
        RunDirectoryError: if a writer cannot create or write the run directory.
        RunDirectoryInUseError: if ``config`` is given and another process is searching in ``run_dir``.
    """

    def __init__(self, run_dir: str | Path | RunDirectory, config: Mapping[str, Any] | None = None) -> None:
        self.run = RunDirectory(run_dir)
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
        text, digest = canonical_json(config), fingerprint(config)
        stored = self.meta()
        if stored.get("fingerprint") == digest:
            return
        if "fingerprint" in stored and not self._is_empty():
            old = json.loads(stored.get("config", "{}"))
            if old.get("format") != config.get("format"):
                raise ValueError(
                    f"the run directory {self.run_dir} holds a search made by another version of nsga-lightning "
                    f"(configuration format {old.get('format', 1)}, this version writes {config.get('format')}); "
                    "finish it with that version or use a new run_dir")
            differences = config_differences(old, json.loads(text))
            raise ValueError(
                f"the run directory {self.run_dir} holds a search with a different configuration "
                f"(differs in: {differences}); resume with the original configuration or use a new run_dir"
            )
        with self._transaction():
            for name, value in (
                ("fingerprint", digest),
                ("config", text),
                ("schema_version", str(SCHEMA_VERSION)),
                ("created", _now()),
            ):
                self._db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (name, value))

    def _is_empty(self) -> bool:
        """Nothing evaluated and no generation recorded: no result depends on the stored configuration."""
        return len(self) == 0 and self.last_generation() is None

    def meta(self) -> dict[str, str]:
        """The ``meta`` table as a dict."""
        return dict(self._db.execute("SELECT name, value FROM meta").fetchall())

    def set_meta(self, name: str, value: Any) -> None:
        """Store ``value`` (JSON-encoded) under ``name`` in the ``meta`` table (writers only)."""
        with self._database_errors(), self._transaction():
            self._db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (name, canonical_json(value)))

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
        """Commit one evaluated candidate and return its row.

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
            if max_epochs is None:
                raise ValueError("a candidate trained to a rung needs max_epochs (the full epochs)")
            errors = dict(known.fidelity["errors"]) if known is not None and known.fidelity else {}
            if evaluation.is_ok:
                errors[str(candidate.epochs)] = float(objectives["error"])
            fidelity = {"epochs": int(candidate.epochs), "max_epochs": int(max_epochs), "errors": errors}
            if record_order:
                before = known.fidelity if known is not None and known.fidelity else {}
                completed = dict(before.get("completed", {}))
                completed[str(candidate.epochs)] = self._next_sequence()  # one writer: the run lock holds
                fidelity["completed"] = completed
                complexity = before.get("complexity") or {k: v for k, v in objectives.items() if k != "error"}
                if complexity:
                    fidelity["complexity"] = complexity
        if known is not None:
            if fidelity is None or known.epochs is None or known.epochs >= fidelity["epochs"]:
                raise ValueError(f"architecture {candidate.key!r} is already in the archive")
            return self._promote(candidate, evaluation, objectives, fidelity, known.seconds)
        values = (
            candidate.key,
            canonical_json([int(g) for g in candidate.genome]),
            canonical_json(genotype_to_data(candidate.genotype)),
            int(candidate.generation),
            int(candidate.seed),
            evaluation.status,
            objectives.get("error"),
            objectives.get("madds"),
            objectives.get("params"),
            json.dumps(objectives, sort_keys=True),
            float(evaluation.seconds),
            evaluation.error_text,
            _now(),
            None if fidelity is None else fidelity["epochs"],
            None if fidelity is None else json.dumps(fidelity, sort_keys=True),
        )
        try:
            with self._database_errors(), self._transaction():
                self._db.execute(
                    "INSERT INTO architectures (key, genome, genotype, generation, seed, status, error, "
                    "madds, params, objectives, seconds, error_text, created, epochs, fidelity, sequence) "
                    "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?, (SELECT COALESCE(MAX(sequence), 0) + 1 FROM architectures))",
                    values,
                )
        except sqlite3.IntegrityError as exc:
            raise ValueError(f"architecture {candidate.key!r} is already in the archive") from exc
        row = self.get(candidate.key)
        assert row is not None  # just inserted
        return row

    def _promote(self, candidate: Candidate, evaluation: Evaluation, objectives: dict[str, float],
                 fidelity: dict[str, Any], seconds_before: float) -> ArchiveRow:
        """Update the row of a child that reached a later rung."""
        values = (evaluation.status, objectives.get("error"), objectives.get("madds"), objectives.get("params"),
                  json.dumps(objectives, sort_keys=True), seconds_before + float(evaluation.seconds),
                  evaluation.error_text, _now(), fidelity["epochs"], json.dumps(fidelity, sort_keys=True),
                  candidate.key)
        with self._database_errors(), self._transaction():
            self._db.execute(
                "UPDATE architectures SET status = ?, error = ?, madds = ?, params = ?, objectives = ?, seconds = ?, "
                "error_text = ?, created = ?, epochs = ?, fidelity = ?, "
                "sequence = (SELECT MAX(sequence) + 1 FROM architectures) WHERE key = ?", values)
        row = self.get(candidate.key)
        assert row is not None  # just updated
        return row

    def _next_sequence(self) -> int:
        """The commit sequence the next write gets."""
        return int(self._db.execute("SELECT COALESCE(MAX(sequence), 0) + 1 FROM architectures").fetchone()[0])

    def get(self, key: str) -> ArchiveRow | None:
        """The row of ``key``, or ``None``."""
        found = self._db.execute(f"SELECT {self._columns} FROM architectures WHERE key = ?", (key,)).fetchone()
        return archive_row(found) if found else None

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
        sql = f"SELECT {self._columns} FROM architectures"
        args: tuple = ()
        if status is not None:
            sql, args = sql + " WHERE status = ?", (status,)
        orders = {"generation": "generation, key", "completion": "sequence, key"}
        if order not in orders:
            raise ValueError(f"unknown row order {order!r}; allowed: {', '.join(orders)}")
        return [archive_row(r) for r in self._db.execute(f"{sql} ORDER BY {orders[order]}", args).fetchall()]

    def keys(self, before_generation: int | None = None) -> set[str]:
        """Keys of all rows, or of those first asked for before ``before_generation``."""
        if before_generation is None:
            found = self._db.execute("SELECT key FROM architectures")
        else:
            found = self._db.execute(
                "SELECT key FROM architectures WHERE generation < ?", (before_generation,)
            )
        return {k for (k,) in found.fetchall()}

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
        values = (
            int(generation),
            json.dumps(list(population)),
            json.dumps([optional_int(r) for r in rank]),
            json.dumps([optional_float(c) for c in crowding]),
            json.dumps(rng_state, default=json_default),
            _now(),
        )
        try:
            with self._database_errors(), self._transaction():
                self._db.execute("INSERT INTO generations VALUES (?,?,?,?,?,?)", values)
        except sqlite3.IntegrityError as exc:
            raise ValueError(f"generation {generation} is already recorded in {self.path}") from exc
        return self.generation(generation)

    def generation(self, generation: int) -> GenerationRow:
        """The row of one generation.

        Raises:
            KeyError: if it is not recorded.
        """
        found = self._db.execute("SELECT * FROM generations WHERE generation = ?", (generation,)).fetchone()
        if found is None:
            raise KeyError(f"generation {generation} is not recorded in {self.path}")
        return generation_row(found)

    def generations(self) -> list[GenerationRow]:
        """All generation rows, in order."""
        return [generation_row(r) for r in self._db.execute("SELECT * FROM generations ORDER BY generation")]

    def last_generation(self) -> GenerationRow | None:
        """The last completed generation, or ``None`` before generation 0 completes."""
        found = self._db.execute("SELECT * FROM generations ORDER BY generation DESC LIMIT 1").fetchone()
        return generation_row(found) if found else None

    # -- pre-screen ---------------------------------------------------------------------------------------

    def record_screening(self, generation: int, rows: Sequence[ScreenRow]) -> None:
        """Commit a generation's screened children (``prescreen.py``) in one transaction."""
        with self._database_errors(), self._transaction():
            write_screening(self._db, generation, rows)

    def screening(self, generation: int | None = None) -> list[ScreenRow]:
        """The screened children of one generation, or of all (by generation, then key)."""
        return read_screening(self._db, generation)

    def record_predictions(self, rows: Sequence[PredictionRow]) -> None:
        """Commit the surrogate's chosen children with their predictions (``proposers/surrogate.py``)."""
        with self._database_errors(), self._transaction():
            write_predictions(self._db, rows)

    def predictions(self, generation: int | None = None) -> list[PredictionRow]:
        """The surrogate's predictions of one generation, or of all (by generation, then position)."""
        return read_predictions(self._db, generation)

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
