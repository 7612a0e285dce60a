"""Genome features for the surrogate: one-hot by the space's integer bounds, one reference level dropped.

Each variable with ``k`` allowed values becomes ``k - 1`` indicator columns (its lowest value is the all-zero
reference). Dropping that column keeps the design matrix full rank, which a linear polynomial tail (the cubic
RBF's) needs: with all ``k`` columns the indicators of every variable sum to one and the tail is singular.
A variable whose bounds allow one value gives no column.
"""

from __future__ import annotations

import numpy as np

__all__ = ["OneHotFeatures"]


class OneHotFeatures:
    """Encode integer genomes as 0/1 indicator features.

    Args:
        lower: The space's lower bounds, shape ``(n_var,)``.
        upper: The space's upper bounds (inclusive), shape ``(n_var,)``.

    Raises:
        ValueError: If the bounds differ in shape or a lower bound exceeds its upper bound.
    """

    def __init__(self, lower: np.ndarray, upper: np.ndarray) -> None:
        lower, upper = np.asarray(lower, dtype=np.int64), np.asarray(upper, dtype=np.int64)
        if lower.shape != upper.shape or lower.ndim != 1:
            raise ValueError(f"bounds must be two vectors of one length, got shapes {lower.shape} and {upper.shape}")
        if np.any(lower > upper):
            raise ValueError(f"a lower bound exceeds its upper bound at positions {np.flatnonzero(lower > upper)}")
        self.lower, self.upper = lower, upper
        levels = upper - lower  # columns per variable (one level dropped)
        self._offsets = np.concatenate([[0], np.cumsum(levels)[:-1]])
        self.n_features = int(levels.sum())

    def __call__(self, genomes: np.ndarray) -> np.ndarray:
        """Features of ``genomes`` ``(n, n_var)`` as a float array ``(n, n_features)``.

        Raises:
            ValueError: If a genome has the wrong length or a value outside the bounds.
        """
        X = np.atleast_2d(np.asarray(genomes, dtype=np.int64))
        if X.shape[1] != self.lower.size:
            raise ValueError(f"genomes must have {self.lower.size} values, got {X.shape[1]}")
        if np.any(X < self.lower) or np.any(X > self.upper):
            raise ValueError("a genome value lies outside the space's bounds")
        out = np.zeros((X.shape[0], self.n_features))
        level = X - self.lower  # 0 = reference level: no column set
        rows, cols = np.nonzero(level)
        out[rows, self._offsets[cols] + level[rows, cols] - 1] = 1.0
        return out
