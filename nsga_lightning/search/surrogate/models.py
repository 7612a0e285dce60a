"""Accuracy predictors for the surrogate-assisted search: cubic RBF, Gaussian process, tree ensemble, MLP, ``auto``
(NSGANetV2's adaptive switching, weighing the models by cross-validated Kendall tau) and ``ensemble`` (their mean).

Every model maps features ``(n, d)`` to a target ``(n,)`` and predicts a mean and a standard deviation (zeros for
the models that have none). Fits are deterministic for a seed: scikit-learn models get ``random_state`` and the
folds of ``auto`` are seeded. ``auto`` and ``ensemble`` live in ``combined.py``, the protocol, the table of models
(:data:`MODELS`, filled here) and :func:`make_model` in ``predictor.py``. Targets are standardised inside each
model, so a model sees values of order one.
"""

from __future__ import annotations

import warnings

import numpy as np

from nsga_lightning.search.surrogate.combined import AutoModel, EnsembleModel
from nsga_lightning.search.surrogate.predictor import (
    MODELS,
    CannotFitError,
    Predictor,
    kendall_tau,
    make_model,
)

__all__ = ["MODELS", "CannotFitError", "GPModel", "MLPModel", "Predictor", "RBFModel", "TreesModel",
           "kendall_tau", "make_model"]


class _Standardised:
    """Target standardisation shared by the models (mean 0, std 1 over the fitted targets)."""

    name = "base"

    def __init__(self, seed: int = 0) -> None:
        self.seed = seed
        self._mean, self._scale = 0.0, 1.0

    def fit(self, X: np.ndarray, y: np.ndarray) -> _Standardised:
        X, y = np.asarray(X, dtype=float), np.asarray(y, dtype=float)
        if X.ndim != 2 or y.shape != (X.shape[0],):
            raise ValueError(f"features must be (n, d) and targets (n,), got {X.shape} and {y.shape}")
        if X.shape[0] < 2:
            raise CannotFitError(f"a {self.name} surrogate needs at least 2 trained architectures, got {X.shape[0]}")
        self._mean = float(y.mean())
        self._scale = float(y.std()) or 1.0
        try:
            self._fit(X, (y - self._mean) / self._scale)
        except np.linalg.LinAlgError as error:
            raise CannotFitError(f"the {self.name} surrogate's system is singular on {X.shape[0]} rows: {error}") \
                from error
        return self

    def predict(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        mean, std = self._predict(np.asarray(X, dtype=float))
        return mean * self._scale + self._mean, std * self._scale

    def _fit(self, X: np.ndarray, z: np.ndarray) -> None:
        raise NotImplementedError

    def _predict(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        raise NotImplementedError


class RBFModel(_Standardised):
    """Cubic radial basis function interpolant with a linear tail (scipy's ``RBFInterpolator``), NSGANetV2's
    default.

    The linear tail needs more rows than dimensions plus one, and rows that span every dimension. The features
    are therefore first projected onto their principal directions: those the centred rows actually span (one-hot
    levels never seen, or always seen together, add none), at most ``rows - 2`` of them. One-hot features of a
    40-gene genome have ~220 columns, and 230 rows of a search spanned only 123 of them. A cubic without the
    tail (``degree=0``) is not well posed and ranked held-out architectures worse than chance in a test here.
    ``dims`` records the dimensions used.
    """

    name = "rbf"

    def _fit(self, X: np.ndarray, z: np.ndarray) -> None:
        from scipy.interpolate import RBFInterpolator

        n = X.shape[0]
        self._center = X.mean(axis=0)
        _, singular, vt = np.linalg.svd(X - self._center, full_matrices=False)
        rank = int(np.sum(singular > singular.max(initial=0.0) * 1e-9))
        self._basis = vt[: max(min(rank, n - 2), 1)].T  # (d, dims)
        self._rbf = RBFInterpolator(self._project(X), z, kernel="cubic", degree=1, smoothing=1e-6)

    def _project(self, X: np.ndarray) -> np.ndarray:
        return (X - self._center) @ self._basis

    @property
    def dims(self) -> int:
        """The number of dimensions the interpolant works in."""
        return int(self._rbf.y.shape[1])

    def _predict(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        mean = self._rbf(self._project(X))
        return mean, np.zeros_like(mean)


class GPModel(_Standardised):
    """Gaussian process (scikit-learn): constant x RBF kernel plus white noise; predicts a standard deviation."""

    name = "gp"

    def _fit(self, X: np.ndarray, z: np.ndarray) -> None:
        from sklearn.gaussian_process import GaussianProcessRegressor
        from sklearn.gaussian_process.kernels import RBF, ConstantKernel, WhiteKernel

        kernel = ConstantKernel(1.0, (1e-3, 1e3)) * RBF(np.sqrt(X.shape[1]), (1e-2, 1e3)) \
            + WhiteKernel(0.1, (1e-6, 1e1))
        self._gp = GaussianProcessRegressor(kernel, normalize_y=False, random_state=self.seed)
        with warnings.catch_warnings():  # a bound reached by the optimiser is a fact about the data, not an error
            warnings.simplefilter("ignore")
            self._gp.fit(X, z)

    def _predict(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        mean, std = self._gp.predict(X, return_std=True)
        return mean, std


class TreesModel(_Standardised):
    """Extremely randomised trees (scikit-learn); the spread of the trees' predictions is the std."""

    name = "trees"

    def __init__(self, seed: int = 0, n_estimators: int = 200) -> None:
        super().__init__(seed)
        self.n_estimators = n_estimators

    def _fit(self, X: np.ndarray, z: np.ndarray) -> None:
        from sklearn.ensemble import ExtraTreesRegressor

        self._trees = ExtraTreesRegressor(n_estimators=self.n_estimators, max_features=0.5, min_samples_leaf=1,
                                          random_state=self.seed, n_jobs=1).fit(X, z)

    def _predict(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        each = np.stack([tree.predict(X) for tree in self._trees.estimators_])  # (trees, n)
        return each.mean(axis=0), each.std(axis=0)


class MLPModel(_Standardised):
    """A small multilayer perceptron (scikit-learn, CPU): two hidden layers of 64 ReLU units, L2 1e-3."""

    name = "mlp"

    def _fit(self, X: np.ndarray, z: np.ndarray) -> None:
        from sklearn.neural_network import MLPRegressor

        self._mlp = MLPRegressor(hidden_layer_sizes=(64, 64), alpha=1e-3, learning_rate_init=1e-3, max_iter=2000, tol=1e-6,
                                 random_state=self.seed)
        with warnings.catch_warnings():  # ConvergenceWarning at max_iter on tiny data is expected
            warnings.simplefilter("ignore")
            self._mlp.fit(X, z)

    def _predict(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        mean = self._mlp.predict(X)
        return mean, np.zeros_like(mean)


MODELS.update({"rbf": RBFModel, "gp": GPModel, "trees": TreesModel, "mlp": MLPModel, "auto": AutoModel,
               "ensemble": EnsembleModel})
