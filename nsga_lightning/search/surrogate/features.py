"""Genome features for the surrogate: one-hot by the space's integer bounds, one reference level dropped.

Each variable with ``k`` allowed values becomes ``k - 1`` indicator columns (its lowest value is the all-zero
reference). Dropping that column keeps the design matrix full rank, which a linear polynomial tail (the cubic
RBF's) needs: with all ``k`` columns the indicators of every variable sum to one and the tail is singular.
A variable whose bounds allow one value gives no column.
"""

from __future__ import annotations

import numpy as np

__all__ = ["MixedFeatures", "OneHotFeatures"]


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

    def describe(self) -> str | dict[str, list[int]]:
        """The encoding, as the surrogate's fingerprint block names it."""
        return "one-hot by bounds"

    def _checked(self, genomes: np.ndarray) -> np.ndarray:
        X = np.atleast_2d(np.asarray(genomes, dtype=np.int64))
        if X.shape[1] != self.lower.size:
            raise ValueError(f"genomes must have {self.lower.size} values, got {X.shape[1]}")
        if np.any(X < self.lower) or np.any(X > self.upper):
            raise ValueError("a genome value lies outside the space's bounds")
        return X

    def __call__(self, genomes: np.ndarray) -> np.ndarray:
        """Features of ``genomes`` ``(n, n_var)`` as a float array ``(n, n_features)``.

        Raises:
            ValueError: If a genome has the wrong length or a value outside the bounds.
        """
        X = self._checked(genomes)
        out = np.zeros((X.shape[0], self.n_features))
        level = X - self.lower  # 0 = reference level: no column set
        rows, cols = np.nonzero(level)
        out[rows, self._offsets[cols] + level[rows, cols] - 1] = 1.0
        return out


class MixedFeatures(OneHotFeatures):
    """Features for a space that says which positions are categories (``search.genes: space``): a categorical
    position one-hot as :class:`OneHotFeatures` encodes every position, an ordered one as one column, its value
    scaled to ``[0, 1]`` by its bounds (a position with one allowed value gives none).

    Args:
        lower: The space's lower bounds, shape ``(n_var,)``.
        upper: The space's upper bounds (inclusive).
        categorical: One truth value per position.

    Raises:
        ValueError: If the bounds differ in shape, a lower bound exceeds its upper bound, or ``categorical`` has
            another length.
    """

    def __init__(self, lower: np.ndarray, upper: np.ndarray, categorical: np.ndarray) -> None:
        super().__init__(lower, upper)
        self.categorical = np.asarray(categorical, dtype=bool)
        if self.categorical.shape != self.lower.shape:
            raise ValueError(f"categorical must have one value per position ({self.lower.size}), got "
                             f"{self.categorical.shape}")
        self.ordered = np.flatnonzero(~self.categorical & (self.upper > self.lower))
        self._onehot = OneHotFeatures(np.where(self.categorical, self.lower, 0), np.where(self.categorical,
                                                                                         self.upper, 0))
        self.n_features = self._onehot.n_features + self.ordered.size

    def describe(self) -> str | dict[str, list[int]]:
        """What encodes each position (a space of categories only: as :class:`OneHotFeatures`)."""
        if self.categorical.all():
            return super().describe()
        return {"one-hot": np.flatnonzero(self.categorical).tolist(), "ordinal": self.ordered.tolist()}

    def __call__(self, genomes: np.ndarray) -> np.ndarray:
        """Features of ``genomes`` ``(n, n_var)`` as a float array ``(n, n_features)``.

        Raises:
            ValueError: If a genome has the wrong length or a value outside the bounds.
        """
        X = self._checked(genomes)
        span = (self.upper - self.lower)[self.ordered]
        scaled = (X[:, self.ordered] - self.lower[self.ordered]) / span
        return np.hstack([self._onehot(np.where(self.categorical, X, 0)), scaled])
