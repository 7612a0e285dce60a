"""An exclusive lock on a run directory, held by the one search that writes it.

Two searches writing one archive would train the same candidates twice and then fail on each other's rows,
so the second is refused with the first one's process id. The lock is an ``flock`` on the run directory's
lock file (``RunDirectory.lock``):
the operating system releases it when the holder closes it or dies (even by SIGKILL), so a killed search
never leaves a stale lock behind. Readers (``report``, ``draw``, TensorBoard) take no lock.
"""

from __future__ import annotations

import os
from pathlib import Path

from nsga_lightning.search.store.run_directory import RunDirectory

try:
    import fcntl
except ImportError:  # Windows: no flock; the run directory is then not locked
    fcntl = None  # type: ignore[assignment]

class RunDirectoryInUseError(BlockingIOError):
    """Another live process is searching in this run directory (the lock would block)."""


class RunDirectoryLock:
    """Hold the exclusive lock of ``run_dir`` (created if missing) until :meth:`release`.

    Args:
        run_dir: the run directory.

    Raises:
        RunDirectoryInUseError: if another process holds the lock.
        RunDirectoryError: if the lock file cannot be created (a read-only run directory).
    """

    def __init__(self, run_dir: str | Path | RunDirectory) -> None:
        run = RunDirectory(run_dir)
        run.create()
        self.path = run.lock
        try:
            self._file = open(self.path, "a+", encoding="utf-8")  # noqa: SIM115 - held open while locked
        except OSError as error:
            raise run.not_writable(error) from None
        if fcntl is None:
            return
        try:
            fcntl.flock(self._file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._file.seek(0)
            holder = self._file.read().strip() or "unknown"
            self._file.close()
            raise RunDirectoryInUseError(
                f"the run directory {self.path.parent} is in use by another search (process {holder}); "
                "wait for it or stop it, or give another run_dir"
            ) from None
        self._file.seek(0)
        self._file.truncate()
        self._file.write(str(os.getpid()))
        self._file.flush()

    def release(self) -> None:
        """Release the lock (idempotent)."""
        if not self._file.closed:
            if fcntl is not None:
                fcntl.flock(self._file.fileno(), fcntl.LOCK_UN)
            self._file.close()
