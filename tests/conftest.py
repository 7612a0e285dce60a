"""Fixtures shared by every test directory, and the suite's thread limits."""

from __future__ import annotations

import os

# One BLAS / OpenMP thread per test process and the processes it starts (unless set outside). Tiny matrices
# and networks run fastest on one thread, and busy-waiting thread pools are ruinous on a loaded machine: on 2
# busy cores OpenBLAS's 2-thread SVD of a 400 x 220 matrix (the surrogate's fit) took 0.7 s against 12 ms on
# one thread, which made a surrogate soak 11x slower. Set before numpy and torch are imported (read once).
for _variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

from collections.abc import Iterator
from typing import Any

import pytest
import torch


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
