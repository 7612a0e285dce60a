"""NSGA-Net's mutation: polynomial mutation, eta 3, per-variable probability ``1/n_var``, on integers as the
original does: bounds widened to ``[xl - 0.5, xu + 0.5]``, perturbed, rounded, clipped back into the bounds."""

from __future__ import annotations

from typing import Any

import numpy as np
from pymoo.core.problem import Problem
from pymoo.core.variable import get
from pymoo.operators.mutation.pm import PM, mut_pm
from pymoo.operators.repair.rounding import RoundingRepair

ETA = 3.0


class IntegerPolynomialMutation(PM):
    """Polynomial mutation on integer genes, as the original applies it.

    Each gene mutates with probability ``prob_var`` (default ``1/n_var``); the perturbation uses bounds
    widened by 0.5 on both sides so every integer value is equally reachable, then the result is rounded and
    clipped.
    """

    def __init__(self, eta: float = ETA, prob_var: float | None = None) -> None:
        super().__init__(prob=1.0, eta=eta, prob_var=prob_var, vtype=float, repair=RoundingRepair())

    def _do(
        self,
        problem: Problem,
        X: np.ndarray,
        params: Any = None,
        *args: Any,
        random_state: np.random.Generator = None,
        **kwargs: Any,
    ) -> np.ndarray:
        eta = get(self.eta, size=len(X))
        prob_var = self.get_prob_var(problem, size=len(X))
        return _integer_step(X.astype(float), problem.xl, problem.xu, eta, prob_var, random_state)


def _integer_step(X: np.ndarray, lower: np.ndarray, upper: np.ndarray, eta: np.ndarray, prob_var: np.ndarray,
                  random_state: np.random.Generator) -> np.ndarray:
    """The polynomial step on integer genes: bounds widened by 0.5, then rounded and clipped back into them
    ((n, n_var) floats holding integers)."""
    Xp = mut_pm(X, lower - 0.5, upper + 0.5, eta, prob_var, at_least_once=False, random_state=random_state)
    return np.clip(np.around(Xp), lower, upper)


class CategoricalMutation(IntegerPolynomialMutation):
    """Mutation for a space that says which positions are categories (``search.genes: space``): each gene mutates
    with probability ``prob_var``; a categorical one then takes one of its other values, uniformly (an operation
    index is a name, so 3 is no nearer to 2 than to 7), an ordered one is perturbed by the polynomial mutation as
    :class:`IntegerPolynomialMutation` does.

    Args:
        categorical: one truth value per genome position (``spaces.categorical_positions``).
        eta: the polynomial mutation's distribution index (ordered positions).
        prob_var: per-gene mutation probability (default ``1/n_var``).
    """

    def __init__(self, categorical: np.ndarray, eta: float = ETA, prob_var: float | None = None) -> None:
        super().__init__(eta=eta, prob_var=prob_var)
        self._categorical = np.asarray(categorical, dtype=bool)
        # described by value in the run fingerprint
        self.categorical_positions = ",".join(str(i) for i in np.flatnonzero(self._categorical))

    def _do(
        self,
        problem: Problem,
        X: np.ndarray,
        params: Any = None,
        *args: Any,
        random_state: np.random.Generator = None,
        **kwargs: Any,
    ) -> np.ndarray:
        out = X.astype(float).copy()  # (n, n_var)
        prob_var = self.get_prob_var(problem, size=len(X))  # (n,)
        ordered = ~self._categorical
        if ordered.any():
            out[:, ordered] = _integer_step(out[:, ordered], problem.xl[ordered], problem.xu[ordered],
                                            get(self.eta, size=len(X)), prob_var, random_state)
        lower, size = problem.xl[self._categorical], problem.xu[self._categorical] - problem.xl[self._categorical] + 1
        draws = random_state.random((len(X), int(self._categorical.sum()), 2))  # (n, categories, [whether, which])
        mutate = (draws[..., 0] < prob_var[:, None]) & (size > 1)
        shift = 1 + np.floor(draws[..., 1] * (size - 1))  # 1 .. size - 1: another value, each equally likely
        values = out[:, self._categorical]
        out[:, self._categorical] = np.where(mutate, lower + (values - lower + shift) % size, values)
        return out
