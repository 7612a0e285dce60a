"""NSGA-Net's mating selection: binary tournament by constraint violation, then domination, then larger crowding
distance, random on ties (NSGA-II's ``comp_by_dom_and_crowding``), as pymoo's ``TournamentSelection`` calls it."""

from __future__ import annotations

from typing import Any

import numpy as np
from pymoo.core.population import Population
from pymoo.util.dominator import Dominator


def binary_tournament(
    pop: Population, P: np.ndarray, random_state: np.random.Generator = None, **kwargs: Any
) -> np.ndarray:
    """Winners of the tournaments ``P`` (``(n, 2)`` indices into ``pop``), NSGA-II's dominance/crowding rule.

    Reads ``F``, ``CV`` and ``crowding`` (set by :func:`rank_population` / survival) from the population.
    """
    if P.shape[1] != 2:
        raise ValueError(f"binary tournament needs pairs, got tournaments of size {P.shape[1]}")
    F = pop.get("F").astype(float)
    cv = pop.get("CV").astype(float)[:, 0]
    crowding = np.array(
        [np.nan if c is None else c for c in pop.get("crowding", to_numpy=False)], dtype=float
    )
    return _tournament_winners(F, cv, crowding, P, random_state)


def _tournament_winners(
    F: np.ndarray, cv: np.ndarray, crowding: np.ndarray, P: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    winners = np.empty(len(P), dtype=int)
    for i, (a, b) in enumerate(P):
        if cv[a] != cv[b] or cv[a] >= 1:  # failed, or stopped at different rungs: smaller violation wins
            better = _better(a, -cv[a], b, -cv[b])
        else:
            relation = Dominator.get_relation(F[a], F[b])
            better = a if relation == 1 else b if relation == -1 else _better(a, crowding[a], b, crowding[b])
        winners[i] = better if better is not None else rng.choice([a, b])
    return winners


def _better(a: int, value_a: float, b: int, value_b: float) -> int | None:
    """The index with the larger value, or ``None`` on a tie."""
    if value_a > value_b:
        return a
    if value_b > value_a:
        return b
    return None
