"""The archive's SQLite file: its schema, opening it for writing or read-only, and SQLite's errors as
one-line user errors (a damaged file, another program's database, a lost archive, a full disk).

Tables:
    ``meta(name PRIMARY KEY, value)``: ``fingerprint`` (sha256 of the canonical JSON of the configuration that
        affects results), ``config`` (that JSON), ``schema_version``, ``created``, and ``runtime`` (JSON of
        the settings that may change float rounding but not the configuration, e.g. intra-op threads).
    ``architectures``: one row per evaluated architecture, committed as each finishes; ``key`` is the
        canonical key (PRIMARY KEY). Columns: genome (JSON), genotype (JSON: the space's
        ``genotype_to_data``), generation (first asked in), seed, status ('ok'/'failed'), error, madds, params
        (copies of those objectives for SQL queries; NULL where the search's objectives are others),
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
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timezone

from nsga_lightning.errors import ArchiveError, ArchiveWriteError
from nsga_lightning.search.store.run_directory import RunDirectory
from nsga_lightning.search.store.screening_table import SCREENED_TABLE

SCHEMA_VERSION = 3

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS architectures (
    key TEXT PRIMARY KEY, genome TEXT NOT NULL, genotype TEXT, generation INTEGER NOT NULL,
    seed INTEGER NOT NULL, status TEXT NOT NULL CHECK (status IN ('ok', 'failed')),
    error REAL, madds INTEGER, params INTEGER, objectives TEXT NOT NULL,
    seconds REAL NOT NULL, error_text TEXT, created TEXT NOT NULL, sequence INTEGER, epochs INTEGER, fidelity TEXT
);
CREATE TABLE IF NOT EXISTS generations (
    generation INTEGER PRIMARY KEY, population TEXT NOT NULL, rank TEXT NOT NULL, crowding TEXT NOT NULL,
    rng_state TEXT NOT NULL, created TEXT NOT NULL
);
""" + SCREENED_TABLE
# columns every archive has (schema 1 and later); a file without them is some other SQLite database
REQUIRED = {
    "meta": ("name", "value"),
    "architectures": ("key", "genome", "genotype", "generation", "seed", "status", "objectives", "seconds",
                      "error_text", "created"),
    "generations": ("generation", "population", "rank", "crowding", "rng_state", "created"),
}
ROW_COLUMNS = "key, genome, genotype, generation, seed, status, objectives, seconds, error_text, created, fidelity"


def utc_now() -> str:
    """The time of a write as the ``created`` columns store it: UTC, ISO 8601, milliseconds."""
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


def row_columns(db: sqlite3.Connection) -> str:
    """The SELECT list of an archive row: :data:`ROW_COLUMNS`, with ``NULL`` for the fidelity of an archive
    older than schema 3 opened read-only (a writer migrates it first)."""
    present = {row[1] for row in db.execute("PRAGMA table_info(architectures)").fetchall()}
    return ROW_COLUMNS if "fidelity" in present else ROW_COLUMNS.replace("fidelity", "NULL")


def connect(run: RunDirectory, writable: bool) -> sqlite3.Connection:
    """Open the archive of ``run``: a writer sets WAL mode and creates missing tables; a reader opens the file
    read-only (``mode=ro``; ``immutable`` where a read-only folder lacks the WAL index) and writes nothing."""
    path = run.archive
    if writable:
        db = sqlite3.connect(str(path), isolation_level=None)  # autocommit; explicit transactions
        try:
            # another program's database is refused before anything is written to it
            if db.execute("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table'").fetchone()[0]:
                check_schema(db, run)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=FULL")
            db.executescript(SCHEMA)
        except BaseException:
            db.close()
            raise
        return db
    uri = path.resolve().as_uri()
    try:
        db = sqlite3.connect(f"{uri}?mode=ro", uri=True, isolation_level=None)
        db.execute("SELECT 1 FROM sqlite_master LIMIT 1").fetchall()
        return db
    except sqlite3.OperationalError:  # a WAL archive in a read-only folder without its -shm file
        return sqlite3.connect(f"{uri}?immutable=1", uri=True, isolation_level=None)


def check_schema(db: sqlite3.Connection, run: RunDirectory) -> None:
    """Refuse an SQLite file that is not a search archive (a table or column is missing).

    Raises:
        ArchiveError: naming what is missing.
    """
    for table, columns in REQUIRED.items():
        present = {row[1] for row in db.execute(f"PRAGMA table_info({table})").fetchall()}
        if not present:
            raise foreign_database(run, f"no table {table!r}")
        missing = [c for c in columns if c not in present]
        if missing:
            raise foreign_database(run, f"table {table!r} has no column {missing[0]!r}")


def migrate(db: sqlite3.Connection) -> None:
    """Bring an archive of an older schema up to :data:`SCHEMA_VERSION` (adds columns, keeps every row)."""
    present = {row[1] for row in db.execute("PRAGMA table_info(architectures)").fetchall()}
    if "sequence" not in present:  # schema 1: completion order = insertion order (rowid)
        with Transaction(db):
            db.execute("ALTER TABLE architectures ADD COLUMN sequence INTEGER")
            db.execute("UPDATE architectures SET sequence = rowid")
    if "fidelity" not in present:  # schema 2: no multi-fidelity rows
        with Transaction(db):
            db.execute("ALTER TABLE architectures ADD COLUMN epochs INTEGER")
            db.execute("ALTER TABLE architectures ADD COLUMN fidelity TEXT")


def refuse_lost_archive(run: RunDirectory) -> None:
    """A missing or empty archive file beside an earlier search's outputs means the archive was lost:
    starting anew would overwrite those outputs.

    Raises:
        ArchiveError: naming the outputs and what to do.
    """
    if not run.archive.is_file() or run.archive.stat().st_size == 0:
        outputs = run.outputs()
        if outputs:
            names = ", ".join(p.name for p in outputs)
            state = "is empty (0 bytes)" if run.archive.is_file() else "is missing"
            raise ArchiveError(
                f"{run.archive} {state} but {run.path} holds the outputs of an earlier search "
                f"({names}): the archive was lost or truncated. Restore it, or remove the outputs or use a "
                "new run_dir to start again; nothing was changed")


@contextmanager
def database_errors(run: RunDirectory, count: Callable[[], int] | None = None) -> Iterator[None]:
    """Turn SQLite's errors into one-line user errors that say what to do.

    Args:
        run: the run directory (for the messages).
        count: the number of archived rows, for the message of a failed write.
    """
    try:
        yield
    except sqlite3.IntegrityError:  # a constraint of our own schema: the caller says what it means
        raise
    except sqlite3.OperationalError as error:
        text = str(error)
        if "full" in text or "readonly" in text or "disk I/O" in text:
            raise write_error(run, error, count) from None
        if "no such" in text or "has no column" in text:
            raise foreign_database(run, text) from None
        raise damaged(run, error) from None
    except sqlite3.DatabaseError as error:
        raise damaged(run, error) from None


def damaged(run: RunDirectory, error: Exception) -> ArchiveError:
    """The error of an archive file that SQLite cannot read."""
    return ArchiveError(
        f"{run.archive} is not a readable search archive ({error}): the file is damaged, truncated or no "
        f"SQLite database. Nothing was changed; restore it from a backup, or move it away (e.g. to "
        f"{run.archive.name}.damaged) to start a new search in this run_dir")


def foreign_database(run: RunDirectory, what: str) -> ArchiveError:
    """The error of an SQLite file that belongs to something else."""
    return ArchiveError(
        f"{run.archive} is an SQLite database but not a search archive ({what}). Nothing was changed; give the "
        "run_dir of a search, or move the file away to start a new search here")


def write_error(run: RunDirectory, error: Exception, count: Callable[[], int] | None) -> ArchiveWriteError:
    """The error of a failed write: nothing that finished is lost, and how to resume."""
    try:
        kept = f"{count()} architectures are in the archive" if count else "every committed row is kept"
    except sqlite3.Error:
        kept = "every committed row is kept"
    return ArchiveWriteError(
        f"could not write {run.archive}: {error}. Nothing that finished was lost ({kept}); free disk space "
        "(or make the run directory writable) and run the same command again to resume")


class Transaction:
    """``BEGIN IMMEDIATE`` ... ``COMMIT`` (``ROLLBACK`` on an exception)."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def __enter__(self) -> None:
        self.db.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: object, *exc: object) -> None:
        if exc_type is None:
            self.db.execute("COMMIT")
        elif self.db.in_transaction:
            self.db.execute("ROLLBACK")
