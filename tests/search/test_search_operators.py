"""NSGA-Net operators on pymoo 0.6: sampling, tournament, two-point crossover, integer PM, dedup, survival."""

from __future__ import annotations

import numpy as np
import pytest
from pymoo.core.population import Population
from search_helpers import space_by_name

from nsga_lightning.search.evolution.duplicates import KeyDuplicateElimination
from nsga_lightning.search.evolution.operators import NSGANetOperators, make_population

SPACE_NAMES = ["micro", "macro4", "macro6"]


def ops(name: str = "micro", n_obj: int = 2) -> NSGANetOperators:
    return NSGANetOperators(space_by_name(name), n_obj)


@pytest.mark.parametrize("name", SPACE_NAMES)
def test_sampling_within_bounds_integers_and_deterministic(name):
    operators = ops(name)
    a = operators.sample(30, np.random.default_rng(1))
    b = operators.sample(30, np.random.default_rng(1))
    X = a.get("X")
    assert X.dtype.kind == "i" and X.shape == (30, operators.space.n_var)
    assert np.all(X >= operators.space.lower) and np.all(X <= operators.space.upper)
    np.testing.assert_array_equal(X, b.get("X"))
    keys = [ind.get("key") for ind in a]
    assert len(set(keys)) == 30 and keys == [operators.space.key(x) for x in X]


def test_tournament_picks_the_dominating_one_then_crowding_then_feasible():
    operators = ops()
    X = operators.space.sample(np.random.default_rng(0), 4)
    pop = make_population(
        X,
        ["a", "b", "c", "d"],
        np.array([[1.0, 1.0], [2.0, 2.0], [0.5, 3.0], [0.0, 0.0]]),
        [False, False, False, True],
    )
    for ind, crowding in zip(pop, [0.1, 5.0, 9.0, None]):
        ind.set("crowding", crowding)
    P = np.array([[0, 1], [1, 0], [0, 2], [2, 0], [3, 1], [1, 3]])
    winners = operators.selection.func_comp(pop, P, random_state=np.random.default_rng(0))
    # a dominates b whatever the crowding; a vs c: non-dominated, c is less crowded; d failed loses
    assert winners.tolist() == [0, 0, 2, 2, 1, 1]


def test_tournament_through_pymoo_selection_is_deterministic():
    operators = ops()
    X = operators.space.sample(np.random.default_rng(0), 10)
    F = np.random.default_rng(1).random((10, 2))
    pop = operators.rank(
        make_population(X, [str(i) for i in range(10)], F, [False] * 10), np.random.default_rng(2)
    )
    picks = [
        operators.selection.do(
            operators.problem, pop, 5, 2, to_pop=False, random_state=np.random.default_rng(3)
        )
        for _ in range(2)
    ]
    np.testing.assert_array_equal(picks[0], picks[1])
    assert picks[0].shape == (5, 2)


@pytest.mark.parametrize("name", SPACE_NAMES)
def test_crossover_is_a_two_point_segment_swap(name):
    operators = ops(name)
    n = operators.space.n_var
    rng = np.random.default_rng(5)
    for _ in range(20):
        a = np.zeros(n, dtype=np.int64)
        b = operators.space.upper.copy()  # every upper bound is >= 1, so a and b differ everywhere
        pop = Population.new("X", np.stack([a, b]))
        children = operators.crossover.do(operators.problem, pop, np.array([[0, 1]]), random_state=rng).get(
            "X"
        )
        from_b = children[0] == b
        assert np.array_equal(children[1] == a, from_b)  # the second child is the complement
        cuts = np.flatnonzero(np.diff(from_b.astype(int)))
        # one swapped segment [c1, c2) with 1 <= c1 < c2 <= n: two transitions, or one if it reaches the end
        assert not from_b[0] and from_b.any()
        assert len(cuts) in (1, 2)
        assert np.all(children[0][~from_b] == a[~from_b])


@pytest.mark.parametrize("name", SPACE_NAMES)
def test_mutation_keeps_bounds_and_integers_and_rate(name):
    operators = ops(name)
    space = operators.space
    X = space.sample(np.random.default_rng(0), 2000)
    pop = Population.new("X", X.copy())
    out = operators.mutation(operators.problem, pop, random_state=np.random.default_rng(1)).get("X")
    assert out.dtype.kind == "i"
    assert np.all(out >= space.lower) and np.all(out <= space.upper)
    changed = (out != X).sum(axis=1)
    assert 0.05 < changed.mean() <= 1.0  # per-gene probability 1/n_var; binary genes flip only sometimes
    assert changed.max() <= 6


def test_operators_never_touch_the_global_numpy_rng():
    np.random.seed(1234)
    before = np.random.get_state()[1].copy()
    operators = ops()
    rng = np.random.default_rng(0)
    pop = operators.sample(10, rng)
    pop = make_population(pop.get("X"), [ind.get("key") for ind in pop], rng.random((10, 2)), [False] * 10)
    pop = operators.rank(pop, rng)
    off = operators.mate(pop, 6, rng)
    operators.survive(
        Population.merge(
            pop,
            make_population(
                off.get("X"), [i.get("key") for i in off], rng.random((len(off), 2)), [False] * len(off)
            ),
        ),
        10,
        rng,
    )
    assert np.array_equal(np.random.get_state()[1], before)


def test_mating_is_deterministic_and_unique_and_avoids_excluded():
    operators = ops()
    rng = np.random.default_rng(0)
    pop = operators.sample(10, rng)
    keys = [ind.get("key") for ind in pop]
    pop = operators.rank(make_population(pop.get("X"), keys, rng.random((10, 2)), [False] * 10), rng)
    excluded = set(keys)
    a = operators.mate(pop, 8, np.random.default_rng(7), excluded)
    b = operators.mate(pop, 8, np.random.default_rng(7), excluded)
    np.testing.assert_array_equal(a.get("X"), b.get("X"))
    off_keys = [ind.get("key") for ind in a]
    assert len(off_keys) == 8 and len(set(off_keys)) == 8 and not excluded & set(off_keys)


def test_duplicate_elimination_uses_canonical_keys():
    space = space_by_name("micro")
    genome = space.sample(np.random.default_rng(3), 1)[0]
    swapped = genome.copy()
    swapped[0:2], swapped[2:4] = genome[2:4], genome[0:2]  # swap the two units of normal block 0
    assert space.key(genome) == space.key(swapped)
    dedup = KeyDuplicateElimination(space)
    kept = dedup.do(Population.new("X", np.stack([genome, swapped])))
    assert len(kept) == 1
    assert (
        len(KeyDuplicateElimination(space, {space.key(genome)}).do(Population.new("X", swapped[None]))) == 0
    )


def test_survival_keeps_best_and_puts_failed_last():
    operators = ops()
    X = operators.space.sample(np.random.default_rng(0), 6)
    F = np.array([[1, 5], [2, 4], [3, 3], [4, 4], [5, 5], [0, 0]], dtype=float)
    pop = make_population(X, list("abcdef"), F, [False] * 5 + [True])
    kept = operators.survive(pop, 4, np.random.default_rng(0))
    assert [ind.get("key") for ind in kept][:3] == ["a", "b", "c"]
    assert kept[3].get("key") == "d"
    everyone = operators.survive(pop, 6, np.random.default_rng(0))
    assert everyone[-1].get("key") == "f" and everyone[-1].get("rank") is None
