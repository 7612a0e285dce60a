"""LocalPoolEvaluator: candidates trained in parallel by worker processes on this machine.

Each worker is a spawned process that builds its evaluator once with the factory it is given (the search's
builder rebuilds the trainer evaluator from the plain settings: datamodule, proxy options, Trainer options; never
pickled live objects; a user's own evaluator arrives as a pickled copy), and then
trains the candidates the driver sends it, one at a time, with the same per-candidate seed, thread count and
TensorBoard run name as a sequential search. The driver dispatches a candidate as soon as a worker is free and
yields each result as it arrives; only the driver writes the archive.

Every worker has its own pipe to the driver (a dying worker cannot corrupt a shared queue) and is watched by its
process sentinel: a worker that dies mid-candidate (a native crash such as SIGSEGV or SIGABRT, killed, out of
memory) is replaced and its candidate tried once more, then recorded as failed with the cause (the signal's name);
a candidate still running at its deadline (``search.candidate_timeout``, :mod:`.timeouts`) has its worker killed
and replaced and is recorded as failed at once. A search never hangs on a lost or stuck worker. Workers ignore
Ctrl-C (the driver stops them) and die with the driver (``PR_SET_PDEATHSIG`` on Linux, else at their next message);
the worker's body and the driver's handle of it are in ``local_worker.py``. With one worker this is the isolation of
a single-worker search (``search.isolation``): a candidate that crashes its process cannot take the driver with it.
"""

from __future__ import annotations

import logging
import multiprocessing
import time
from collections import deque
from collections.abc import Iterator, Sequence
from multiprocessing.connection import wait
from typing import Any

from nsga_lightning.errors import UserError
from nsga_lightning.search.core.evaluator import Candidate, Evaluation
from nsga_lightning.search.execution.dispatch_order import evaluate_by_submission
from nsga_lightning.search.execution.factory import EvaluatorFactory
from nsga_lightning.search.execution.local_worker import WorkerHandle, needs_main_module, worker_main
from nsga_lightning.search.execution.plans import WorkerPlan
from nsga_lightning.search.execution.timeouts import CandidateTimeout, Deadlines, death_cause

# the worker process's body lives in local_worker.py and stays importable here
__all__ = ["ATTEMPTS", "POLL_SECONDS", "LocalPoolEvaluator", "WorkerStartError", "worker_main"]

log = logging.getLogger(__name__)

ATTEMPTS = 2  # a candidate whose worker dies is tried once more
POLL_SECONDS = 1.0


class WorkerStartError(UserError, RuntimeError):
    """A worker process could not build its evaluator (the same settings would fail every candidate)."""


class LocalPoolEvaluator:
    """Evaluate candidates with ``workers`` local worker processes (see the module docstring).

    Args:
        factory: builds every worker's evaluator in the worker (see :mod:`~nsga_lightning.search.execution.factory`).
        plans: one :class:`WorkerPlan` per worker (device, pinned cores, threads).
        local: the driver's own in-process evaluator, used for the fingerprint, the runtime record and the
            checks before the search starts (it trains nothing).
        start_timeout: seconds a worker may take to build its evaluator.
        timeout: how long one candidate may train (:mod:`~nsga_lightning.search.execution.timeouts`; default auto).
    """

    def __init__(self, factory: EvaluatorFactory, plans: Sequence[WorkerPlan], local: Any,
                 start_timeout: float = 600.0, timeout: CandidateTimeout | None = None) -> None:
        self.factory = factory
        self.plans = list(plans)
        self.local = local
        self.start_timeout = start_timeout
        self.deadlines = Deadlines(timeout or CandidateTimeout())
        self._with_main = needs_main_module(factory)
        self.workers = len(self.plans)
        self._context = multiprocessing.get_context("spawn")
        self._pool: list[WorkerHandle | None] = [None] * self.workers
        self.in_flight = 0
        self.busy_seconds = 0.0
        self.startup_seconds: list[float] = []  # per worker process: from its start to its evaluator built
        self._pending: deque[tuple[Candidate, int]] = deque()
        self._done: deque[Evaluation] = deque()

    # the driver-side checks and records are the in-process evaluator's
    def fingerprint(self) -> dict[str, Any]:
        """The in-process evaluator's fingerprint: workers never change results."""
        return self.local.fingerprint()

    def runtime(self) -> dict[str, Any]:
        """The in-process evaluator's runtime record (threads per candidate)."""
        return self.local.runtime()

    @property
    def objective_names(self) -> tuple[str, ...] | None:
        """The objective names the in-process evaluator declares."""
        return self.local.objective_names

    def prepare(self) -> int:
        """Check the data and options in the driver before any worker starts."""
        return self.local.prepare()

    @property
    def datamodule(self) -> Any:
        """The driver's datamodule (checks only)."""
        return self.local.datamodule

    def start(self) -> None:
        """Start every worker now (they build their evaluators while the driver prepares the generation)."""
        self._dispatch(self.workers)

    def worker_pids(self) -> list[int]:
        """Process ids of the running workers."""
        return [w.process.pid for w in self._pool if w is not None and w.process.is_alive()]

    # -- evaluation -----------------------------------------------------------------------------------------

    def evaluate(self, candidates: list[Candidate]) -> Iterator[Evaluation]:
        """Train the candidates on the workers; yield each result as it arrives (any order).

        The longest expected trainings start first (:func:`~nsga_lightning.search.execution.dispatch_order.longest_first`);
        with one worker the order is the candidates' own (nothing to balance).
        """
        hint = getattr(self.local, "cost_hint", None) if self.workers > 1 else None
        yield from evaluate_by_submission(self, candidates, hint)

    def submit(self, candidate: Candidate) -> None:
        """Queue one candidate; it starts as soon as a worker is free."""
        self._pending.append((candidate, 1))

    def outstanding(self) -> int:
        """Candidates submitted whose results have not been taken yet."""
        return len(self._pending) + len(self._busy()) + len(self._done)

    def next_completed(self) -> Evaluation:
        """Block until a submitted candidate finishes (or fails for good) and return its result.

        Raises:
            RuntimeError: if nothing is outstanding.
            WorkerStartError: if a worker cannot build its evaluator.
        """
        while not self._done:
            if not self._pending and not self._busy():
                raise RuntimeError("next_completed() with nothing submitted")
            self._dispatch(min(self.workers, len(self._pending) + len(self._busy())))
            for worker, message in self._messages():
                self._handle(worker, message)
            self._stop_overdue()
        return self._done.popleft()

    def cancel(self) -> None:
        """Abandon everything submitted: busy workers are killed (and replaced when next needed)."""
        for worker in self._busy():
            self._pool[worker.index] = None
            worker.kill()
        self._pending.clear()
        self._done.clear()
        self.in_flight = 0

    def _handle(self, worker: WorkerHandle, message: Any) -> None:
        if message is None:  # the worker died
            if worker.busy is not None:
                failed = self._lost(worker)
                if failed is not None:
                    self._done.append(failed)
                return
            self._pool[worker.index] = None
            worker.kill()
            if not worker.ready:
                raise WorkerStartError(f"worker process {worker.index} exited while starting "
                                       f"(exit code {worker.process.exitcode})")
            return
        kind, value = message
        if kind == "ready":
            worker.ready = True
            self.startup_seconds.append(time.perf_counter() - worker.started)
        elif kind == "error":
            raise WorkerStartError(f"worker process {worker.index} could not build its evaluator from the "
                                   f"search settings: {_last_line(value)}")
        elif kind == "result" and worker.busy is not None:
            candidate, _, started = worker.busy
            worker.busy = None
            self.in_flight -= 1
            seconds = time.perf_counter() - started
            self.busy_seconds += seconds
            self.deadlines.observe(candidate, value, seconds)
            self._done.append(value)

    def _busy(self) -> list[WorkerHandle]:
        return [w for w in self._pool if w is not None and w.busy is not None]

    def _dispatch(self, wanted: int) -> None:
        """Start workers up to ``wanted`` and give every idle, ready worker the next pending candidate."""
        pending = self._pending
        for i in range(self.workers):
            if self._pool[i] is None and sum(w is not None for w in self._pool) < wanted:
                self._pool[i] = WorkerHandle(self._context, i, self.factory, self.plans[i], self._with_main)
        for worker in self._pool:
            if pending and worker is not None and worker.ready and worker.busy is None:
                candidate, attempt = pending.popleft()
                worker.conn.send(candidate)
                worker.busy = (candidate, attempt, time.perf_counter())
                worker.deadline = self.deadlines.deadline(candidate)
                self.in_flight += 1

    def _messages(self) -> Iterator[tuple[WorkerHandle, Any]]:
        """Wait for messages or deaths of the workers; ``(worker, None)`` for a worker that died."""
        live = [w for w in self._pool if w is not None]
        if not live:
            return
        handles = {w.conn: w for w in live} | {w.process.sentinel: w for w in live}
        start = time.perf_counter()
        while True:
            ready = wait(list(handles), timeout=POLL_SECONDS)
            if ready or self._overdue():
                break
            starting = [w for w in live if not w.ready]
            if starting and time.perf_counter() - start > self.start_timeout:
                raise WorkerStartError(f"worker process {starting[0].index} did not start within "
                                       f"{self.start_timeout:.0f} s")
        seen: set[int] = set()
        for handle in ready:
            worker = handles[handle]
            if id(worker) in seen:
                continue
            seen.add(id(worker))
            while worker.conn.poll():  # deliver what it sent before it died
                try:
                    yield worker, worker.conn.recv()
                except (EOFError, OSError):
                    break
            if not worker.process.is_alive():
                yield worker, None

    def _lost(self, worker: WorkerHandle) -> Evaluation | None:
        """A worker died holding a candidate: replace it, retry the candidate once, else fail it."""
        candidate, attempt, started = worker.busy
        code = worker.process.exitcode
        self._pool[worker.index] = None
        worker.kill()
        self.in_flight -= 1
        why = death_cause(code)
        if attempt < ATTEMPTS:
            log.warning("worker process %d died while training %s (%s); trying it again", worker.index,
                        candidate.key, why)
            self._pending.appendleft((candidate, attempt + 1))
            return None
        return Evaluation.failed(candidate.key, f"the worker process died while training it, {ATTEMPTS} times "
                                 f"(last: {why}: a native crash, out of memory or killed)",
                                 time.perf_counter() - started)

    def _overdue(self) -> list[WorkerHandle]:
        """Busy workers whose candidate has passed its deadline."""
        now = self.deadlines.clock()
        return [w for w in self._busy() if w.deadline is not None and now >= w.deadline]

    def _stop_overdue(self) -> None:
        """Kill the worker of every candidate past its deadline and record that candidate as failed (no retry: it
        would hang again); the worker is replaced when next needed."""
        for worker in self._overdue():
            candidate, _, started = worker.busy
            seconds = time.perf_counter() - started
            log.warning("%s is still running after %.0f s (search.candidate_timeout %s): killing its worker process",
                        candidate.key, seconds, self.deadlines.timeout.describe())
            self._pool[worker.index] = None
            worker.kill()
            self.in_flight -= 1
            self._done.append(self.deadlines.timed_out(candidate, seconds))

    def close(self) -> None:
        """Stop every worker process (all are told first, so they exit at the same time)."""
        workers = [w for w in self._pool if w is not None]
        for worker in workers:
            worker.ask_to_stop()
        for worker in workers:
            worker.wait_or_kill()
        self._pool = [None] * self.workers


def _last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else "(no error text)"
