"""Shared helpers of the search tests: fast analytic evaluators, a pool that completes out of order, a scorer, and
archive snapshots (no torch)."""

from __future__ import annotations

import hashlib
import math
import os
import signal
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from nsga_lightning.search import (
    Archive,
    Candidate,
    Evaluation,
    FunctionEvaluator,
    SearchCallback,
    SearchRunner,
    safe_evaluate,
)
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


def _complexity(g: np.ndarray) -> dict[str, float]:
    """The analytic MAdds and parameters of a genome (as floats, as the archive stores them)."""
    weights = 1.0 + (np.arange(g.size) % 7)
    return {"madds": int(1000 + (g * weights).sum() * 37), "params": int(500 + (g * (1 + np.arange(g.size) % 3))
                                                                          .sum() * 11)}


def analytic_complexity(candidates) -> list[dict[str, float]]:
    """The complexity objectives of :func:`analytic_objectives` without training (and without its failures): what
    the surrogate's inner search counts."""
    return [{k: float(v) for k, v in _complexity(np.asarray(c.genome, dtype=float)).items()} for c in candidates]


def analytic_objectives(candidate: Candidate) -> dict[str, float]:
    """Deterministic objectives of a genome; keyed failures: ~5% raise, ~5% return NaN."""
    bucket = _bucket(candidate.key)
    if bucket == 0:
        raise RuntimeError(f"analytic failure for {candidate.key}")
    g = np.asarray(candidate.genome, dtype=float)
    weights = 1.0 + (np.arange(g.size) % 7)
    error = (
        5.0
        + 90.0 * math.exp(-(g * weights).sum() / (4.0 * g.size))
        + 2.0 * math.sin(float((g * weights).sum()))
    )
    if bucket == 1:
        error = float("nan")
    return {"error": error, **_complexity(g)}


def rung_objectives(candidate: Candidate) -> dict[str, float]:
    """Analytic objectives whose error falls with the epochs by a key-dependent amount (so ranks change between
    rungs); ``epochs`` ``None`` (no rungs) counts as 9."""
    values = analytic_objectives(candidate)
    values["error"] += 40 * (int(candidate.key[-2:], 16) / 255) / (candidate.epochs or 9)
    return values


class CountingEvaluator(FunctionEvaluator):
    """:func:`rung_objectives` one candidate at a time, recording what it trains (``(key, epochs)``); it can stand
    behind a local pool (``prepare``, ``runtime``) and be copied into its worker processes (``CopyFactory``)."""

    def __init__(self) -> None:
        super().__init__(rung_objectives, {"kind": "counting", "version": 1})
        self.trained: list[tuple[str, int | None]] = []

    def evaluate(self, candidates: list[Candidate]) -> Iterator[Evaluation]:
        for candidate, evaluation in zip(candidates, super().evaluate(candidates)):
            self.trained.append((candidate.key, candidate.epochs))
            yield evaluation

    def prepare(self) -> None:
        """Nothing to prepare."""

    def runtime(self) -> dict:
        """No runtime setting changes these results."""
        return {}


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


class OutOfOrderPool:
    """An asynchronous evaluator with ``workers`` slots: of what is in flight, the job with the smallest hash of
    (key, epochs) finishes first (a fixed order that is not the order of submission), so the tests need no
    processes. ``evaluate`` (the generational loop) submits the batch and yields it in that order too."""

    def __init__(self, workers: int = 3, objectives=rung_objectives) -> None:
        self.workers = workers
        self.objectives = objectives
        self.flight: list[Candidate] = []
        self.submitted: list[tuple[str, int]] = []  # (key, epochs), in submission order
        self.trained: list[tuple[str, int]] = []
        self.most_in_flight = 0
        self.promoted_while_first_rung_open = 0

    def fingerprint(self) -> dict:
        return {"kind": "out-of-order", "version": 1}

    def evaluate(self, candidates: list[Candidate]) -> Iterator[Evaluation]:
        try:
            for candidate in candidates:
                self.submit(candidate)
            while self.flight:
                yield self.next_completed()
        finally:
            self.cancel()

    def submit(self, candidate: Candidate) -> None:
        if candidate.epochs not in (None, 1) and any(c.epochs == 1 for c in self.flight):
            self.promoted_while_first_rung_open += 1
        self.flight.append(candidate)
        self.submitted.append((candidate.key, candidate.epochs))
        self.most_in_flight = max(self.most_in_flight, len(self.flight))

    def next_completed(self) -> Evaluation:
        candidate = min(self.flight, key=lambda c: hashlib.sha1(f"{c.key}:{c.epochs}".encode()).hexdigest())
        self.flight.remove(candidate)
        self.trained.append((candidate.key, candidate.epochs))
        return safe_evaluate(self.objectives, candidate)

    def cancel(self) -> None:
        self.flight.clear()


class KeyScorer:
    """A zero-cost scorer stand-in: a score and complexity from the key (deterministic); keys in ``unscorable``
    get no score."""

    def __init__(self, unscorable: frozenset[str] = frozenset()) -> None:
        self.calls: list[str] = []
        self.unscorable = unscorable

    def __call__(self, candidates):
        out = []
        for c in candidates:
            self.calls.append(c.key)
            digest = int(hashlib.sha1(c.key.encode()).hexdigest(), 16)
            complexity = {"madds": float(1e6 + digest % 1000 * 1e3), "params": float(digest % 777)}
            if c.key in self.unscorable:
                out.append((None, complexity, "ValueError: no path"))
            else:
                out.append((float(digest % 997) / 10, complexity, None))
        return out
