"""One local worker process: its body (build the evaluator once, then train the candidates the driver sends, one at a
time) and the driver's handle of it (start, stop, kill); the local pool
(:class:`~nsga_lightning.search.execution.local_pool.LocalPoolEvaluator`) dispatches to these handles.

Workers ignore Ctrl-C (the driver stops them) and die with the driver (``PR_SET_PDEATHSIG`` on Linux, else at their
next message); a worker told to stop exits without the interpreter's teardown. A spawned worker runs the driver's main
script again (as ``__mp_main__``) only where its factory needs something defined there (:func:`needs_main_module`):
otherwise a script without an ``if __name__ == "__main__":`` guard would start its search again in every worker.
"""

from __future__ import annotations

import io
import logging
import os
import pickle
import signal
import sys
import time
import traceback
import types
from collections.abc import Iterator
from contextlib import contextmanager
from multiprocessing.connection import Connection
from typing import Any

from nsga_lightning.search.core.evaluator import Candidate
from nsga_lightning.search.execution.factory import EvaluatorFactory
from nsga_lightning.search.execution.plans import WorkerPlan


def _die_with_parent() -> None:
    """Ask Linux to SIGKILL this process when the driver dies (no orphan keeps training)."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # not Linux: the worker stops at its next message instead
        pass


def worker_main(conn: Connection, factory: EvaluatorFactory, plan: WorkerPlan) -> None:
    """Body of a worker process: build the evaluator once, then train candidates until told to stop."""
    _die_with_parent()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the driver, which stops the workers
    os.environ.update(plan.env)  # before torch is imported: CUDA device and thread counts
    if plan.cores:
        os.sched_setaffinity(0, plan.cores)
    try:
        evaluator = factory()
        evaluator.prepare()
    except BaseException:  # noqa: BLE001 - reported to the driver, which stops the search
        conn.send(("error", traceback.format_exc()))
        return
    conn.send(("ready", os.getpid()))
    while True:
        try:
            candidate = conn.recv()
        except (EOFError, OSError):  # the driver is gone
            return
        if candidate is None:
            _exit_now()
        for evaluation in evaluator.evaluate([candidate]):
            conn.send(("result", evaluation))


def _exit_now() -> None:
    """End a worker told to stop without the interpreter's teardown.

    Tearing down a process that imported torch and Lightning takes about 2 s on a laptop core (measured), paid by
    every worker at the end of every search; nothing in a stopped worker needs it: every candidate's Trainer has
    closed its logger at the end of its fit and every result has been sent.
    """
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError, AttributeError):
            pass
    os._exit(0)


class _MainReferences(pickle.Pickler):
    """A pickler that notes whether anything is pickled by reference to the ``__main__`` module."""

    found = False

    def reducer_override(self, obj: Any) -> Any:
        if isinstance(obj, (type, types.FunctionType)) and getattr(obj, "__module__", None) == "__main__":
            self.found = True
        return NotImplemented


def needs_main_module(factory: EvaluatorFactory) -> bool:
    """Whether a worker needs the driver's main module to unpickle ``factory`` (a class or function defined there)."""
    finder = _MainReferences(io.BytesIO())
    try:
        finder.dump(factory)
    except Exception:  # noqa: BLE001 - pickling errors surface when the worker starts; keep spawn's default then
        return True
    return finder.found


@contextmanager
def _main_module_hidden(hide: bool) -> Iterator[None]:
    """While a worker is spawned, show it no main module to run again (spawn re-runs the driver's main script, or
    imports its ``-m`` module, as ``__mp_main__`` when ``__main__`` has a file or a spec)."""
    if not hide:
        yield
        return
    main = sys.modules["__main__"]
    sys.modules["__main__"] = types.ModuleType("__main__")
    try:
        yield
    finally:
        sys.modules["__main__"] = main


class WorkerHandle:
    """The driver's handle of one worker process (``with_main``: spawn runs the driver's main module again in the
    worker, for a factory that needs it)."""

    def __init__(self, context: Any, index: int, factory: EvaluatorFactory, plan: WorkerPlan,
                 with_main: bool = True) -> None:
        self.index = index
        self.conn, child = context.Pipe()
        self.process = context.Process(target=worker_main, args=(child, factory, plan),
                                       name=f"nsga-lightning-worker-{index}", daemon=True)
        self.started = time.perf_counter()
        with _main_module_hidden(not with_main):
            self.process.start()
        child.close()
        self.ready = False
        self.busy: tuple[Candidate, int, float] | None = None  # candidate, attempt, start time
        self.deadline: float | None = None  # when the busy candidate must be done (Deadlines' clock)

    def ask_to_stop(self) -> None:
        """Tell the worker to exit after its current message (it does not wait)."""
        if self.process.is_alive():
            try:
                self.conn.send(None)
            except (OSError, ValueError):
                pass

    def wait_or_kill(self, timeout: float = 5.0) -> None:
        """Wait for a worker told to stop to exit; kill it if it has not within ``timeout`` seconds."""
        if self.process.is_alive():
            self.process.join(timeout)
        if self.process.is_alive():
            self.process.kill()
            self.process.join(timeout)
        self.conn.close()

    def kill(self) -> None:
        """Kill the worker now (whatever it is training is lost) and close its pipe."""
        if self.process.is_alive():
            self.process.kill()
        self.process.join(5.0)
        self.conn.close()
