"""The archive and the run directory under faults: a damaged, truncated or foreign archive, a lost archive beside
old outputs, a read-only run directory, a full disk. Each is one clear error, the files stay untouched, and what
finished is never lost. The search runs with the fast analytic evaluator (no torch)."""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from search_helpers import AnalyticEvaluator, make_runner, snapshot

from nsga_lightning.errors import ArchiveError, ArchiveWriteError, RunDirectoryError
from nsga_lightning.search import Archive
from nsga_lightning.search.store.run_directory import RunDirectory


def _finished(run_dir: Path, **settings) -> Path:
    with make_runner(run_dir, **settings) as runner:
        runner.run()
    return run_dir


@contextlib.contextmanager
def _mounted(path: Path, options: str) -> Iterator[Path]:
    """A tmpfs mounted at ``path`` (root only; the test skips where mounting is not allowed)."""
    path.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a tmpfs needs root")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(path)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


@contextlib.contextmanager
def _read_only(folder: Path) -> Iterator[None]:
    """Make ``folder`` read-only for this process: chmod where that binds, else a read-only bind mount."""
    if os.geteuid() != 0:
        modes = {p: p.stat().st_mode for p in [folder, *folder.rglob("*")]}
        for p in modes:
            p.chmod(modes[p] & ~0o222)
        try:
            yield
        finally:
            for p, mode in modes.items():
                p.chmod(mode)
        return
    done = subprocess.run(["mount", "--bind", "-o", "ro", str(folder), str(folder)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot make a read-only bind mount here: {done.stderr.decode().strip()}")
    try:
        probe = subprocess.run(["touch", str(folder / ".probe")], capture_output=True)
        if probe.returncode == 0:
            (folder / ".probe").unlink()
            pytest.skip("the bind mount is not read-only here")
        yield
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


@pytest.mark.parametrize("damage", ["garbage", "truncated"])
def test_a_damaged_archive_is_one_error_and_stays_untouched(tmp_path, damage):
    run_dir = _finished(tmp_path / "run", n_gens=2)
    archive = run_dir / "archive.sqlite"
    if damage == "garbage":
        archive.write_bytes(b"this is not an sqlite database " * 200)
    else:
        with Archive(run_dir):
            pass  # the writer's WAL is checkpointed; keep only the first 2 pages of the file
        archive.write_bytes(archive.read_bytes()[:8192])
        for extra in run_dir.glob("archive.sqlite-*"):
            extra.unlink()
    before = archive.read_bytes()
    expected = "file is not a database" if damage == "garbage" else "malformed"
    with pytest.raises(ArchiveError, match=f"is not a readable search archive .*{expected}.*Nothing was changed"):
        make_runner(run_dir, n_gens=2)
    with pytest.raises(ArchiveError, match=expected):
        Archive(run_dir)  # the readers (report, draw) say the same
    assert archive.read_bytes() == before


def test_an_sqlite_file_of_something_else_is_refused_and_not_modified(tmp_path):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    db = sqlite3.connect(run_dir / "archive.sqlite")
    db.execute("CREATE TABLE things (name TEXT)")
    db.commit()
    db.close()
    before = (run_dir / "archive.sqlite").read_bytes()
    with pytest.raises(ArchiveError, match="an SQLite database but not a search archive .no table 'meta'"):
        make_runner(run_dir)
    with pytest.raises(ArchiveError, match="not a search archive"):
        Archive(run_dir)
    assert (run_dir / "archive.sqlite").read_bytes() == before
    assert not list(run_dir.glob("archive.sqlite-*"))


def test_an_archive_lacking_a_column_is_refused(tmp_path):
    run_dir = _finished(tmp_path / "run", n_gens=1)
    db = sqlite3.connect(run_dir / "archive.sqlite")
    db.execute("ALTER TABLE architectures RENAME COLUMN key TO name")
    db.commit()
    db.close()
    with pytest.raises(ArchiveError, match="table 'architectures' has no column 'key'"):
        Archive(run_dir)


@pytest.mark.parametrize("lost", ["empty", "missing"])
def test_a_lost_archive_beside_old_outputs_is_refused(tmp_path, lost):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "pareto.csv").write_text("key,error\n")
    if lost == "empty":
        (run_dir / "archive.sqlite").write_bytes(b"")
    with pytest.raises(ArchiveError, match="holds the outputs of an earlier search .pareto.csv.*nothing was changed"):
        make_runner(run_dir)
    assert (run_dir / "pareto.csv").read_text() == "key,error\n"


def test_an_empty_archive_without_outputs_starts_a_new_search(tmp_path):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "archive.sqlite").write_bytes(b"")
    _finished(run_dir, n_gens=1)
    assert snapshot(run_dir)["rows"] == snapshot(_finished(tmp_path / "other", n_gens=1))["rows"]


def test_a_read_only_run_directory_is_refused_for_writing_and_readable(tmp_path):
    run_dir = _finished(tmp_path / "run", n_gens=2)
    expected = snapshot(run_dir)
    with _read_only(run_dir):
        with pytest.raises(RunDirectoryError, match=f"cannot write the run directory {run_dir}"):
            make_runner(run_dir, n_gens=3)
        with Archive(run_dir) as archive:  # report and draw open it read-only
            assert len(archive) == len(expected["rows"])
            assert RunDirectory(run_dir).space(archive.config()).name == "micro"


def test_a_run_directory_under_a_read_only_parent_is_refused(tmp_path):
    parent = tmp_path / "parent"
    parent.mkdir()
    with _read_only(parent), pytest.raises(RunDirectoryError, match="cannot write the run directory"):
        make_runner(parent / "run")
    assert not (parent / "run").exists()


def test_a_full_disk_stops_the_search_with_one_error_and_loses_nothing(tmp_path):
    whole = _finished(tmp_path / "whole")
    with _mounted(tmp_path / "small", "size=1m") as disk:
        filler = disk / "filler"
        with filler.open("wb") as handle:  # leave about 160 KB: room for a few generations
            with contextlib.suppress(OSError):
                while True:
                    handle.write(b"\0" * 16384)
                    handle.flush()
        size = filler.stat().st_size
        os.truncate(filler, max(size - 160 * 1024, 0))
        run_dir = disk / "run"
        with pytest.raises(ArchiveWriteError) as caught:
            # a big error text per failure fills the disk fast
            with make_runner(run_dir, evaluator=AnalyticEvaluator()) as runner:
                runner.run()
        message = str(caught.value)
        assert "database or disk is full" in message
        assert "Nothing that finished was lost" in message and "run the same command again to resume" in message
        copy = tmp_path / "copy"
        copy.mkdir()
        for part in run_dir.glob("archive.sqlite*"):
            shutil.copy2(part, copy / part.name)
    with Archive(copy) as archive:
        kept = len(archive)
    assert kept > 0
    _finished(copy)  # the copied archive resumes
    assert snapshot(copy) == snapshot(whole)
