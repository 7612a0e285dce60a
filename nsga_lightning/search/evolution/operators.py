"""NSGA-Net's genetic operators on the modern pymoo API (0.6).

* sampling: uniform integers within the bounds (``space.sample``);
* mating selection: binary tournament, by constraint violation, then domination, then larger crowding
  distance, random on ties (NSGA-II's ``comp_by_dom_and_crowding``; ``tournament.py``);
* initial population: uniform random, or ``prior`` (hand-crafted designs first; ``initialization.py``);
* crossover: two-point (``PointCrossover(n_points=2)``) or ``homogeneous`` (``homogeneous_crossover.py``),
  always applied;
* mutation: polynomial mutation, eta 3, per-variable probability ``1/n_var``, on integers as the original
  does: bounds widened to ``[xl - 0.5, xu + 0.5]``, perturbed, rounded, clipped back into the bounds
  (``mutation.py``); with ``genes="space"`` the positions a space declares categorical take another of their
  values instead (two-point crossover exchanges whole values, so a category stays a category either way);
* duplicate elimination by canonical key, against the offspring themselves, the parents and an excluded set
  (the archive of every evaluated architecture; ``duplicates.py``); children over a limit known before training
  (``search.constraints``, ``limits.py``) are dropped the same way;
* survival: rank and crowding (``RankAndCrowding``).

Randomness: every operator takes an explicit ``np.random.Generator`` (pymoo's ``random_state``); pymoo would
otherwise draw a fresh unseeded generator, so callers must always pass one. The global numpy RNG is never
used.
Failed candidates are infeasible: one inequality constraint, ``G = 1`` when failed and ``0`` otherwise.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
from pymoo.core.mating import Mating
from pymoo.core.population import Population
from pymoo.core.problem import Problem
from pymoo.core.sampling import Sampling
from pymoo.operators.crossover.pntx import PointCrossover
from pymoo.operators.selection.tournament import TournamentSelection
from pymoo.operators.survival.rank_and_crowding import RankAndCrowding

from nsga_lightning.search.evolution.duplicates import KeyDuplicateElimination
from nsga_lightning.search.evolution.fidelity import OVER_LIMIT
from nsga_lightning.search.evolution.homogeneous_crossover import CROSSOVERS, HomogeneousCrossover
from nsga_lightning.search.evolution.initialization import (
    INITIALIZATIONS,
    initial_genomes,
    resolve_architectures,
)
from nsga_lightning.search.evolution.limits import Limits
from nsga_lightning.search.evolution.mutation import ETA, CategoricalMutation, IntegerPolynomialMutation
from nsga_lightning.search.evolution.tournament import binary_tournament
from nsga_lightning.spaces import SearchSpace, categorical_positions

MAX_MATING_ROUNDS = 100
# space: as the space declares its genes (categories resampled); ordinal: every gene an ordered integer (the published
# code)
GENES = ("space", "ordinal")


def make_problem(space: SearchSpace, n_obj: int) -> Problem:
    """A bounds-only pymoo problem (pymoo never evaluates it); one constraint marks failed candidates."""
    return Problem(
        n_var=space.n_var,
        n_obj=n_obj,
        n_ieq_constr=1,
        xl=np.asarray(space.lower, dtype=float),
        xu=np.asarray(space.upper, dtype=float),
        vtype=int,
    )


def make_population(
    genomes: np.ndarray, keys: Sequence[str], F: np.ndarray, violation: Sequence[bool | float]
) -> Population:
    """A pymoo population of evaluated individuals with constraint violation ``CV = violation``: ``True``/1 for
    failed ones (whose ``F`` becomes ``inf``), a value in (0, 1) for children stopped at a rung (``fidelity.py``)."""
    cv = np.asarray(violation, dtype=float)[:, None]  # (n, 1)
    F = np.where(cv >= 1, np.inf, np.asarray(F, dtype=float))  # (n, n_obj)
    pop = Population.new("X", np.asarray(genomes, dtype=np.int64), "F", F, "G", cv.copy(), "CV", cv)
    for ind, key in zip(pop, keys):
        ind.set("key", key)
    return pop


class SpaceSampling(Sampling):
    """Integer random sampling through ``space.sample`` (uniform within the bounds)."""

    def __init__(self, space: SearchSpace) -> None:
        super().__init__()
        self.space = space

    def _do(
        self,
        problem: Problem,
        n_samples: int,
        *args: Any,
        random_state: np.random.Generator = None,
        **kwargs: Any,
    ) -> np.ndarray:
        return np.asarray(self.space.sample(random_state, n_samples), dtype=np.int64)


def describe_operator(operator: Any) -> dict[str, Any]:
    """A pymoo operator's class and settings as plain data (variables by value, functions by name)."""
    described: dict[str, Any] = {"class": type(operator).__name__}
    for name, value in sorted(vars(operator).items()):
        if name in ("name", "vtype", "repair", "space") or name.startswith("_"):
            continue
        if hasattr(value, "value"):  # pymoo's Real/Integer variables
            value = value.value
        elif callable(value):
            value = getattr(value, "__name__", type(value).__name__)
        elif not isinstance(value, (int, float, str, bool, type(None))):
            value = type(value).__name__
        described[name] = value
    return described


class NSGANetOperators:
    """The operator set of one search: mating (selection, crossover, mutation, key dedup) and survival.

    Args:
        space: the search space (bounds, sampling, canonical keys).
        n_obj: number of objectives.
        eta: polynomial-mutation distribution index (NSGA-Net: 3).
        prob_var: per-gene mutation probability; ``None`` means ``1/n_var``.
        max_mating_rounds: mating rounds tried before giving up on finding enough unique offspring.
        crossover: ``two_point`` (the published code) or ``homogeneous`` (the paper).
        initialization: ``random`` (the published code) or ``prior`` (the paper).
        initial_architectures: zoo names or genomes that start the initial population.
        genes: ``ordinal`` (the published code: polynomial mutation on every gene) or ``space`` (categorical
            positions of a :class:`~nsga_lightning.spaces.CategoricalSpace` take another value when mutated).
        limits: the search's limits; children over one known before training are never proposed (``None``: none).

    Raises:
        ValueError: for an unknown crossover, initialization or genes, or an initial architecture the space rejects.
    """

    def __init__(
        self,
        space: SearchSpace,
        n_obj: int,
        eta: float = ETA,
        prob_var: float | None = None,
        max_mating_rounds: int = MAX_MATING_ROUNDS,
        crossover: str = "two_point",
        initialization: str = "random",
        initial_architectures: Sequence[Any] = (),
        genes: str = "ordinal",
        limits: Limits | None = None,
    ) -> None:
        if genes not in GENES:
            raise ValueError(f"search.genes must be one of {', '.join(GENES)}, got {genes!r}")
        if crossover not in CROSSOVERS:
            raise ValueError(f"search.crossover must be one of {', '.join(CROSSOVERS)}, got {crossover!r}")
        self.space = space
        self.problem = make_problem(space, n_obj)
        self.sampling = SpaceSampling(space)
        if initialization not in INITIALIZATIONS:
            raise ValueError(f"search.initialization must be one of {', '.join(INITIALIZATIONS)}, "
                             f"got {initialization!r}")
        self.initialization = initialization
        # resolved now: a bad name or genome stops the search before anything is trained
        self.initial_architectures = resolve_architectures(space, initial_architectures)
        self.selection = TournamentSelection(func_comp=binary_tournament, pressure=2)
        self.crossover = (PointCrossover(n_points=2, prob=1.0) if crossover == "two_point"
                          else HomogeneousCrossover(space))
        self.genes = genes
        categorical = categorical_positions(space) if genes == "space" else None
        prob_var = prob_var if prob_var else 1.0 / space.n_var
        self.mutation = (CategoricalMutation(categorical, eta=eta, prob_var=prob_var)
                         if categorical is not None and categorical.any()
                         else IntegerPolynomialMutation(eta=eta, prob_var=prob_var))
        self.survival = RankAndCrowding()
        self.max_mating_rounds = max_mating_rounds
        self.limits = limits
        self.admit = limits.admit if limits is not None and limits.checks_children else None

    def describe(self) -> dict[str, Any]:
        """Every operator with its settings, read off the operator objects: the run fingerprint's operator
        block, so a change to any operator refuses a resume."""
        described = {
            "sampling": describe_operator(self.sampling),
            "selection": describe_operator(self.selection),
            "crossover": describe_operator(self.crossover),
            "mutation": describe_operator(self.mutation),
            "duplicates": "canonical key, against offspring, parents and the whole archive",
            "survival": describe_operator(self.survival),
            "max_mating_rounds": self.max_mating_rounds,
        }
        if self.genes != "ordinal":  # absent for the published operators: their runs resume
            described["genes"] = self.genes
        if self.limits is not None:  # absent without limits: runs without them resume as before
            described["limits"] = self.limits.describe()
        if self.initialization != "random" or self.initial_architectures:  # absent by default: old runs resume
            described["initialization"] = {
                "mode": self.initialization,
                "architectures": [self.space.key(g) for g in self.initial_architectures],
            }
        return described

    def initial(self, n: int, rng: np.random.Generator, seeds: Sequence[np.ndarray] = ()) -> Population:
        """The initial population: the given architectures, then ``seeds`` (a warm start's), then the prior ones
        first (up to ``n``), then random ones with new keys. With ``random`` and nothing given this is exactly
        :meth:`sample` (the same RNG draws)."""
        given = [*self.initial_architectures, *(np.asarray(g, dtype=np.int64) for g in seeds)]
        genomes = self._admitted(initial_genomes(self.space, self.initialization, given, rng), n)
        if not genomes:
            return self.sample(n, rng)
        chosen = Population.new("X", np.asarray(genomes, dtype=np.int64))
        keys = [self.space.key(g) for g in genomes]
        for ind, key in zip(chosen, keys):
            ind.set("key", key)
        return Population.merge(chosen, self.sample(n - len(genomes), rng, set(keys))) if n > len(genomes) else chosen

    def _admitted(self, genomes: list[np.ndarray], n: int) -> list[np.ndarray]:
        """The first ``n`` of ``genomes`` within the limits known before training (a given or prior design over a
        limit is not trained either; those after the ``n``-th are never checked)."""
        if self.admit is None:
            return genomes[:n]
        chosen: list[np.ndarray] = []
        start = 0
        while len(chosen) < n and start < len(genomes):
            batch = genomes[start:start + n - len(chosen)]
            allowed = self.admit(batch, [self.space.key(g) for g in batch])
            chosen += [g for g, ok in zip(batch, allowed) if ok]
            start += len(batch)
        return chosen

    def sample(self, n: int, rng: np.random.Generator, excluded: Iterable[str] = ()) -> Population:
        """Up to ``n`` fresh random individuals whose keys are unique and not in ``excluded`` (uniform genomes: on
        NAS-Bench-Graph uniform architectures started the search worse, README "Benchmark landscapes")."""
        dedup = KeyDuplicateElimination(self.space, excluded, self.admit)
        out = Population.create()
        for _ in range(self.max_mating_rounds):
            if len(out) >= n:
                break
            drawn = self.sampling.do(self.problem, n - len(out), random_state=rng)
            out = Population.merge(out, dedup.do(drawn, out))
        return out[:n]

    def mate(
        self, pop: Population, n: int, rng: np.random.Generator, excluded: Iterable[str] = ()
    ) -> Population:
        """Up to ``n`` offspring with unique keys, new to ``pop`` and ``excluded`` (pymoo's mating loop)."""
        mating = Mating(
            self.selection,
            self.crossover,
            self.mutation,
            eliminate_duplicates=KeyDuplicateElimination(self.space, excluded, self.admit),
            n_max_iterations=self.max_mating_rounds,
        )
        off = mating.do(self.problem, pop, n, random_state=rng)
        for ind in off:
            ind.X = np.asarray(ind.X).astype(np.int64)
        return off

    def rank(self, pop: Population, rng: np.random.Generator) -> Population:
        """Assign rank and crowding to every feasible individual without removing any (no randomness used)."""
        return self.survive(pop, len(pop), rng)

    def survive(self, pop: Population, n_survive: int, rng: np.random.Generator) -> Population:
        """Keep ``n_survive`` by rank and crowding, failed ones last (their rank and crowding: ``None``).

        Children stopped at a rung (``0 < CV < 1``) come after every full-fidelity one, the higher rung first, and
        are ranked by rank and crowding within their rung (see ``fidelity.py``)."""
        cv = pop.get("CV").astype(float)[:, 0]
        if np.any((cv > 0) & (cv < 1)):
            return self._survive_by_rung(pop, cv, n_survive, rng)
        survivors = self.survival.do(self.problem, pop, n_survive=n_survive, random_state=rng)
        for ind in survivors:
            if ind.CV[0] > 0:
                ind.set("rank", None)
                ind.set("crowding", None)
        return survivors

    def _survive_by_rung(self, pop: Population, cv: np.ndarray, n_survive: int,
                         rng: np.random.Generator) -> Population:
        kept: list[Population] = []
        left = n_survive
        for level in np.unique(cv):  # ascending: full fidelity, then the higher rungs, failed last
            if left <= 0:
                break
            group = pop[np.flatnonzero(cv == level)]
            if level >= OVER_LIMIT:  # over a limit (by how far) or failed: unranked, in order
                chosen = group[:left]
                for ind in chosen:
                    ind.set("rank", None)
                    ind.set("crowding", None)
            else:
                for ind in group:  # ranked as feasible within the rung
                    ind.set("CV", np.zeros(1))
                    ind.set("G", np.zeros(1))
                chosen = self.survival.do(self.problem, group, n_survive=min(left, len(group)), random_state=rng)
                for ind in group:
                    ind.set("CV", np.array([level]))
                    ind.set("G", np.array([level]))
            kept.append(chosen)
            left -= len(chosen)
        # one group (the full-fidelity children alone fill the population) is as valid as several
        return Population.create(*(ind for chosen in kept for ind in chosen))
