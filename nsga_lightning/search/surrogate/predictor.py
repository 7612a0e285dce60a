"""What the search needs of a surrogate model (:class:`Predictor`), the error of one that cannot be fitted yet, the
table of models by name (:data:`MODELS`, filled by ``models.py``) and :func:`make_model`; Kendall's tau, by which
the models are judged; :func:`one_thread`, the thread limit their fits and predictions run under. The single models
(``models.py``) and those made of them (``combined.py``) both build on this module, so neither imports the
other's."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Protocol

import numpy as np

__all__ = ["MODELS", "CannotFitError", "Predictor", "kendall_tau", "make_model", "one_thread"]


class CannotFitError(ValueError):
    """A model cannot be fitted on these rows yet (too few, or a singular system)."""


class Predictor(Protocol):
    """What the search needs of a surrogate model."""

    name: str

    def fit(self, X: np.ndarray, y: np.ndarray) -> Predictor:
        """Fit on features ``X`` ``(n, d)`` and targets ``y`` ``(n,)``; returns the fitted model."""
        ...

    def predict(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Mean and standard deviation ``(n,)`` each of the target for features ``X``."""
        ...


# name -> constructor(seed); ``models.py`` fills it with the single models, ``auto`` and ``ensemble``
MODELS: dict[str, Callable[[int], Predictor]] = {}


def kendall_tau(predicted: np.ndarray, measured: np.ndarray) -> float:
    """Kendall's tau-b of two score vectors; ``nan`` with fewer than two values or a constant vector."""
    from scipy.stats import kendalltau

    predicted, measured = np.asarray(predicted, dtype=float), np.asarray(measured, dtype=float)
    if predicted.size < 2 or np.ptp(predicted) == 0 or np.ptp(measured) == 0:
        return float("nan")
    return float(kendalltau(predicted, measured).statistic)


def make_model(name: str, seed: int = 0) -> Predictor:
    """A fresh, unfitted model by name.

    Raises:
        ValueError: For an unknown name (the message lists the known ones).
    """
    if name not in MODELS:
        raise ValueError(f"unknown surrogate model {name!r}; choose one of {sorted(MODELS)}")
    return MODELS[name](seed)


@contextlib.contextmanager
def one_thread() -> Iterator[None]:
    """Linear algebra (BLAS, OpenMP) on one thread inside: the surrogate's fits and predictions are small (tens to
    hundreds of rows), and a BLAS thread pool busy-waiting for a core that training holds made them 1.3x slower on
    the NAS-Bench-Graph search with the machine's cores busy (11.6 s vs 8.2 s for 110 evaluations, same archive),
    up to 60x for one SVD; one thread also computes alike on any machine."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):
        yield
