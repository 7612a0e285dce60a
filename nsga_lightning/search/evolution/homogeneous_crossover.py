"""Homogeneous crossover: children keep what both parents share (the paper's crossover; its code used two-point).

* macro (bits): every bit both parents agree on is inherited. Of the positions where they differ, each parent
  has some 1-bits there (``a`` and ``b``, ``a + b`` = the number of differing positions); a child gets ``c``
  ones placed at random among them, ``c`` drawn from ``[min(a, b), max(a, b))`` (``c = a`` when equal), as the
  paper's 2018 code did. A phase left with no connection bit although a parent had one is repaired by setting
  its first bit (node 1 -> node 2), so a crossover never makes a phase vanish that a parent kept.
* micro (blocks): a block both parents have at the same position, up to the order of its two units, is
  inherited; every other block comes whole from one parent or the other (the second child takes the other
  parent's). Block inputs refer to positions, so whole blocks at their own position always give valid genomes.
* a space of your own (genes): every gene both parents share is inherited; every other gene comes from one parent
  or the other at random (the second child takes the other parent's), so each child stays within the bounds.

Two parents give two children; applied with probability 1, as the two-point crossover it replaces.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from pymoo.core.crossover import Crossover
from pymoo.core.problem import Problem

from nsga_lightning.spaces import MacroSpace, MicroSpace, SearchSpace

CROSSOVERS = ("two_point", "homogeneous")


def macro_children(a: np.ndarray, b: np.ndarray, per_phase: int, rng: np.random.Generator) -> list[np.ndarray]:
    """Two children of macro parents ``a`` and ``b`` (0/1 arrays)."""
    differ = np.flatnonzero(a != b)
    ones_a, ones_b = int(a[differ].sum()), int(b[differ].sum())
    low, high = min(ones_a, ones_b), max(ones_a, ones_b)
    children = []
    for _ in range(2):
        child = np.where(a == b, a, 0)
        count = low if low == high else int(rng.integers(low, high))
        if count:
            child[rng.choice(differ, size=count, replace=False)] = 1
        for start in range(0, child.size, per_phase):
            connections = slice(start, start + per_phase - 1)
            if not child[connections].any() and (a[connections].any() or b[connections].any()):
                child[start] = 1
        children.append(child)
    return children


def gene_children(a: np.ndarray, b: np.ndarray, rng: np.random.Generator) -> list[np.ndarray]:
    """Two children of parents ``a`` and ``b`` of any space: shared genes kept, the others from either parent."""
    swap = (a != b) & (rng.random(a.size) < 0.5)
    return [np.where(swap, b, a), np.where(swap, a, b)]


def micro_children(a: np.ndarray, b: np.ndarray, rng: np.random.Generator) -> list[np.ndarray]:
    """Two children of micro parents ``a`` and ``b``: shared blocks kept, the others whole from either."""
    first, second = a.copy(), b.copy()
    for start in range(0, a.size, 4):
        block_a, block_b = a[start:start + 4], b[start:start + 4]
        shared = np.array_equal(block_a, block_b) or np.array_equal(block_a, np.r_[block_b[2:], block_b[:2]])
        if shared:
            first[start:start + 4] = second[start:start + 4] = block_a
        elif rng.random() < 0.5:
            first[start:start + 4], second[start:start + 4] = block_b, block_a
    return [first, second]


class HomogeneousCrossover(Crossover):
    """pymoo crossover (2 parents, 2 children) that preserves the parents' common sub-structure.

    Args:
        space: the search space (``micro``: blocks of 4 genes; ``macro``: phases of ``n(n-1)/2 + 1`` bits; any
            other: genes).
    """

    def __init__(self, space: SearchSpace) -> None:
        super().__init__(2, 2, prob=1.0)
        self.space = space
        self.unit = "phase bits" if isinstance(space, MacroSpace) else "blocks" if isinstance(space, MicroSpace) else (
            "genes")

    def _do(self, problem: Problem, X: np.ndarray, *args: Any, random_state: np.random.Generator = None,
            **kwargs: Any) -> np.ndarray:
        _, n_matings, n_var = X.shape
        out = np.empty((2, n_matings, n_var), dtype=X.dtype)
        per_phase = n_var // 3
        for i in range(n_matings):
            a, b = X[0, i].astype(np.int64), X[1, i].astype(np.int64)
            if self.unit == "phase bits":
                children = macro_children(a, b, per_phase, random_state)
            elif self.unit == "blocks":
                children = micro_children(a, b, random_state)
            else:
                children = gene_children(a, b, random_state)
            out[0, i], out[1, i] = children
        return out
