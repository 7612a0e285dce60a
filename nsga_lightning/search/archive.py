"""The run archive: one SQLite file (``archive.sqlite``) in the run directory.

Tables:
    ``meta(name PRIMARY KEY, value)``: ``fingerprint`` (sha256 of the canonical JSON of the configuration that
        affects results), ``config`` (that JSON), ``schema_version``, ``created``.
    ``architectures``: one row per evaluated architecture, committed as each finishes; ``key`` is the
        canonical key (PRIMARY KEY). Columns: genome (JSON), genotype (JSON), generation (first asked in),
        seed, status ('ok'/'failed'), error, madds, params (copies of the objectives for SQL queries),
        objectives (JSON, authoritative), seconds, error_text, created (UTC ISO time).
    ``generations``: one row per completed generation: population keys (JSON, survivor order), rank and
        crowding per member (JSON; null for failed members; crowding may be ``Infinity``), rng_state (JSON of
        ``Generator.bit_generator.state`` after survival, i.e. at the start of the next generation's mating),
        created.

The database runs in WAL mode with ``synchronous=FULL`` and commits every row at once, so a killed process
loses at most the candidate that was running.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from nsga_lightning.search.evaluator import Candidate, Evaluation
from nsga_lightning.search.records import (
    ArchiveRow,
    GenerationRow,
    archive_row,
    canonical_json,
    config_differences,
    fingerprint,
    generation_row,
    genotype_data,
    json_default,
    optional_float,
    optional_int,
)
from nsga_lightning.search.run_lock import RunDirectoryLock

FILENAME = "archive.sqlite"
SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS architectures (
    key TEXT PRIMARY KEY, genome TEXT NOT NULL, genotype TEXT, generation INTEGER NOT NULL,
    seed INTEGER NOT NULL, status TEXT NOT NULL CHECK (status IN ('ok', 'failed')),
    error REAL, madds INTEGER, params INTEGER, objectives TEXT NOT NULL,
    seconds REAL NOT NULL, error_text TEXT, created TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS generations (
    generation INTEGER PRIMARY KEY, population TEXT NOT NULL, rank TEXT NOT NULL, crowding TEXT NOT NULL,
    rng_state TEXT NOT NULL, created TEXT NOT NULL
);
"""
_ROW_COLUMNS = "key, genome, genotype, generation, seed, status, objectives, seconds, error_text, created"


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


class Archive:
    """The SQLite archive of one run.

    Args:
        run_dir: the run directory (created if missing); the database is ``run_dir/archive.sqlite``.
        config: the configuration that affects results. A new archive stores its fingerprint; an existing one
            must match it, unless nothing was evaluated in it yet (a search that stopped before its first
            candidate, e.g. on a wrong data path): such an archive takes the new configuration.
            ``None`` opens an existing archive for reading without the check.

    Raises:
        ValueError: if the archive was created with a different configuration.
        FileNotFoundError: if ``config`` is ``None`` and there is no archive.
        RunDirectoryInUseError: if ``config`` is given and another process is searching in ``run_dir``.
    """

    def __init__(self, run_dir: str | Path, config: Mapping[str, Any] | None = None) -> None:
        self.run_dir = Path(run_dir)
        self.path = self.run_dir / FILENAME
        if config is None and not self.path.exists():
            raise FileNotFoundError(f"no archive at {self.path}")
        self.run_dir.mkdir(parents=True, exist_ok=True)
        # a writer (given a config) holds the run directory's lock: a second search there is refused
        self._lock = RunDirectoryLock(self.run_dir) if config is not None else None
        try:
            self._db = sqlite3.connect(str(self.path), isolation_level=None)  # autocommit; explicit transactions
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.executescript(_SCHEMA)
            if config is not None:
                self._check_config(config)
        except BaseException:
            self.close()
            raise

    def _check_config(self, config: Mapping[str, Any]) -> None:
        """Store ``config``'s fingerprint in a new (or still empty) archive; refuse a different one otherwise."""
        text, digest = canonical_json(config), fingerprint(config)
        stored = self.meta()
        if stored.get("fingerprint") == digest:
            return
        if "fingerprint" in stored and not self._is_empty():
            differences = config_differences(json.loads(stored.get("config", "{}")), json.loads(text))
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

    def config(self) -> dict[str, Any]:
        """The stored configuration (empty if none)."""
        return json.loads(self.meta().get("config", "{}"))

    # -- architectures --------------------------------------------------------------------------------------

    def add(self, candidate: Candidate, evaluation: Evaluation) -> ArchiveRow:
        """Commit one evaluated candidate and return its row.

        Raises:
            ValueError: if the key is already archived or the evaluation belongs to another key.
        """
        if evaluation.key != candidate.key:
            raise ValueError(f"evaluation for {evaluation.key!r} given for candidate {candidate.key!r}")
        objectives = dict(evaluation.objectives) if evaluation.is_ok else {}
        values = (
            candidate.key,
            canonical_json([int(g) for g in candidate.genome]),
            canonical_json(genotype_data(candidate.genotype)),
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
        )
        try:
            with self._transaction():
                self._db.execute(
                    "INSERT INTO architectures (key, genome, genotype, generation, seed, status, error, "
                    "madds, params, objectives, seconds, error_text, created) "
                    "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                    values,
                )
        except sqlite3.IntegrityError as exc:
            raise ValueError(f"architecture {candidate.key!r} is already in the archive") from exc
        row = self.get(candidate.key)
        assert row is not None  # just inserted
        return row

    def get(self, key: str) -> ArchiveRow | None:
        """The row of ``key``, or ``None``."""
        found = self._db.execute(f"SELECT {_ROW_COLUMNS} FROM architectures WHERE key = ?", (key,)).fetchone()
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

    def rows(self, status: str | None = None) -> list[ArchiveRow]:
        """All rows (or those with ``status``), ordered by generation, then key."""
        sql = f"SELECT {_ROW_COLUMNS} FROM architectures"
        args: tuple = ()
        if status is not None:
            sql, args = sql + " WHERE status = ?", (status,)
        return [archive_row(r) for r in self._db.execute(sql + " ORDER BY generation, key", args).fetchall()]

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
            with self._transaction():
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

    # -- plumbing -------------------------------------------------------------------------------------------

    def _transaction(self) -> _Transaction:
        return _Transaction(self._db)

    def close(self) -> None:
        """Close the database connection and release the run directory's lock."""
        db = getattr(self, "_db", None)
        if db is not None:
            db.close()
        if self._lock is not None:
            self._lock.release()

    def __enter__(self) -> Archive:  # noqa: PYI034 - Self needs Python 3.11
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _Transaction:
    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def __enter__(self) -> None:
        self.db.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: object, *exc: object) -> None:
        self.db.execute("ROLLBACK" if exc_type else "COMMIT")
