"""Shared helpers of the search tests: a fast analytic evaluator and archive snapshots (no torch)."""

from __future__ import annotations

import hashlib
import math
import os
import signal
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from nsga_lightning.search import Archive, Candidate, Evaluation, SearchCallback, SearchRunner, safe_evaluate
from nsga_lightning.spaces import make_space

SPACES = {
    "micro": ("micro", 5, 6),
    "micro2": ("micro", 2, 6),
    "macro4": ("macro", 5, 4),
    "macro6": ("macro", 5, 6),
}


def space_by_name(name: str):
    kind, n_blocks, n_nodes = SPACES[name]
    return make_space(kind, n_blocks=n_blocks, n_nodes=n_nodes)


def _bucket(key: str) -> int:
    return int(hashlib.sha1(key.encode()).hexdigest(), 16) % 20


def analytic_objectives(candidate: Candidate) -> dict[str, float]:
    """Deterministic objectives of a genome; keyed failures: ~5% raise, ~5% return NaN."""
    bucket = _bucket(candidate.key)
    if bucket == 0:
        raise RuntimeError(f"analytic failure for {candidate.key}")
    g = np.asarray(candidate.genome, dtype=float)
    weights = 1.0 + (np.arange(g.size) % 7)
    madds = int(1000 + (g * weights).sum() * 37)
    params = int(500 + (g * (1 + np.arange(g.size) % 3)).sum() * 11)
    error = (
        5.0
        + 90.0 * math.exp(-(g * weights).sum() / (4.0 * g.size))
        + 2.0 * math.sin(float((g * weights).sum()))
    )
    if bucket == 1:
        error = float("nan")
    return {"error": error, "madds": madds, "params": params}


class AnalyticEvaluator:
    """Yields results one at a time and counts calls per key.

    Args:
        stop_at: ``(generation, k)``: before evaluating the (k+1)-th candidate of that generation, ``signal``.
        signal: "kill" (SIGKILL this process) or "interrupt" (raise KeyboardInterrupt).
    """

    def __init__(self, stop_at: tuple[int, int] | None = None, signal: str = "kill") -> None:
        self.calls: Counter[str] = Counter()
        self.per_generation: Counter[int] = Counter()
        self.stop_at = stop_at
        self.signal = signal

    def fingerprint(self) -> dict:
        return {"kind": "analytic", "version": 1}

    def evaluate(self, candidates: list[Candidate]) -> Iterator[Evaluation]:
        for candidate in candidates:
            if self.stop_at is not None and (
                candidate.generation,
                self.per_generation[candidate.generation],
            ) == tuple(self.stop_at):
                if self.signal == "kill":
                    os.kill(os.getpid(), signal.SIGKILL)
                raise KeyboardInterrupt
            self.calls[candidate.key] += 1
            self.per_generation[candidate.generation] += 1
            yield safe_evaluate(analytic_objectives, candidate)


def make_runner(run_dir, space: str = "micro", evaluator=None, **kwargs) -> SearchRunner:
    settings = {"pop_size": 10, "n_offspring": 6, "n_gens": 5, "seed": 0}
    settings.update(kwargs)
    return SearchRunner(space_by_name(space), evaluator or AnalyticEvaluator(), run_dir, **settings)


def snapshot(run_dir) -> dict:
    """Everything in an archive that must match between equal runs (timing columns left out)."""
    with Archive(Path(run_dir)) as archive:
        rows = [
            (r.key, r.genome, r.genotype, r.generation, r.seed, r.status, r.objectives, r.error_text)
            for r in archive.rows()
        ]
        generations = [
            (g.generation, g.population, g.rank, g.crowding, g.rng_state) for g in archive.generations()
        ]
        meta = archive.meta()
    return {"rows": rows, "generations": generations, "fingerprint": meta["fingerprint"]}


class StopAfter(SearchCallback):
    """Raise KeyboardInterrupt right after the n-th committed candidate (before its generation is recorded)."""

    def __init__(self, n: int) -> None:
        self.n, self.seen = n, 0

    def on_candidate_end(self, runner, candidate, evaluation) -> None:
        self.seen += 1
        if self.seen == self.n:
            raise KeyboardInterrupt
