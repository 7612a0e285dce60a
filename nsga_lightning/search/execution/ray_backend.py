"""RayEvaluator: one Ray task per candidate, on a laptop (a local Ray instance), one multi-GPU node or a cluster.

Ray is an optional extra (``pip install "nsga-lightning[ray]"``) and is imported only when ``backend: ray`` is
chosen. Each task gets the candidate's resources (``num_cpus``, ``num_gpus``, fractional GPUs allowed; Ray sets
``CUDA_VISIBLE_DEVICES`` per task), builds its evaluator with the factory it is given (the search's settings rebuild
the in-process evaluator) once per Ray worker process (cached, so a worker that trains many candidates loads the data
once; the task side is ``ray_tasks.py``), and returns the result; the driver collects results as they finish
(``ray.wait``) and alone writes the archive. A candidate whose worker or node dies (a native crash included) is tried
once more, then recorded as a failed candidate; a task still running at its deadline (``search.candidate_timeout``,
counted from the moment the task starts its candidate) is cancelled with its worker process killed and recorded as
failed. Ctrl-C cancels the tasks in flight.

On a cluster every node must see the data (``data_dir``) and the run directory (the candidates' TensorBoard
runs are written there) at the same path, e.g. on shared storage. A cluster with token authentication on
(``ray start --head`` turns it on wherever a token exists) accepts only a driver with ``RAY_AUTH_MODE=token`` and
the cluster's token; a refusal is named as such (:func:`authentication_failure`).
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from nsga_lightning.search.core.evaluator import Candidate, Evaluation
from nsga_lightning.search.execution.dispatch_order import evaluate_by_submission
from nsga_lightning.search.execution.factory import EvaluatorFactory
from nsga_lightning.search.execution.plans import CandidateResources
from nsga_lightning.search.execution.ray_connection import (
    INSTALL_HINT,
    authentication_failure,
    connect,
    import_ray,
)
from nsga_lightning.search.execution.ray_tasks import evaluate_in_task, start_board
from nsga_lightning.search.execution.timeouts import CandidateTimeout, Deadlines

# the connection helpers live in ray_connection.py and stay importable here
__all__ = ["INSTALL_HINT", "RayEvaluator", "authentication_failure", "evaluate_in_task", "import_ray"]

log = logging.getLogger(__name__)

POLL_SECONDS = 1.0  # with timeouts on: how often the driver asks which tasks started and checks deadlines


ATTEMPTS = 2  # a candidate whose Ray worker dies is tried once more (as in the local pool)


@dataclass
class _Task:
    """A submitted attempt at a candidate: when it was submitted (driver's clock), its token for the start board, its
    attempt number and, once it started, its deadline."""

    candidate: Candidate
    submitted: float
    token: str
    attempt: int = 1
    deadline: float | None = None


class RayEvaluator:
    """Evaluate candidates as Ray tasks (see the module docstring).

    Args:
        factory: builds the evaluator of each Ray worker (see :mod:`~nsga_lightning.search.execution.factory`).
        local: the driver's in-process evaluator (fingerprint, runtime record, checks; it trains nothing).
        resources: what one candidate's task asks for.
        workers: candidates in flight at once.
        address: ``None`` starts a private local Ray instance sized to ``workers`` (never joins a running
            cluster); ``"auto"`` or ``"HOST:PORT"`` joins a running cluster.
        timeout: how long one candidate may train (:mod:`~nsga_lightning.search.execution.timeouts`; default auto).

    Raises:
        ValueError: if Ray is not installed.
        ConnectionError: if the cluster at ``address`` cannot be reached or refuses the driver's authentication.
    """

    def __init__(self, factory: EvaluatorFactory, local: Any, resources: CandidateResources, workers: int,
                 address: str | None = None, timeout: CandidateTimeout | None = None) -> None:
        self.ray = import_ray()
        self.deadlines = Deadlines(timeout or CandidateTimeout())
        self.factory, self.local, self.resources = factory, local, resources
        self.workers, self.address = int(workers), address
        self.in_flight = 0
        self.busy_seconds = 0.0
        self.startup_seconds: list[float] = []  # per worker start: building its evaluator in its first task
        self.connect_seconds = 0.0  # starting or joining Ray
        self._started_ray = False
        self._task: Any = None
        self._factory_ref: Any = None
        self._pending: deque[tuple[Candidate, int]] = deque()  # candidate, attempt
        self._running: dict[Any, _Task] = {}
        self._board: Any = None  # the StartBoard actor, with timeouts on
        self._submitted = 0

    def fingerprint(self) -> dict[str, Any]:
        """The in-process evaluator's fingerprint: the backend never changes results."""
        return self.local.fingerprint()

    def runtime(self) -> dict[str, Any]:
        """The in-process evaluator's runtime record."""
        return self.local.runtime()

    @property
    def objective_names(self) -> tuple[str, ...] | None:
        """The objective names the in-process evaluator declares."""
        return self.local.objective_names

    @property
    def datamodule(self) -> Any:
        """The driver's datamodule (checks only)."""
        return self.local.datamodule

    def prepare(self) -> int:
        """Check the data in the driver, then start or join Ray and check it has the resources asked for.

        Raises:
            ConnectionError: if the cluster cannot be reached or refuses the driver's authentication.
            ValueError: if the cluster has fewer CPUs or GPUs than one candidate needs.
        """
        classes = self.local.prepare()
        if self._task is None:
            self._connect()
            self._check_capacity()
            options = {"num_cpus": self.resources.cpu, "num_gpus": self.resources.gpu, "max_retries": 0}
            self._task = self.ray.remote(evaluate_in_task).options(**options)
            self._factory_ref = self.ray.put(self.factory)
            if self.deadlines.timeout.enabled:
                self._board = start_board(self.ray)
        return classes

    def _connect(self) -> None:
        if self.ray.is_initialized():
            return
        cpus = max(int(self.workers * self.resources.cpu), 1)
        self.connect_seconds = connect(self.ray, self.address, cpus)
        self._started_ray = True

    def _check_capacity(self) -> None:
        total = self.ray.cluster_resources()
        for name, needed in (("CPU", self.resources.cpu), ("GPU", self.resources.gpu)):
            if needed > float(total.get(name, 0.0)):
                raise ValueError(f"one candidate asks for {needed:g} {name}s but the Ray cluster has "
                                 f"{float(total.get(name, 0.0)):g}: set search.resources_per_candidate or add nodes")

    def evaluate(self, candidates: list[Candidate]) -> Iterator[Evaluation]:
        """Submit the candidates, ``workers`` tasks at a time; yield each result as it finishes (any order).

        The longest expected trainings start first (:func:`~nsga_lightning.search.execution.dispatch_order.longest_first`).
        """
        yield from evaluate_by_submission(self, candidates, getattr(self.local, "cost_hint", None))

    def submit(self, candidate: Candidate) -> None:
        """Queue one candidate; its task starts while fewer than ``workers`` are running."""
        self._pending.append((candidate, 1))

    def outstanding(self) -> int:
        """Candidates submitted whose results have not been taken yet."""
        return len(self._pending) + len(self._running)

    def next_completed(self) -> Evaluation:
        """Block until a submitted candidate's task finishes (or fails for good) and return its result.

        Raises:
            RuntimeError: if nothing is outstanding.
        """
        if not self.outstanding():
            raise RuntimeError("next_completed() with nothing submitted")
        self.prepare()
        while True:
            self._dispatch()
            done, _ = self.ray.wait(list(self._running), num_returns=1,
                                    timeout=None if self._board is None else POLL_SECONDS)
            if not done:
                overdue = self._overdue()
                if overdue is not None:
                    return self._timed_out(overdue)
                continue
            task = self._running.pop(done[0])
            self._forget([task])
            self.in_flight = len(self._running)
            seconds = time.perf_counter() - task.submitted
            self.busy_seconds += seconds
            evaluation = self._result(done[0], task)
            if evaluation is not None:
                self.deadlines.observe(task.candidate, evaluation, seconds)
                return evaluation

    def _dispatch(self) -> None:
        """Submit pending candidates while fewer than ``workers`` tasks run."""
        threads = max(1, round(self.resources.cpu))
        while self._pending and len(self._running) < self.workers:
            candidate, attempt = self._pending.popleft()
            self._submitted += 1
            token = f"{self._submitted}:{candidate.key}"
            ref = self._task.remote(self._factory_ref, candidate, threads, self._board, token)
            self._running[ref] = _Task(candidate, time.perf_counter(), token, attempt)
        self.in_flight = len(self._running)

    def _overdue(self) -> Any:
        """Give every task that started its candidate since the last look a deadline from now; return a task past
        its deadline, if any."""
        waiting = [task for task in self._running.values() if task.deadline is None]
        if waiting:
            started = set(self.ray.get(self._board.started.remote([task.token for task in waiting])))
            for task in waiting:
                if task.token in started:
                    task.deadline = self.deadlines.deadline(task.candidate)
        now = self.deadlines.clock()
        return next((ref for ref, task in self._running.items() if task.deadline is not None and now >= task.deadline),
                    None)

    def _forget(self, tasks: list[_Task]) -> None:
        if self._board is not None and tasks:
            self._board.forget.remote([task.token for task in tasks])

    def _timed_out(self, ref: Any) -> Evaluation:
        """Cancel a task past its deadline (its worker process is killed) and return its failure."""
        task = self._running.pop(ref)
        self._forget([task])
        self.in_flight = len(self._running)
        seconds = time.perf_counter() - task.submitted
        log.warning("%s is still running after %.0f s (search.candidate_timeout %s): cancelling its Ray task",
                    task.candidate.key, seconds, self.deadlines.timeout.describe())
        self.ray.cancel(ref, force=True)
        self.busy_seconds += seconds
        return self.deadlines.timed_out(task.candidate, seconds)

    def cancel(self) -> None:
        """Cancel the running tasks and forget the queued ones."""
        for ref in self._running:
            self.ray.cancel(ref, force=True)
        self._forget(list(self._running.values()))
        self._running.clear()
        self._pending.clear()
        self.in_flight = 0

    def _result(self, ref: Any, task: _Task) -> Evaluation | None:
        """The candidate's result; ``None`` when its worker died and it is queued to be tried again."""
        try:
            evaluation, startup = self.ray.get(ref)
        except KeyboardInterrupt:
            raise
        except Exception as error:  # noqa: BLE001 - a lost worker or node, or a task that raised: this candidate fails
            lost = not isinstance(error, self.ray.exceptions.RayTaskError)  # the process or node died
            if lost and task.attempt < ATTEMPTS:
                log.warning("the Ray worker training %s died (%s); trying it again", task.candidate.key,
                            type(error).__name__)
                self._pending.appendleft((task.candidate, task.attempt + 1))
                return None
            seconds = time.perf_counter() - task.submitted
            if lost:
                return Evaluation.failed(task.candidate.key, f"the Ray worker process died while training it, "
                                         f"{ATTEMPTS} times (last: {type(error).__name__}: a native crash such as "
                                         "SIGSEGV or SIGABRT, out of memory, or a lost node; Ray does not say which)",
                                         seconds)
            text = " ".join(str(error).split())[:2000]
            return Evaluation.failed(task.candidate.key, f"the Ray task failed ({type(error).__name__}): {text}",
                                     seconds)
        if startup is not None:  # this task built its worker's evaluator
            self.startup_seconds.append(startup)
        return evaluation

    def close(self) -> None:
        """Shut down the Ray instance this evaluator started (a joined cluster keeps running)."""
        if self._board is not None and self.ray.is_initialized():
            self.ray.kill(self._board)
        self._board = None
        if self._started_ray and self.ray.is_initialized():
            self.ray.shutdown()
        self._started_ray = False
        self._task = None
