"""Helpers of the parallel-search tests. Importable by worker processes (spawn passes this test folder on
``sys.path``), so the Lightning callback below can be given to workers as a trainer callback."""

from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import Any

from lightning.pytorch import Callback

from nsga_lightning.search import Archive


class KillWorkerAtKey(Callback):
    """SIGKILL the process that starts training ``key``, the first ``times`` times (counted in marker files,
    so the count survives the killed process)."""

    def __init__(self, key: str, folder: str | Path, times: int = 1) -> None:
        self.key, self.folder, self.times = key, str(folder), times

    def on_train_start(self, trainer: Any, pl_module: Any) -> None:
        if trainer.logger is None or str(trainer.logger.version) != self.key:
            return
        folder = Path(self.folder)
        folder.mkdir(parents=True, exist_ok=True)
        done = len(list(folder.glob("kill-*")))
        if done < self.times:
            (folder / f"kill-{done}").write_text(str(os.getpid()))
            os.kill(os.getpid(), signal.SIGKILL)


def processes_with_marker(marker: str) -> list[int]:
    """Live processes (not zombies) whose environment holds ``NSGA_TEST_MARKER=<marker>``."""
    found = []
    needle = f"NSGA_TEST_MARKER={marker}".encode()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if needle not in (entry / "environ").read_bytes().split(b"\0"):
                continue
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z":
            found.append(int(entry.name))
    return found


class RecordDevice(Callback):
    """Write, per candidate, what its worker sees: CUDA_VISIBLE_DEVICES, the visible device count and the CUDA
    memory allocated when its fit starts (a worker that frees its candidates starts each at the same level)."""

    def __init__(self, folder: str | Path) -> None:
        self.folder = str(folder)

    def on_fit_start(self, trainer: Any, pl_module: Any) -> None:
        import json

        import torch

        folder = Path(self.folder)
        folder.mkdir(parents=True, exist_ok=True)
        record = {"pid": os.getpid(), "visible": os.environ.get("CUDA_VISIBLE_DEVICES"),
                  "count": torch.cuda.device_count(), "device": str(pl_module.device),
                  "allocated_before_model": torch.cuda.memory_allocated() - sum(
                      p.numel() * p.element_size() for p in pl_module.parameters() if p.is_cuda)}
        (folder / f"{trainer.logger.version}.json").write_text(json.dumps(record))


def archive_snapshot(run_dir: Path) -> dict[str, Any]:
    """What must not depend on the worker count or backend: every row (key, genome, generation, seed, status,
    objectives), every generation (population, rank, crowding, RNG state) and the run fingerprint."""
    with Archive(run_dir) as archive:
        rows = [(r.key, r.genome, r.generation, r.seed, r.status, r.objectives) for r in archive.rows()]
        generations = [(g.generation, g.population, g.rank, g.crowding, g.rng_state) for g in archive.generations()]
        return {"rows": rows, "generations": generations, "fingerprint": archive.meta()["fingerprint"]}


class CrashAtKeys(Callback):
    """Make the process that starts training a key crash natively or hang: ``{key: "abort" | "segv" | "hang"}``."""

    def __init__(self, actions: dict[str, str]) -> None:
        self.actions = dict(actions)

    def on_train_start(self, trainer: Any, pl_module: Any) -> None:
        import ctypes
        import time

        action = self.actions.get(str(trainer.logger.version) if trainer.logger is not None else "")
        if action == "abort":
            os.abort()
        elif action == "segv":
            ctypes.string_at(0)  # an invalid read: SIGSEGV
        elif action == "hang":
            time.sleep(600)
