"""Operators that fit the space (``search.genes``): a space declares which positions are categories; with ``space``
(the config default) a mutated category takes another of its values, uniformly, an ordered position keeps the
polynomial mutation, and the surrogate encodes categories one-hot and ordered values scaled; ``ordinal`` (the
published code, ``SearchRunner``'s default) is unchanged, its fingerprint included. Bad declarations and settings
are one line."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from pymoo.core.problem import Problem

from nsga_lightning.search import FunctionEvaluator
from nsga_lightning.search.build import build_search
from nsga_lightning.search.evolution.mutation import CategoricalMutation, IntegerPolynomialMutation
from nsga_lightning.search.evolution.operators import NSGANetOperators
from nsga_lightning.search.surrogate.features import MixedFeatures, OneHotFeatures
from nsga_lightning.spaces import categorical_positions, make_space


class MixedSpace:
    """Three operations (categories) and a width 1..8 (ordered): a space of a user's own that declares both."""

    name = "mixed"
    lower = np.array([0, 0, 0, 1])
    upper = np.array([6, 6, 6, 8])
    categorical = (True, True, True, False)
    n_var = 4

    def sample(self, rng, n):
        return rng.integers(self.lower, self.upper + 1, size=(n, self.n_var))

    def validate(self, genome):
        genome = np.asarray(genome, dtype=np.int64)
        if genome.shape != (4,) or (genome < self.lower).any() or (genome > self.upper).any():
            raise ValueError(f"not a mixed genome: {genome.tolist()}")
        return genome

    def decode(self, genome):
        return tuple(int(g) for g in self.validate(genome))

    def key(self, genome):
        return "m" + "".join(str(int(g)) for g in self.validate(genome))

    def genotype_to_data(self, genotype):
        return list(genotype)

    def genotype_from_data(self, data):
        return tuple(data)


def mixed_objectives(candidate):
    ops, width = candidate.genome[:3], candidate.genome[3]
    return {"error": 10.0 + sum((op - 3) ** 2 for op in ops) / (1 + width), "cost": float(width * (1 + sum(ops)))}


def mixed_cost(candidate):
    return {"cost": float(candidate.genome[3] * (1 + sum(candidate.genome[:3])))}


def _problem(lower, upper) -> Problem:
    return Problem(n_var=len(lower), n_obj=2, xl=np.asarray(lower, float), xu=np.asarray(upper, float), vtype=int)


def test_the_built_in_spaces_declare_every_gene_a_category_and_a_space_may_declare_none() -> None:
    assert categorical_positions(make_space("micro")).all() and categorical_positions(make_space("macro")).all()
    assert categorical_positions(MixedSpace()).tolist() == [True, True, True, False]

    class Plain:
        name, n_var = "plain", 3

    assert categorical_positions(Plain()) is None


def test_a_bad_declaration_is_one_line() -> None:
    space = MixedSpace()
    space.categorical = (True, False)
    with pytest.raises(ValueError, match=r"the mixed space's categorical must be one true/false per genome position "
                                         r"\(4\)"):
        NSGANetOperators(space, 2, genes="space")


def test_a_mutated_category_takes_each_other_value_alike_and_an_ordered_gene_is_perturbed_within_its_bounds() -> None:
    lower, upper = np.array([0, 0, 1]), np.array([4, 0, 9])
    mutation = CategoricalMutation(np.array([True, True, False]), prob_var=1.0)
    X = np.tile([2, 0, 5], (20000, 1))
    out = mutation.do(_problem(lower, upper), _population(X), random_state=np.random.default_rng(0)).get("X")
    assert (out[:, 0] != 2).all()  # every mutated category changed
    counts = np.bincount(out[:, 0].astype(int), minlength=5)[[0, 1, 3, 4]]
    assert counts.min() > 0.23 * len(X) and counts.max() < 0.27 * len(X)  # each other value ~1/4
    assert (out[:, 1] == 0).all()  # one allowed value: nothing to change
    assert out[:, 2].min() >= 1 and out[:, 2].max() <= 9 and (out[:, 2] != 5).any()
    near = np.abs(out[:, 2] - 5)  # the polynomial mutation prefers small steps, unlike a category
    assert (near <= 2).mean() > (near >= 3).mean()


def test_the_categorical_mutation_is_the_polynomial_one_where_nothing_is_a_category() -> None:
    problem, X = _problem([0, 0, 0], [9, 9, 9]), np.tile([4, 5, 6], (50, 1))
    plain = IntegerPolynomialMutation(prob_var=0.5).do(problem, _population(X), random_state=np.random.default_rng(1))
    mixed = CategoricalMutation(np.zeros(3, bool), prob_var=0.5).do(problem, _population(X),
                                                                   random_state=np.random.default_rng(1))
    assert np.array_equal(plain.get("X"), mixed.get("X"))


def _population(X):
    from pymoo.core.population import Population

    return Population.new("X", X)


def test_genes_space_describes_itself_and_ordinal_describes_the_published_operators_as_before() -> None:
    space = make_space("micro", n_blocks=2)
    ordinal, categorical = NSGANetOperators(space, 2), NSGANetOperators(space, 2, genes="space")
    assert "genes" not in ordinal.describe() and ordinal.describe()["mutation"]["class"] == "IntegerPolynomialMutation"
    assert categorical.describe()["genes"] == "space"
    assert categorical.describe()["mutation"]["categorical_positions"] == ",".join(map(str, range(space.n_var)))
    with pytest.raises(ValueError, match="search.genes must be one of space, ordinal, got 'nominal'"):
        NSGANetOperators(space, 2, genes="nominal")


def test_mixed_features_encode_categories_one_hot_and_ordered_values_scaled() -> None:
    space = MixedSpace()
    features = MixedFeatures(space.lower, space.upper, np.array(space.categorical))
    X = features(np.array([[0, 6, 3, 1], [6, 0, 3, 8]]))
    assert X.shape == (2, 3 * 6 + 1) and features.n_features == 19
    assert X[:, -1].tolist() == [0.0, 1.0]  # width 1..8 scaled
    onehot = OneHotFeatures(space.lower[:3], space.upper[:3])
    assert np.array_equal(X[:, :-1], onehot(np.array([[0, 6, 3], [6, 0, 3]])))
    assert features.describe() == {"one-hot": [0, 1, 2], "ordinal": [3]}
    everything = MixedFeatures(space.lower, space.upper, np.ones(4, bool))
    assert everything.describe() == "one-hot by bounds"
    assert np.array_equal(everything(np.array([[1, 2, 3, 4]])), OneHotFeatures(space.lower, space.upper)([[1, 2, 3, 4]]))


def _config(run_dir: Path, **search) -> dict:
    return {"search": {"pop_size": 10, "n_offspring": 5, "n_gens": 5, "seed": 4, "objectives": ["error", "cost"],
                       "run_dir": str(run_dir), **search}, "progress_bar": False}


def test_a_config_search_uses_the_space_s_genes_and_the_surrogate_its_features(tmp_path: Path) -> None:
    evaluator = FunctionEvaluator(mixed_objectives, {"mixed": 1}, objectives=("error", "cost"), complexity=mixed_cost)
    with build_search(_config(tmp_path / "space", genes="space", surrogate={"model": "rbf", "min_trained": 0}),
                      callbacks=[],
                      space=MixedSpace(),
                      evaluator=evaluator) as runner:
        result = runner.run()
        block = runner.config()
        assert len(runner.archive.predictions()) > 0
    assert result.status == "completed"
    assert block["operators"]["genes"] == "space" and block["operators"]["mutation"]["class"] == "CategoricalMutation"
    assert block["surrogate"]["features"] == {"one-hot": [0, 1, 2], "ordinal": [3]}
    with build_search(_config(tmp_path / "ordinal", surrogate={"model": "rbf", "min_trained": 0}),  # the default
                      callbacks=[],
                      space=MixedSpace(), evaluator=evaluator) as runner:
        block = runner.config()
    assert "genes" not in block["operators"] and block["surrogate"]["features"] == "one-hot by bounds"
    with pytest.raises(ValueError, match="unknown search.genes 'nominal'; allowed: space, ordinal"):
        build_search(_config(tmp_path / "bad", genes="nominal"), space=MixedSpace(), evaluator=evaluator)
