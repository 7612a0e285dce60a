"""The surrogate's parts on their own: one-hot features, each model's fit and determinism, ``auto``'s choice,
hypervolume and the choice of children."""

from __future__ import annotations

import numpy as np
import pytest
from search_helpers import space_by_name

from nsga_lightning.search.surrogate import (
    AutoModel,
    CannotFitError,
    EnsembleModel,
    OneHotFeatures,
    hypervolume,
    kendall_tau,
    make_model,
    select_children,
)
from nsga_lightning.search.surrogate import models as surrogate_models


def _landscape(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """One-hot micro genomes and an additive target (log-error-like, plus a little noise)."""
    space = space_by_name("micro")
    features = OneHotFeatures(space.lower, space.upper)
    rng = np.random.default_rng(seed)
    X = features(space.sample(rng, n))
    weights = np.random.default_rng(99).normal(size=features.n_features)
    return X, np.log(30 + X @ weights + 0.3 * rng.normal(size=n))


def test_one_hot_drops_one_level_per_variable_and_is_full_rank():
    lower, upper = np.array([0, 0, 2]), np.array([2, 0, 4])
    features = OneHotFeatures(lower, upper)
    assert features.n_features == 2 + 0 + 2
    X = features(np.array([[0, 0, 2], [1, 0, 3], [2, 0, 4]]))
    assert X.tolist() == [[0, 0, 0, 0], [1, 0, 1, 0], [0, 1, 0, 1]]
    space = space_by_name("micro")
    rows = OneHotFeatures(space.lower, space.upper)(space.sample(np.random.default_rng(1), 400))
    design = np.hstack([np.ones((len(rows), 1)), rows])  # the linear tail a cubic RBF adds
    assert np.linalg.matrix_rank(design) == design.shape[1]
    with pytest.raises(ValueError, match="outside the space's bounds"):
        features(np.array([[3, 0, 2]]))
    with pytest.raises(ValueError, match="must have 3 values"):
        features(np.array([[0, 0]]))


@pytest.mark.parametrize("name", ["rbf", "gp", "trees", "mlp", "auto", "ensemble"])
def test_each_model_fits_deterministically_and_ranks_unseen_architectures(name):
    X, y = _landscape(160)
    first = make_model(name, seed=3).fit(X[:120], y[:120]).predict(X[120:])
    again = make_model(name, seed=3).fit(X[:120], y[:120]).predict(X[120:])
    np.testing.assert_array_equal(first[0], again[0])
    np.testing.assert_array_equal(first[1], again[1])
    assert first[0].shape == first[1].shape == (40,)
    assert np.all(first[1] >= 0)
    assert kendall_tau(first[0], y[120:]) > 0.05  # better than chance on held-out architectures


def test_the_ensemble_averages_its_members_and_leaves_out_one_that_cannot_fit_yet():
    X, y = _landscape(60)
    ensemble = EnsembleModel(seed=1).fit(X[:50], y[:50])
    members = [make_model(name, seed=1).fit(X[:50], y[:50]).predict(X[50:]) for name in ("rbf", "gp", "trees")]
    mean, std = ensemble.predict(X[50:])
    np.testing.assert_allclose(mean, np.mean([m for m, _ in members], axis=0))
    assert np.all(std >= np.std([m for m, _ in members], axis=0) - 1e-12)  # at least the members' spread

    class Broken:
        name = "broken"

        def __init__(self, seed=0):
            pass

        def fit(self, X, y):
            raise CannotFitError("not yet")

    surrogate_models.MODELS["broken"] = Broken
    try:
        alone = EnsembleModel(seed=1, members=("broken", "gp")).fit(X[:50], y[:50])
        np.testing.assert_allclose(alone.predict(X[50:])[0], members[1][0])
        with pytest.raises(CannotFitError, match=r"no member of the ensemble \(broken\) could be fitted on 50 rows"):
            EnsembleModel(seed=1, members=("broken",)).fit(X[:50], y[:50])
    finally:
        del surrogate_models.MODELS["broken"]


def test_the_rbf_projects_to_fewer_dimensions_than_rows_to_keep_its_linear_tail():
    X, y = _landscape(40)
    assert make_model("rbf").fit(X, y).dims == 38
    assert make_model("rbf").fit(X[:, :10], y).dims == 10
    duplicated = np.hstack([X[:, :10], X[:, :10]])  # 20 columns spanning 10 directions: more rows than columns
    assert make_model("rbf").fit(duplicated, y).dims == 10
    model = make_model("rbf").fit(X, y)
    np.testing.assert_allclose(model.predict(X)[0], y, atol=1e-2)  # still (nearly) interpolates its rows


class _Oracle(surrogate_models.RBFModel):
    """Knows the target exactly (a lookup of the first feature column, which the test makes the target)."""

    name = "oracle"

    def _fit(self, X, z):
        self._slope = np.polyfit(X[:, 0], z, 1)

    def _predict(self, X):
        return np.polyval(self._slope, X[:, 0]), np.zeros(len(X))


class _Noise(_Oracle):
    name = "noise"

    def _predict(self, X):
        return np.random.default_rng(len(X)).normal(size=len(X)), np.zeros(len(X))


class _Broken(_Oracle):
    name = "broken"

    def _fit(self, X, z):
        raise np.linalg.LinAlgError("singular")


def test_auto_chooses_the_best_cross_validated_model_and_skips_one_that_cannot_fit(monkeypatch):
    for model in (_Oracle, _Noise, _Broken):
        monkeypatch.setitem(surrogate_models.MODELS, model.name, model)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(50, 4))
    y = 2 * X[:, 0] + 1
    auto = AutoModel(seed=0, candidates=("noise", "broken", "oracle")).fit(X, y)
    assert auto.chosen == "oracle"
    assert auto.scores["oracle"] == (pytest.approx(1.0), pytest.approx(0.0))
    assert auto.scores["broken"][0] == -np.inf
    np.testing.assert_allclose(auto.predict(X)[0], y)
    with pytest.raises(CannotFitError, match="no surrogate model could be fitted"):
        AutoModel(candidates=("broken",)).fit(X, y)


def test_unknown_models_and_too_few_rows_are_one_line():
    with pytest.raises(ValueError, match=r"unknown surrogate model 'svm'; choose one of \['auto', 'ensemble', 'gp'"):
        make_model("svm")
    with pytest.raises(ValueError, match="auto chooses among"):
        AutoModel(candidates=("auto",))
    with pytest.raises(CannotFitError, match="at least 2 trained architectures"):
        make_model("gp").fit(np.zeros((1, 3)), np.zeros(1))


def test_hypervolume_2d_sweep_equals_pymoo():
    from pymoo.indicators.hv import HV

    rng = np.random.default_rng(5)
    points = rng.uniform(size=(30, 2))
    reference = np.array([1.1, 1.1])
    assert hypervolume(points, reference) == pytest.approx(HV(ref_point=reference)(points))
    assert hypervolume(np.array([[2.0, 0.0]]), reference) == 0.0


def test_hv_gain_fills_the_largest_gap_first_and_never_prefers_a_dominated_point():
    front = np.array([[0.0, 1.0], [1.0, 0.0]])
    candidates = np.array([[0.9, 0.9],   # dominated by nothing but adds little
                           [0.2, 0.2],   # fills the middle of the gap: the largest gain
                           [1.5, 1.5],   # dominated by the front
                           [0.1, 0.6]])
    chosen = select_children("hv_gain", candidates, front, 4)
    assert chosen[0] == 1
    assert chosen[-1] == 2
    assert sorted(chosen) == [0, 1, 2, 3]


def test_spread_chooses_far_apart_complexities_and_non_dominated_first():
    front = np.array([[0.5, 0.0]])
    candidates = np.array([[0.1, 0.5], [0.2, 0.45], [0.05, 1.0], [0.9, 0.9]])
    chosen = select_children("spread", candidates, front, 3)
    assert chosen[:2] == [2, 0]  # the farthest complexity from the front first, then the middle
    assert 3 not in chosen  # dominated by candidate 0
    with pytest.raises(ValueError, match=r"choose one of \['hv_gain', 'spread'\]"):
        select_children("best", candidates, front, 1)
