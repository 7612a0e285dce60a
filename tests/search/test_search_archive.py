"""The SQLite archive: rows, generations, WAL, and the configuration fingerprint."""

from __future__ import annotations

import math
import os
import signal
import sqlite3
import subprocess
import sys

import numpy as np
import pytest
from search_helpers import space_by_name

from nsga_lightning.search import Archive, Candidate, Evaluation
from nsga_lightning.search.store.run_lock import RunDirectoryInUseError

CONFIG = {"space": {"name": "micro"}, "pop_size": 10, "seed": 0}


def candidate(key: str = "k1", generation: int = 0) -> Candidate:
    space = space_by_name("micro")
    genome = space.sample(np.random.default_rng(0), 1)[0].tolist()
    return Candidate(key, genome, generation, 42, space.decode(genome))


def test_rows_round_trip_and_are_never_added_twice(tmp_path):
    with Archive(tmp_path, CONFIG, space_by_name("micro")) as archive:
        row = archive.add(candidate(), Evaluation.ok("k1", {"error": 12.5, "madds": 300, "params": 10}, 1.5))
        assert row.objectives == {"error": 12.5, "madds": 300, "params": 10} and row.is_ok and row.seed == 42
        assert row.genotype["normal_concat"] and "k1" in archive and len(archive) == 1
        assert row.as_dict()["madds"] == 300 and row.as_dict()["status"] == "ok"
        failed = archive.add(
            candidate("k2", 1), Evaluation.failed("k2", "Traceback ...\nRuntimeError: boom", 0.1)
        )
        assert failed.status == "failed" and failed.error_text.endswith("boom") and failed.objectives == {}
        with pytest.raises(ValueError, match="already in the archive"):
            archive.add(candidate(), Evaluation.ok("k1", {"error": 1.0, "madds": 1, "params": 1}))
        assert archive.keys(before_generation=1) == {"k1"} and archive.keys() == {"k1", "k2"}
        assert [r.key for r in archive.rows(status="failed")] == ["k2"]
        assert archive._db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    db = sqlite3.connect(str(tmp_path / "archive.sqlite"))
    assert db.execute("SELECT error, madds, params FROM architectures WHERE key='k1'").fetchone() == (
        12.5,
        300,
        10,
    )


def test_generation_rows_round_trip_with_rng_state_and_infinite_crowding(tmp_path):
    rng = np.random.default_rng(3)
    rng.random(5)
    with Archive(tmp_path, CONFIG) as archive:
        assert archive.last_generation() is None
        archive.record_generation(
            0, ["a", "b", "c"], [0, 0, None], [math.inf, 0.25, None], rng.bit_generator.state
        )
        with pytest.raises(ValueError, match="already recorded"):
            archive.record_generation(0, [], [], [], rng.bit_generator.state)
    with Archive(tmp_path) as archive:  # read-only use, no configuration check
        last = archive.last_generation()
    assert last.population == ["a", "b", "c"] and last.rank == [0, 0, None]
    assert last.crowding == [math.inf, 0.25, None]
    restored = np.random.Generator(np.random.PCG64())
    restored.bit_generator.state = last.rng_state
    assert restored.random() == rng.random()


def test_a_different_configuration_is_refused_with_a_clear_message(tmp_path):
    with Archive(tmp_path, CONFIG) as archive:
        archive.add(candidate(), Evaluation.failed("k1", "RuntimeError: boom", 0.1))
    Archive(tmp_path, dict(CONFIG)).close()  # same configuration: fine
    with pytest.raises(ValueError, match=r"pop_size: stored 10 -> given 20.*new run_dir"):
        Archive(tmp_path, {**CONFIG, "pop_size": 20})


def test_an_archive_with_nothing_evaluated_takes_a_new_configuration(tmp_path):
    """A search that stopped before its first candidate (e.g. a wrong data path) must not lock its run_dir."""
    Archive(tmp_path, CONFIG).close()
    changed = {**CONFIG, "pop_size": 20}
    with Archive(tmp_path, changed) as archive:
        assert archive.config() == changed
    with pytest.raises(ValueError, match=r"pop_size: stored 20 -> given 10"):
        with Archive(tmp_path, changed) as archive:
            archive.add(candidate(), Evaluation.ok("k1", {"error": 1.0, "madds": 1, "params": 1}))
        Archive(tmp_path, CONFIG)


def test_opening_a_missing_archive_read_only_fails(tmp_path):
    with pytest.raises(FileNotFoundError):
        Archive(tmp_path / "nothing")


def test_a_second_writer_is_refused_while_readers_are_welcome(tmp_path):
    with Archive(tmp_path, CONFIG) as archive:
        archive.add(candidate(), Evaluation.failed("k1", "RuntimeError: boom", 0.1))
        with pytest.raises(RunDirectoryInUseError, match=rf"in use by another search \(process {os.getpid()}\)"):
            Archive(tmp_path, CONFIG)
        with Archive(tmp_path) as reader:  # report, draw: no lock
            assert reader.keys() == {"k1"}
    with Archive(tmp_path, CONFIG) as archive:  # released on close
        assert len(archive) == 1


def test_a_killed_writer_leaves_no_stale_lock(tmp_path):
    script = (
        "import time; from nsga_lightning.search.store.run_lock import RunDirectoryLock; "
        f"lock = RunDirectoryLock({str(tmp_path)!r}); print('locked', flush=True); time.sleep(60)"
    )
    holder = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(RunDirectoryInUseError, match=rf"process {holder.pid}\)"):
            Archive(tmp_path, CONFIG)
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=30)
        holder.stdout.close()
    with Archive(tmp_path, CONFIG) as archive:
        assert len(archive) == 0
