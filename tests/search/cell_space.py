"""A search space the package has never seen, for the tests of a user's own space: a cell of four nodes joined by six
edges, each edge one of five operations. Its genotype is a tuple of operation names and its key is its own: edges
that carry nothing to the output (their source cannot be reached from the input, or their target does not reach the
output) count as ``none``, so cells that compute the same thing share a key. Importable by worker processes."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

OPS = ("none", "skip_connect", "conv_1x1", "conv_3x3", "avg_pool_3x3")
EDGES = ((0, 1), (0, 2), (1, 2), (0, 3), (1, 3), (2, 3))  # (from node, to node); node 0 is the input, 3 the output
COST = {"none": 0.0, "skip_connect": 0.0, "conv_1x1": 1.0, "conv_3x3": 9.0, "avg_pool_3x3": 0.5}
GAIN = {"none": 0.0, "skip_connect": 1.0, "conv_1x1": 3.0, "conv_3x3": 6.0, "avg_pool_3x3": 1.5}


def contributing(ops: Sequence[str]) -> tuple[str, ...]:
    """The cell with ``none`` on every edge that carries nothing from the input to the output."""
    reached = {0}
    for source, target in EDGES:  # edges in topological order
        if ops[EDGES.index((source, target))] != "none" and source in reached:
            reached.add(target)
    reaches = {3}
    for source, target in reversed(EDGES):
        if ops[EDGES.index((source, target))] != "none" and target in reaches:
            reaches.add(source)
    return tuple(op if source in reached and target in reaches else "none"
                 for op, (source, target) in zip(ops, EDGES, strict=True))


class CellSpace:
    """Six edges, five operations: genome ``[op index per edge]``, genotype ``(op name per edge)``."""

    name = "cell"

    def __init__(self) -> None:
        self.lower = np.zeros(len(EDGES), dtype=np.int64)
        self.upper = np.full(len(EDGES), len(OPS) - 1, dtype=np.int64)

    @property
    def n_var(self) -> int:
        return len(EDGES)

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return rng.integers(self.lower, self.upper + 1, size=(n, self.n_var))

    def validate(self, genome: Sequence[int] | np.ndarray) -> np.ndarray:
        array = np.asarray(genome, dtype=np.int64)
        if array.shape != (self.n_var,) or (array < 0).any() or (array >= len(OPS)).any():
            raise ValueError(f"a cell genome is {self.n_var} integers in 0..{len(OPS) - 1}, got {list(genome)}")
        return array

    def decode(self, genome: Sequence[int] | np.ndarray) -> tuple[str, ...]:
        return tuple(OPS[i] for i in self.validate(genome))

    def key(self, genome: Sequence[int] | np.ndarray) -> str:
        return "cell-" + hashlib.sha1(repr(contributing(self.decode(genome))).encode()).hexdigest()[:10]

    def genotype_to_data(self, genotype: tuple[str, ...]) -> list[str]:
        return list(genotype)

    def genotype_from_data(self, data: Any) -> tuple[str, ...]:
        if not isinstance(data, list) or len(data) != len(EDGES) or any(op not in OPS for op in data):
            raise ValueError(f"a stored cell is a list of {len(EDGES)} names of {OPS}, got {data!r}")
        return tuple(data)


class DrawnCellSpace(CellSpace):
    """The same space, drawing its cells (one line of text per edge)."""

    def draw(self, genotype: tuple[str, ...], title: str | None = None) -> Figure:
        figure = Figure(figsize=(3, 2))
        FigureCanvasAgg(figure)
        lines = [f"{a} -> {b}: {op}" for (a, b), op in zip(EDGES, genotype, strict=True)]
        figure.text(0.05, 0.95, "\n".join([title or "cell", *lines]), va="top", fontsize=8)
        return figure


def cell_objectives(candidate: Any) -> dict[str, float]:
    """A cheap function of the cell: error falls with what the contributing edges compute, latency is their cost,
    and a cell whose output is cut off from the input fails."""
    ops = contributing(candidate.genotype)
    if all(op == "none" for op in ops):
        raise ValueError("the output is cut off from the input")
    jitter = int(hashlib.sha1(candidate.key.encode()).hexdigest(), 16) % 100 / 50
    return {"error": 40.0 - sum(GAIN[op] for op in ops) + jitter, "latency": sum(COST[op] for op in ops)}


def cell_latency(candidate: Any) -> dict[str, float]:
    """The latency of :func:`cell_objectives` without evaluating: what the surrogate's inner search ranks by."""
    return {"latency": sum(COST[op] for op in contributing(candidate.genotype))}
