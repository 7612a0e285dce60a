"""An evaluator of the cell space (``cell_space.py``) whose candidates crash their process natively or hang, chosen by
a hash of the key (so the same candidates do it in every run, worker and resume). Importable by worker processes
and, with this folder on ``PYTHONPATH``, by Ray workers.

Every start of a candidate is logged as a line ``<action> <key>`` in the folder that ``NSGA_CRASH_LOG`` names (if
set), so a test can count how often each was tried, across processes that died.
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import time
from collections.abc import Iterator
from pathlib import Path

from cell_space import COST, GAIN
from search_helpers import CountingEvaluator

from nsga_lightning.search import Candidate, Evaluation

HANG_SECONDS = 600.0


def action_of(key: str) -> str:
    """What training ``key`` does: ``abort`` (SIGABRT), ``segv`` (a real invalid memory read), ``hang`` or ``ok``."""
    bucket = int(hashlib.sha1(key.encode()).hexdigest(), 16) % 16
    return {0: "abort", 1: "segv", 2: "hang"}.get(bucket, "ok")


def crashing_objectives(candidate: Candidate) -> dict[str, float]:
    """The candidate's error and cost, unless its key says it crashes or hangs."""
    action = action_of(candidate.key)
    folder = os.environ.get("NSGA_CRASH_LOG")
    if folder:
        with (Path(folder) / f"{os.getpid()}.log").open("a") as log:
            log.write(f"{action} {candidate.key}\n")
    if action == "abort":
        os.abort()
    if action == "segv":
        ctypes.string_at(0)  # reads address 0: SIGSEGV
    if action == "hang":
        time.sleep(HANG_SECONDS)
    ops = candidate.genotype
    noise = int(hashlib.sha1(candidate.key.encode()).hexdigest()[:6], 16) / 16**6
    return {"error": 40.0 - sum(GAIN[op] for op in ops) + 5 * noise, "cost": sum(COST[op] for op in ops)}


def tries(folder: str | Path) -> dict[str, int]:
    """How often each key started, from the log files in ``folder``."""
    counts: dict[str, int] = {}
    for path in Path(folder).glob("*.log"):
        for line in path.read_text().splitlines():
            key = line.split()[1]
            counts[key] = counts.get(key, 0) + 1
    return counts


class SometimesAborting(CountingEvaluator):
    """The soak's counting evaluator, except that about one key in 64 aborts its process (SIGABRT) when trained."""

    def evaluate(self, candidates: list[Candidate]) -> Iterator[Evaluation]:
        for candidate in candidates:
            if int(hashlib.sha1(candidate.key.encode()).hexdigest(), 16) % 64 == 0:
                os.abort()
            yield from super().evaluate([candidate])
