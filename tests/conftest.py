"""Fixtures shared by every test directory, the suite's thread limits and how it spreads over the CPUs.

The whole suite (``python -m pytest`` without paths) runs its modules in parallel, one pytest-xdist worker
per CPU this process may use, when pytest-xdist is installed (the ``test`` extra installs it): each module
whole on one worker, in its order (``--dist loadscope``), so its module-scoped fixtures are built once, as
in one process. ``-n 0`` or ``-p no:xdist`` runs the suite in this process, ``-n N`` on N workers, and
``PYTEST_XDIST_AUTO_NUM_WORKERS`` sets the default count; a command that names files or tests runs them in
this process unless it gives ``-n``. Tests that start Ray take :func:`one_ray_at_a_time`. A suite started where
SIGINT is ignored (a background job of a script: ``python -m pytest &``) handles it again, so that the Ctrl-C
tests test Ctrl-C, not the shell that started them.
"""

from __future__ import annotations

import os

# One BLAS / OpenMP thread per test process and the processes it starts (unless set outside). Tiny matrices
# and networks run fastest on one thread, and busy-waiting thread pools are ruinous on a loaded machine: on 2
# busy cores OpenBLAS's 2-thread SVD of a 400 x 220 matrix (the surrogate's fit) took 0.7 s against 12 ms on
# one thread, which made a surrogate soak 11x slower. Set before numpy and torch are imported (read once).
for _variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

import fcntl
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import torch

# SIGINT inherited as ignored (bash ignores it in the background jobs of a non-interactive shell) reaches every
# process the tests start; Python then installs no KeyboardInterrupt handler and the Ctrl-C tests see nothing
if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)


def _cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not on Linux
        return os.cpu_count() or 1


@pytest.hookimpl(tryfirst=True)
def pytest_cmdline_main(config: pytest.Config) -> None:
    """The whole suite without ``-n``: one xdist worker per CPU (none with one CPU). With workers,
    ``--dist loadscope`` unless a ``--dist`` was given. Only where xdist is loaded, in the controller (not in
    its workers), and not for ``--collect-only``, ``--pdb`` or explicit ``--tx`` nodes."""
    if not config.pluginmanager.hasplugin("xdist") or hasattr(config, "workerinput"):
        return
    option = config.option
    if config.getoption("collectonly") or config.getoption("usepdb") or option.tx:
        return
    if option.numprocesses is None and config.args_source != pytest.Config.ArgsSource.ARGS:
        workers = os.environ.get("PYTEST_XDIST_AUTO_NUM_WORKERS")
        option.numprocesses = int(workers) if workers else (_cpus() if _cpus() > 1 else 0)
    if option.numprocesses and option.dist == "no" and not option.distload:
        option.dist = "loadscope"


@contextmanager
def _exclusive(tmp_path_factory: pytest.TempPathFactory, name: str) -> Iterator[None]:
    """Hold a lock that the other xdist workers of this run wait for (a file lock in the folder that holds
    their temporary folders; without workers nobody waits for it)."""
    base = tmp_path_factory.getbasetemp()
    folder = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    with (folder / f"{name}.lock").open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@pytest.fixture
def one_ray_at_a_time(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """No other worker of this run starts Ray during this test: two Ray instances at once compete for a small
    machine's cores and for Ray's fixed default ports (its dashboard agent's)."""
    with _exclusive(tmp_path_factory, "ray"):
        yield


@pytest.fixture(scope="module")
def one_ray_at_a_time_in_this_module(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """:func:`one_ray_at_a_time` for a module's fixtures (a cluster that its tests share)."""
    with _exclusive(tmp_path_factory, "ray"):
        yield


@pytest.fixture(scope="module")
def one_intra_op_thread() -> Iterator[None]:
    """Tiny CPU networks run fastest on one thread (and far slower with two on a shared, busy 2-core box);
    torch's setting is restored after the module."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(autouse=True)
def _candidates_in_this_process_unless_isolation_is_tested(request: pytest.FixtureRequest,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """``search.isolation: auto`` (the shipped default) trains the trainer evaluator's candidates in a worker
    process even with one worker: one process start-up (3-5 s: torch and Lightning imported again) per search.
    Searches built in a test's own process that are not about isolation run their candidates in that process,
    as ``isolation: none`` does, which keeps the suite within its time. What this leaves out is tested where it is
    the subject: tests marked ``isolation`` keep the shipped default (the crash, hang and timeout tests), and a
    search in a subprocess (the CLI as users run it, the installed wheel, the AVX2 runs) always has it. An explicit
    ``isolation: process``, several workers and Ray are unaffected."""
    if request.node.get_closest_marker("isolation") is not None:
        return
    from nsga_lightning.search.assemble import backends

    shipped = backends.isolated

    def in_this_process_by_default(config: Any, own_evaluator: bool) -> bool:
        search = config.search
        if search.isolation == "auto" and search.workers == 1 and search.backend != "ray":
            return False
        return shipped(config, own_evaluator)

    monkeypatch.setattr(backends, "isolated", in_this_process_by_default)
