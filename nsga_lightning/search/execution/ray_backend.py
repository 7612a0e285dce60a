"""RayEvaluator: one Ray task per candidate, on a laptop (a local Ray instance), one multi-GPU node or a cluster.

Ray is an optional extra (``pip install "nsga-lightning[ray]"``) and is imported only when ``backend: ray`` is
chosen. Each task gets the candidate's resources (``num_cpus``, ``num_gpus``, fractional GPUs allowed; Ray sets
``CUDA_VISIBLE_DEVICES`` per task), builds its evaluator with the factory it is given (the search's settings
rebuild the in-process evaluator) once per Ray worker process (cached, so a worker that trains many candidates loads the data once), and returns the
result; the driver collects results as they finish (``ray.wait``) and alone writes the archive. A task whose
worker or node dies is retried once by Ray (``max_retries=1``), then recorded as a failed candidate. Ctrl-C
cancels the tasks in flight.

On a cluster every node must see the data (``data_dir``) and the run directory (the candidates' TensorBoard
runs are written there) at the same path, e.g. on shared storage. A cluster with token authentication on
(``ray start --head`` turns it on wherever a token exists) accepts only a driver with ``RAY_AUTH_MODE=token`` and
the cluster's token; a refusal is named as such (:func:`authentication_failure`).
"""

from __future__ import annotations

import logging
import os
import re
import socket
import time
from collections import deque
from collections.abc import Iterator
from typing import Any

from nsga_lightning.search.core.evaluator import Candidate, Evaluation
from nsga_lightning.search.execution.dispatch_order import evaluate_by_submission
from nsga_lightning.search.execution.factory import EvaluatorFactory
from nsga_lightning.search.execution.plans import CandidateResources

log = logging.getLogger(__name__)

INSTALL_HINT = 'backend: ray needs Ray, which is not installed: pip install -e ".[ray]" (or "nsga-lightning[ray]")'
_EVALUATORS: dict[str, Any] = {}  # per Ray worker process: factory key -> evaluator


def import_ray() -> Any:
    """The ``ray`` module.

    Raises:
        ValueError: naming the install command when Ray is missing.
    """
    try:
        import ray
    except ImportError:
        raise ValueError(INSTALL_HINT) from None
    return ray


def evaluate_in_task(factory: EvaluatorFactory, candidate: Candidate,
                     num_threads: int) -> tuple[Evaluation, float | None]:
    """Body of a Ray task: train one candidate with this worker's cached evaluator; also the seconds this task
    spent building the worker's evaluator (imports, data; ``None`` when it was cached)."""
    start = time.perf_counter()
    import torch

    torch.set_num_threads(num_threads)
    key = factory.key
    evaluator = _EVALUATORS.get(key)
    startup = None
    if evaluator is None:
        evaluator = factory()
        evaluator.prepare()
        _EVALUATORS.clear()  # one search per worker at a time: drop another search's data
        _EVALUATORS[key] = evaluator
        startup = time.perf_counter() - start
    return next(iter(evaluator.evaluate([candidate]))), startup


class RayEvaluator:
    """Evaluate candidates as Ray tasks (see the module docstring).

    Args:
        factory: builds the evaluator of each Ray worker (see :mod:`~nsga_lightning.search.execution.factory`).
        local: the driver's in-process evaluator (fingerprint, runtime record, checks; it trains nothing).
        resources: what one candidate's task asks for.
        workers: candidates in flight at once.
        address: ``None`` starts a private local Ray instance sized to ``workers`` (never joins a running
            cluster); ``"auto"`` or ``"HOST:PORT"`` joins a running cluster.

    Raises:
        ValueError: if Ray is not installed.
        ConnectionError: if the cluster at ``address`` cannot be reached or refuses the driver's authentication.
    """

    def __init__(self, factory: EvaluatorFactory, local: Any, resources: CandidateResources, workers: int,
                 address: str | None = None) -> None:
        self.ray = import_ray()
        self.factory, self.local, self.resources = factory, local, resources
        self.workers, self.address = int(workers), address
        self.in_flight = 0
        self.busy_seconds = 0.0
        self.startup_seconds: list[float] = []  # per worker start: building its evaluator in its first task
        self.connect_seconds = 0.0  # starting or joining Ray
        self._started_ray = False
        self._task: Any = None
        self._factory_ref: Any = None
        self._pending: deque[Candidate] = deque()
        self._running: dict[Any, tuple[Candidate, float]] = {}

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
            options = {"num_cpus": self.resources.cpu, "num_gpus": self.resources.gpu, "max_retries": 1}
            self._task = self.ray.remote(evaluate_in_task).options(**options)
            self._factory_ref = self.ray.put(self.factory)
        return classes

    def _connect(self) -> None:
        ray = self.ray
        if ray.is_initialized():
            return
        if self.address not in (None, "auto", "local"):
            _check_reachable(self.address)
        # the workers must import this package the way the driver does (a checkout run from its root included)
        runtime_env = {"env_vars": {"PYTHONPATH": os.pathsep.join(p for p in _python_path() if p)}}
        start = time.perf_counter()
        try:
            if self.address is None:
                cpus = max(int(self.workers * self.resources.cpu), 1)
                # "local" always starts a new instance: address=None would join the cluster that RAY_ADDRESS or
                # this machine's last `ray start` names, and then refuse num_cpus
                ray.init(address="local", num_cpus=cpus, include_dashboard=False, log_to_driver=False,
                         runtime_env=runtime_env, configure_logging=False)
            else:
                ray.init(address=self.address, log_to_driver=False, runtime_env=runtime_env, configure_logging=False)
        except Exception as error:
            reason = authentication_failure(error)
            if reason is not None:
                raise ConnectionError(
                    f"the Ray cluster at {self.address!r} refused this search's authentication ({reason}); run the "
                    "search with RAY_AUTH_MODE=token and the cluster's token: the head node's ~/.ray/auth_token "
                    "copied to ~/.ray/auth_token here, or RAY_AUTH_TOKEN (the token) or RAY_AUTH_TOKEN_PATH (a file "
                    'holding it) set (README, "Scale out")'
                ) from None
            if not isinstance(error, (ConnectionError, TimeoutError, RuntimeError)):
                raise
            where = f"the Ray cluster at {self.address!r}" if self.address else "a local Ray instance"
            raise ConnectionError(f"could not start or reach {where}: {' '.join(str(error).split())[:300]}; "
                                  "check search.ray_address (start a cluster with: ray start --head)") from None
        self._started_ray = True
        self.connect_seconds = time.perf_counter() - start

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
        self._pending.append(candidate)

    def outstanding(self) -> int:
        """Candidates submitted whose results have not been taken yet."""
        return len(self._pending) + len(self._running)

    def next_completed(self) -> Evaluation:
        """Block until a submitted candidate's task finishes and return its result.

        Raises:
            RuntimeError: if nothing is outstanding.
        """
        if not self.outstanding():
            raise RuntimeError("next_completed() with nothing submitted")
        self.prepare()
        threads = max(1, round(self.resources.cpu))
        while self._pending and len(self._running) < self.workers:
            candidate = self._pending.popleft()
            ref = self._task.remote(self._factory_ref, candidate, threads)
            self._running[ref] = (candidate, time.perf_counter())
        self.in_flight = len(self._running)
        (done,), _ = self.ray.wait(list(self._running), num_returns=1)
        candidate, started = self._running.pop(done)
        self.in_flight = len(self._running)
        self.busy_seconds += time.perf_counter() - started
        return self._result(done, candidate, started)

    def cancel(self) -> None:
        """Cancel the running tasks and forget the queued ones."""
        for ref in self._running:
            self.ray.cancel(ref, force=True)
        self._running.clear()
        self._pending.clear()
        self.in_flight = 0

    def _result(self, ref: Any, candidate: Candidate, started: float) -> Evaluation:
        try:
            evaluation, startup = self.ray.get(ref)
        except KeyboardInterrupt:
            raise
        except Exception as error:  # noqa: BLE001 - a lost worker or node (after Ray's retry): this candidate fails
            text = " ".join(str(error).split())[:2000]
            return Evaluation.failed(candidate.key, f"the Ray task failed ({type(error).__name__}): {text}",
                                     time.perf_counter() - started)
        if startup is not None:  # this task built its worker's evaluator
            self.startup_seconds.append(startup)
        return evaluation

    def close(self) -> None:
        """Shut down the Ray instance this evaluator started (a joined cluster keeps running)."""
        if self._started_ray and self.ray.is_initialized():
            self.ray.shutdown()
        self._started_ray = False
        self._task = None


_AUTH_REASON = re.compile(r"InvalidAuthToken: [^.\n]*|Unauthenticated[^.\n]*")


def authentication_failure(error: BaseException) -> str | None:
    """Why ``ray.init`` failed, if a token authentication failure caused ``error``; else ``None``.

    Ray raises its ``AuthenticationError`` itself where this process has ``RAY_AUTH_MODE=token`` but no token;
    a token the cluster refuses (or none sent, without ``RAY_AUTH_MODE=token``) ends, after Ray's retries, in a
    ``ConnectionError`` whose causes hold the ``InvalidAuthToken`` RPC error. The causes are searched by class name
    and text (an older Ray has no ``AuthenticationError`` class to import).
    """
    seen: set[int] = set()
    cause: BaseException | None = error
    while cause is not None and id(cause) not in seen:
        seen.add(id(cause))
        if type(cause).__name__ == "AuthenticationError":
            message = str(getattr(cause, "message", cause))
            return message.split(". ", 1)[0].rstrip(".")
        found = _AUTH_REASON.search(str(cause))
        if found:
            mode = os.environ.get("RAY_AUTH_MODE", "")
            note = "" if mode.lower() == "token" else f"; RAY_AUTH_MODE is {mode or 'unset'} here, not token"
            return found.group(0).strip() + note
        cause = cause.__cause__ or cause.__context__
    return None


def _check_reachable(address: str, timeout: float = 5.0) -> None:
    """Fail fast on a cluster address nothing listens on (Ray itself retries for about a minute).

    Raises:
        ConnectionError: naming the address and how to start a cluster.
    """
    target = address.removeprefix("ray://")
    host, _, port = target.rpartition(":")
    if not host or not port.isdigit():
        raise ValueError(f"search.ray_address must be null, 'auto' or HOST:PORT, got {address!r}")
    try:
        socket.create_connection((host, int(port)), timeout=timeout).close()
    except OSError as error:
        raise ConnectionError(f"no Ray cluster reachable at {address} ({error.strerror or error}); start one with "
                              "'ray start --head' on that machine, or set search.ray_address: null for a local "
                              "Ray instance") from None


def _python_path() -> list[str]:
    """The driver's import path entries that hold this package, so Ray workers import the same code."""
    import nsga_lightning

    package_parent = os.path.dirname(os.path.dirname(os.path.abspath(nsga_lightning.__file__)))
    extra = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    return [package_parent, *extra]
