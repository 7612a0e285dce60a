"""Surrogate models made of the single ones (``models.py``, looked up by name in ``predictor.MODELS``): ``auto``, the
single models weighted by their cross-validated Kendall tau, and ``ensemble``, their plain mean."""

from __future__ import annotations

import numpy as np

from nsga_lightning.search.surrogate.predictor import (
    MODELS,
    CannotFitError,
    Predictor,
    kendall_tau,
    make_model,
)

__all__ = ["AutoModel", "EnsembleModel"]


class AutoModel:
    """Adaptive switching made safe: the k-fold cross-validated Kendall tau of every candidate, then the mean of
    the candidates weighted by their score (mean tau minus std) where it is positive, each refitted on all rows;
    where none is, the best alone (NSGANetV2's choice). A candidate that cannot fit scores minus infinity; a fold
    with an undefined tau (constant predictions) counts 0. Weighing instead of choosing keeps a noisy
    cross-validation from switching to a worse model (README, "Train fewer children").

    Args:
        seed: Seeds the folds and the candidates.
        candidates: Names of the models to weigh (default: rbf, gp, trees, as NSGANetV2).
        folds: Number of folds (at most the number of rows).

    Attributes:
        chosen: What predicts after :meth:`fit`: a model's name, or the weighted names joined by ``+``.
        scores: ``{name: (mean tau, std tau)}`` of the last fit.
        weights: ``{name: weight}`` of the models that predict (summing to 1).
    """

    name = "auto"

    def __init__(self, seed: int = 0, candidates: tuple[str, ...] = ("rbf", "gp", "trees"), folds: int = 5) -> None:
        unknown = [c for c in candidates if c not in MODELS or c == "auto"]
        if unknown or not candidates:
            raise ValueError(f"auto chooses among {sorted(set(MODELS) - {'auto'})}, got {list(candidates)}")
        self.seed, self.candidates, self.folds = seed, tuple(candidates), folds
        self.chosen: str | None = None
        self.scores: dict[str, tuple[float, float]] = {}
        self.weights: dict[str, float] = {}
        self._models: list[tuple[float, Predictor]] = []

    def fit(self, X: np.ndarray, y: np.ndarray) -> AutoModel:
        from sklearn.model_selection import KFold

        X, y = np.asarray(X, dtype=float), np.asarray(y, dtype=float)
        k = min(self.folds, X.shape[0])
        if k < 2:
            raise CannotFitError(f"auto needs at least 2 trained architectures to cross-validate, got {X.shape[0]}")
        splits = list(KFold(k, shuffle=True, random_state=self.seed).split(X))
        self.scores = {}
        for name in self.candidates:
            taus = []
            try:
                for train, held in splits:
                    model = make_model(name, self.seed).fit(X[train], y[train])
                    tau = kendall_tau(model.predict(X[held])[0], y[held])
                    taus.append(0.0 if np.isnan(tau) else tau)
            except CannotFitError:
                self.scores[name] = (-np.inf, 0.0)
                continue
            self.scores[name] = (float(np.mean(taus)), float(np.std(taus)))
        fitted = {n: m - s for n, (m, s) in self.scores.items() if np.isfinite(m)}
        if not fitted:
            raise CannotFitError(f"no surrogate model could be fitted on {X.shape[0]} rows: {self.scores}")
        positive = {n: v for n, v in fitted.items() if v > 0}
        best = max(fitted, key=lambda n: fitted[n])  # the first of equal scores, in candidate order
        total = sum(positive.values())
        self.weights = {n: v / total for n, v in positive.items()} if positive else {best: 1.0}
        self._models = [(w, make_model(n, self.seed).fit(X, y)) for n, w in self.weights.items()]
        self.chosen = "+".join(self.weights)
        return self

    def predict(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if not self._models:
            raise RuntimeError("AutoModel.predict called before fit")
        w = np.array([weight for weight, _ in self._models])[:, None]
        means, stds = zip(*(model.predict(X) for _, model in self._models))
        M, S = np.stack(means), np.stack(stds)  # (models, n)
        mean = (w * M).sum(axis=0)
        return mean, np.sqrt((w * S**2).sum(axis=0) + (w * (M - mean) ** 2).sum(axis=0))


class EnsembleModel:
    """The mean of several models (default rbf, gp and trees) fitted to every row; a member that cannot be fitted
    yet is left out. Its std is the mixture's: the members' variances and the spread of their means together.

    Args:
        seed: Seeds every member.
        members: Names of the models averaged.
    """

    name = "ensemble"

    def __init__(self, seed: int = 0, members: tuple[str, ...] = ("rbf", "gp", "trees")) -> None:
        self.seed, self.members = seed, tuple(members)
        self._models: list[Predictor] = []

    def fit(self, X: np.ndarray, y: np.ndarray) -> EnsembleModel:
        self._models = []
        for name in self.members:
            try:
                self._models.append(make_model(name, self.seed).fit(X, y))
            except CannotFitError:
                continue
        if not self._models:
            raise CannotFitError(f"no member of the ensemble ({', '.join(self.members)}) could be fitted on "
                                 f"{np.asarray(X).shape[0]} rows")
        return self

    def predict(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if not self._models:
            raise RuntimeError("EnsembleModel.predict called before fit")
        means, stds = zip(*(model.predict(X) for model in self._models))
        M, S = np.stack(means), np.stack(stds)  # (members, n)
        return M.mean(axis=0), np.sqrt((S**2).mean(axis=0) + M.var(axis=0))
