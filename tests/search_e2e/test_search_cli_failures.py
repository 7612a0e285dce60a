"""``nsga-lightning search`` when candidates fail and when the user presses Ctrl-C: the search records the
failures and goes on; Ctrl-C stops it cleanly with what finished saved, and the same command resumes it."""

from __future__ import annotations

import logging
import os
import signal
import sqlite3
from typing import Any, ClassVar

import pytest
import torch
from e2e_helpers import N_CANDIDATES, N_GENS, run_cli, write_search
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from nsga_lightning.module import ArchitectureModule
from nsga_lightning.search import Archive, pareto_front
from nsga_lightning.search.store.run_lock import RunDirectoryLock
from nsga_lightning.search.training import trainer_evaluator


class ScriptedModule(ArchitectureModule):
    """ArchitectureModule whose n-th trained instance (counting from 1) misbehaves as ``SCRIPT`` says."""

    SCRIPT: ClassVar[dict[int, str]] = {}
    built: ClassVar[int] = 0  # instances that started training (the options check builds one that does not)
    action: str | None = None

    def on_fit_start(self) -> None:
        super().on_fit_start()
        type(self).built += 1
        self.action = self.SCRIPT.get(type(self).built)

    def training_step(self, batch: Any, batch_idx: int) -> Any:
        loss = super().training_step(batch, batch_idx)
        if self.action == "nan":
            return loss * float("nan")
        if self.action == "raise":
            raise RuntimeError("injected failure of this architecture")
        if self.action == "oom":  # what the CUDA caching allocator raises when the device is full
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB (injected)")
        if self.action == "ctrl-c":
            os.kill(os.getpid(), signal.SIGINT)  # a real SIGINT, as from the terminal
        return loss


# the scripted module is patched into this process: its candidates must train here, not in an isolated worker
IN_PROCESS = ("--search.isolation", "none")


@pytest.fixture
def scripted(monkeypatch: pytest.MonkeyPatch):
    """Make the evaluator build :class:`ScriptedModule`; returns a setter of the script."""

    def script(actions: dict[int, str]) -> None:
        monkeypatch.setattr(ScriptedModule, "SCRIPT", dict(actions))
        monkeypatch.setattr(ScriptedModule, "built", 0)

    monkeypatch.setattr(trainer_evaluator, "ArchitectureModule", ScriptedModule)
    return script


def _table(run_dir, sql: str) -> list[tuple]:
    with sqlite3.connect(run_dir / "archive.sqlite") as db:
        return db.execute(sql).fetchall()


def test_failing_candidates_are_recorded_and_the_search_goes_on(workdir, scripted):
    scripted({2: "nan", 3: "raise", 5: "oom"})
    config = write_search(workdir, "micro")
    result = run_cli("search", "--config", str(config), *IN_PROCESS)
    assert result.code == 0, result.err
    with Archive(workdir / "run") as archive:
        rows = archive.rows()
        assert [g.generation for g in archive.generations()] == list(range(N_GENS))
    assert len(rows) == N_CANDIDATES
    failed = [row for row in rows if not row.is_ok]
    assert len(failed) == 3
    texts = sorted(row.error_text for row in failed)
    assert any("NonFiniteLossError: non-finite training loss nan" in text for text in texts)
    assert any("RuntimeError: injected failure of this architecture" in text for text in texts)
    assert any("OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB" in text for text in texts)
    assert all(row.objectives == {} for row in failed)
    front_keys = {row.key for row in pareto_front(rows, ("error", "madds"))}
    assert not front_keys & {row.key for row in failed}
    assert (workdir / "run" / "pareto.csv").read_text().count("\n") == 1 + len(front_keys)
    search = EventAccumulator(str(workdir / "run" / "tensorboard" / "search"))
    search.Reload()
    assert [event.value for event in search.Scalars("search/failed")] == [2.0, 1.0]  # per generation


def test_ctrl_c_stops_cleanly_and_the_same_command_resumes(workdir, scripted, caplog):
    handler = signal.getsignal(signal.SIGINT)
    scripted({3: "ctrl-c"})
    config = write_search(workdir, "micro")
    with caplog.at_level(logging.WARNING):
        result = run_cli("search", "--config", str(config), *IN_PROCESS)
    assert result.code == 130
    assert "Traceback" not in result.err
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1 and warnings[0].startswith("search interrupted after 0 complete generation(s); 2 ")
    assert signal.getsignal(signal.SIGINT) is handler  # Lightning's SIG_IGN after Ctrl-C is undone
    saved = _table(workdir / "run", "SELECT key, created FROM architectures ORDER BY key")
    assert len(saved) == 2 and _table(workdir / "run", "SELECT * FROM generations") == []

    scripted({})
    result = run_cli("search", "--config", str(config), *IN_PROCESS)
    assert result.code == 0, result.err
    assert f"{N_CANDIDATES - 2} architectures trained in this session, {N_CANDIDATES} in the archive" in result.out
    rows = _table(workdir / "run", "SELECT key, created, status FROM architectures ORDER BY key")
    assert len(rows) == N_CANDIDATES and all(status == "ok" for *_, status in rows)
    assert set(saved) <= {(key, created) for key, created, _ in rows}  # not trained again


def test_missing_data_is_one_clear_line_before_any_training(workdir):
    config = write_search(workdir, "micro")
    (workdir / "data" / "cifar-10-batches-py" / "data_batch_3").unlink()
    result = run_cli("search", "--config", str(config))
    assert result.code == 2
    lines = result.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("nsga-lightning: error:") and "data_batch_3" in lines[0]
    assert not (workdir / "run").exists()  # nothing created: the fixed command starts afresh


def test_an_invalid_setting_is_one_clear_line_and_creates_nothing(workdir):
    config = write_search(workdir, "micro")
    result = run_cli("search", "--config", str(config), "--search.pop_size", "1")
    assert result.code == 2
    assert result.err.strip() == "nsga-lightning: error: pop_size must be an integer >= 2, got 1"
    assert not (workdir / "run").exists()


def test_a_misspelt_trainer_option_stops_the_search_before_any_candidate(workdir):
    config = write_search(workdir, "micro")
    result = run_cli("search", "--config", str(config), "--trainer", '{"max_epochs": 1, "precison": "16-mixed"}')
    assert result.code == 2
    (line,) = [line for line in result.err.splitlines() if line.startswith("nsga-lightning: error:")]
    assert "unknown option trainer.precison; did you mean precision?" in line
    assert not (workdir / "run").exists()


def test_a_second_search_on_a_run_directory_in_use_is_one_clear_line(workdir):
    config = write_search(workdir, "micro")
    lock = RunDirectoryLock(workdir / "run")  # as a search running in another process would hold it
    try:
        result = run_cli("search", "--config", str(config))
    finally:
        lock.release()
    assert result.code == 2
    (line,) = [line for line in result.err.splitlines() if line.startswith("nsga-lightning: error:")]
    assert f"is in use by another search (process {os.getpid()})" in line
    assert not (workdir / "run" / "archive.sqlite").exists()
