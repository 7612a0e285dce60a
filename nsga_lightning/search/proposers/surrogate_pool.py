"""Where the surrogate's candidates come from, and which of them it trains.

* :class:`InnerSearch`: NSGANetV2's inner NSGA-II with the project's operators on (optimistic predicted error,
  exact complexity), seeded with the current population and the archive's front, ``inner_gens`` generations of
  ``inner_pop``; the pool is every new architecture it met.
* :class:`ListedPool`: a space small enough to list (``evolution/sampling.py``, e.g. NAS-Bench-Graph's 26,206
  architectures) needs no inner search: every architecture not yet archived is predicted (one genome per key, the
  listing's first), the upper bound of what an inner search can find, and faster.

Either way the children are chosen (``surrogate/selection.py``) among the pool's best ``max(inner_pop, n)``
candidates by predicted non-dominated rank, against the archive's front.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from pymoo.core.population import Population
from pymoo.util.nds.non_dominated_sorting import NonDominatedSorting

from nsga_lightning.search.evolution.operators import make_population
from nsga_lightning.search.evolution.sampling import Listing
from nsga_lightning.search.surrogate.selection import select_children

if TYPE_CHECKING:
    from nsga_lightning.search.core.records import ArchiveRow
    from nsga_lightning.search.proposers.mating import Ask
    from nsga_lightning.search.recording.recorder import Recorder

# (genomes, keys) -> (optimistic predicted error, exact complexity...) per genome
Objectives = Callable[[np.ndarray, Sequence[str]], np.ndarray]


@dataclass(frozen=True)
class Pool:
    """The new architectures a proposal may choose from, by key: genomes ``X``, objectives ``F`` (optimistic
    predicted error first), and ``final``: the indices of the preferred ones (the inner search's last population,
    or every one of a listed space)."""

    keys: list[str]
    X: list[np.ndarray]
    F: np.ndarray
    final: list[int]


class InnerSearch:
    """One generation's inner NSGA-II (see the module docstring); it draws only from ``rng``."""

    def __init__(self, settings: Any, operators: Any, objectives: Objectives, n_objectives: int,
                 rng: np.random.Generator) -> None:
        self.settings, self.operators, self.objectives = settings, operators, objectives
        self.n_objectives, self.rng = n_objectives, rng

    def run(self, ask: Ask, front: Sequence[ArchiveRow], taken: set[str]) -> Pool:
        """Seed with the population and the archive's front, then ``inner_gens`` generations of ``inner_pop``;
        children have keys new to ``ask.excluded``, the seeds and ``taken``."""
        seeds = {ind.get("key"): np.asarray(ind.X, dtype=np.int64) for ind in ask.pop}
        seeds.update({r.key: np.asarray(r.genome, dtype=np.int64) for r in front if r.key not in seeds})
        keys = sorted(seeds)
        X = np.array([seeds[k] for k in keys])
        pop = make_population(X, keys, self.objectives(X, keys), [0.0] * len(keys))
        pop = self.operators.survive(pop, min(len(pop), self.settings.inner_pop), self.rng)
        met: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        excluded = set(ask.excluded) | set(seeds) | set(taken)
        limits = self.operators.limits
        for _ in range(self.settings.inner_gens):
            # children over a limit known before training are never met; they are not about to train either
            with limits.unrecorded() if limits is not None else contextlib.nullcontext():
                off = self.operators.mate(pop, self.settings.inner_pop, self.rng, excluded | set(met))
            if len(off) == 0:
                break
            off_keys = [ind.get("key") for ind in off]
            off_X = np.array([ind.X for ind in off], dtype=np.int64)
            F = self.objectives(off_X, off_keys)
            met.update({k: (x, f) for k, x, f in zip(off_keys, off_X, F)})
            merged = Population.merge(pop, make_population(off_X, off_keys, F, [0.0] * len(off)))
            pop = self.operators.survive(merged, self.settings.inner_pop, self.rng)
        new_keys = sorted(met)
        final = {ind.get("key") for ind in pop}
        F = np.array([met[k][1] for k in new_keys]).reshape(len(new_keys), self.n_objectives)
        return Pool(new_keys, [met[k][0] for k in new_keys], F, [i for i, k in enumerate(new_keys) if k in final])


class ListedPool:
    """Every architecture of a listed space that is not archived, in the population or ``taken``, and within the
    limits known before training (``operators.limits``; see the module docstring)."""

    def __init__(self, listed: Listing, objectives: Objectives, limits: Any = None) -> None:
        self.listed, self.objectives, self.limits = listed, objectives, limits

    def run(self, ask: Ask, front: Sequence[ArchiveRow], taken: set[str]) -> Pool:
        """The pool: every new architecture, each by the listing's first genome of its key."""
        excluded = set(ask.excluded) | {ind.get("key") for ind in ask.pop} | set(taken)
        left = [i for i, key in enumerate(self.listed.keys) if key not in excluded]
        keys = [self.listed.keys[i] for i in left]
        X = self.listed.genomes[[int(self.listed.members[i][0]) for i in left]].reshape(len(left), -1)
        if self.limits is not None and self.limits.checks_children:
            with self.limits.unrecorded():  # not about to train: nothing to remember
                keep = self.limits.admit(X, keys)
            keys, X = [k for k, ok in zip(keys, keep) if ok], X[keep]
        return Pool(keys, list(X), self.objectives(X, keys), list(range(len(keys))))


def choose(pool: Pool, n: int, pool_size: int, selection: str, front: Sequence[ArchiveRow],
           objectives: Sequence[str]) -> list[int]:
    """Indices into the pool of the ``n`` children to train: among the pool's preferred candidates when they are
    at most ``max(pool_size, n)``, else among its best that many by predicted non-dominated rank (then key),
    filled from the rest by rank and key where the preferred ones are too few."""
    if not pool.keys:
        return []
    wanted = max(pool_size, n)
    candidates = list(pool.final)  # in key order
    if len(candidates) > wanted or len(candidates) < n:
        ranks = NonDominatedSorting().do(pool.F, return_rank=True)[1]
        by_key = np.argsort(np.array(pool.keys), kind="stable")
        key_order = np.empty(len(pool.keys), dtype=np.int64)
        key_order[by_key] = np.arange(len(pool.keys))
        ordered = np.lexsort((key_order, ranks))  # by rank, then key
        if len(candidates) > wanted:
            preferred = np.zeros(len(pool.keys), dtype=bool)
            preferred[candidates] = True
            candidates = [int(i) for i in ordered[preferred[ordered]][:wanted]]
        else:
            taken = set(candidates)
            candidates += [int(i) for i in ordered if int(i) not in taken][: n - len(candidates)]
    front_F = np.array([[float(r.objectives[name]) for name in objectives] for r in front],
                       dtype=float).reshape(len(front), len(objectives))
    picked = select_children(selection, pool.F[candidates], front_F, min(n, len(candidates)))
    return [candidates[j] for j in picked]


def complexity_names(recorder: Recorder) -> list[str]:
    """The searched objectives the surrogate does not predict (counted exactly)."""
    return [n for n in recorder.objectives if n != "error"]
