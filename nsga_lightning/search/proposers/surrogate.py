"""Surrogate-assisted proposals (NSGANetV2's MSuNAS loop) from generation ``start`` on.

Each such generation:

1. fit the predictor (``surrogate/models.py``) to the archive's fully trained, successful rows of the earlier
   generations, in key order, and a warm start's prior data (architectures measured with other settings that
   this search has not trained; ``evolution/warm_start.py``): one-hot features by the space's bounds, target the
   log of the validation error (a few near-chance networks otherwise dominate the fit);
2. run an inner NSGA-II with the project's operators on (predicted error, exact complexity objectives): the
   current population and the archive's front seed it, children must have keys new to the archive and the
   population, ``inner_gens`` generations of ``inner_pop``; the predicted error is the optimistic
   ``mean - explore * std``; complexity comes from the analytic count (no network is built);
3. choose ``n`` of the inner result's new architectures (``surrogate/selection.py``) against the archive's front;
4. store every chosen child's genome and prediction (the ``predictions`` table) before any of them trains.

The inner search draws from its own generator, seeded by (run seed, generation), never from the generation's
RNG, and fits only rows of earlier generations: a resumed generation finds its stored choice and trains exactly
those children, and an uninterrupted run, a resumed one and any worker count give the same archive.
"""

from __future__ import annotations

import contextlib
import logging
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from pymoo.core.population import Population
from pymoo.util.nds.non_dominated_sorting import NonDominatedSorting

from nsga_lightning.search.core.evaluator import Candidate
from nsga_lightning.search.core.pareto import pareto_front
from nsga_lightning.search.evolution.operators import NSGANetOperators, make_population
from nsga_lightning.search.proposers.mating import Ask, MatingProposer
from nsga_lightning.search.store.prediction_table import PredictionRow
from nsga_lightning.search.surrogate.features import OneHotFeatures
from nsga_lightning.search.surrogate.models import CannotFitError, make_model
from nsga_lightning.search.surrogate.selection import select_children
from nsga_lightning.search.surrogate.settings import Surrogate

if TYPE_CHECKING:
    from nsga_lightning.search.core.records import ArchiveRow
    from nsga_lightning.search.recording.recorder import Recorder

log = logging.getLogger("nsga_lightning.search.runner")

# The exact complexity objectives of candidates, counted without training (e.g. the analytic MAdds count).
Complexity = Callable[[Sequence["Candidate"]], list[dict[str, float]]]
MIN_ROWS = 4  # fewer trained architectures: mate as usual (nothing to learn from yet)


def _check_names(values: Mapping[str, float], names: Sequence[str], key: str) -> None:
    missing = [name for name in names if name not in values]
    if missing:
        raise ValueError(f"the complexity count gave {sorted(values)} for {key}, without {missing}: "
                         "search.surrogate ranks its candidates by every objective but error, counted without training")


def check_complexity(complexity: Complexity, space: Any, objectives: Sequence[str]) -> None:
    """Count one sampled genome of ``space`` before the search starts: a count that fails or lacks a searched
    objective (every one but ``error``) is one line now, not at the surrogate's first generation.

    Raises:
        ValueError: naming what is missing (or what the count raised).
    """
    genome = [int(g) for g in space.sample(np.random.default_rng(0), 1)[0]]
    key = space.key(genome)
    try:
        (values,) = complexity([Candidate(key, genome, 0, 0, space.decode(genome))])
    except Exception as error:  # noqa: BLE001 - any failure of the user's count is named in one line
        raise ValueError(f"the complexity count failed on a sampled genome ({type(error).__name__}: {error}); "
                         "search.surrogate needs it for every candidate") from None
    _check_names(values, [n for n in objectives if n != "error"], key)


def training_rows(rows: Sequence[ArchiveRow], generation: int) -> list[ArchiveRow]:
    """The rows a generation's predictor is fitted to: successful, fully trained, of earlier generations, by
    key."""
    return sorted((r for r in rows if r.is_ok and not r.stopped_early and r.generation < generation
                   and math.isfinite(float(r.objectives.get("error", math.nan)))), key=lambda r: r.key)


class SurrogateProposer:
    """Proposes children from a predictor fitted to the archive (see the module docstring); before ``start``
    (or with too few trained rows) the wrapped mating proposer does.

    Args:
        inner: the mating proposer (also fills up when the inner search finds too few new architectures).
        settings: the checked ``search.surrogate`` block.
        operators: the NSGA-Net operators (the inner search mates and survives with them).
        complexity: exact complexity objectives of genomes (see :data:`Complexity`).
        seed: the run seed.
    """

    def __init__(self, inner: MatingProposer, settings: Surrogate, operators: NSGANetOperators,
                 complexity: Complexity, seed: int) -> None:
        self.inner, self.settings, self.operators = inner, settings, operators
        self.complexity, self.seed = complexity, int(seed)
        space = operators.space
        self.features = OneHotFeatures(space.lower, space.upper)

    def describe(self) -> dict[str, Any]:
        """The ``surrogate`` fingerprint block."""
        return {"surrogate": self.settings.describe()}

    def propose(self, recorder: Recorder, ask: Ask) -> Population:
        """The generation's children: stored ones on a resume, else a fresh proposal (stored before training)."""
        if ask.generation < self.settings.start:
            return self.inner.propose(recorder, ask)
        stored = recorder.archive.predictions(ask.generation)
        if stored:  # filled up exactly as the first attempt was: same RNG state, same archive before it
            return self.inner.fill(self._population([r.genome for r in stored], [r.key for r in stored]), ask)
        rows = training_rows(recorder.archive.rows(), ask.generation)
        # a warm start's architectures measured with other settings: prior data, where this search has no row
        prior = [r for r in recorder.archive.warm_rows("prior") if r.status == "ok" and "error" in r.objectives
                 and recorder.archive.get(r.key) is None]
        genomes = [r.genome for r in rows] + [list(r.genome) for r in prior]
        if len(genomes) < MIN_ROWS:
            log.info("generation %d: %d trained architectures, too few for the surrogate; mating", ask.generation,
                     len(genomes))
            return self.inner.propose(recorder, ask)
        started = time.perf_counter()
        model = make_model(self.settings.model, self.seed)
        errors = [float(r.objectives["error"]) for r in rows] + [float(r.objectives["error"]) for r in prior]
        target = np.log(np.maximum(errors, 1e-6))
        try:
            model.fit(self.features(np.array(genomes)), target)
        except CannotFitError as error:  # deterministic for these rows: a resume mates the same way
            log.warning("generation %d: the %s surrogate cannot be fitted (%s); mating instead", ask.generation,
                        self.settings.model, error)
            return self.inner.propose(recorder, ask)
        inner = _InnerSearch(self, recorder, ask, model, target)
        limits = self.operators.limits
        front = pareto_front(rows, recorder.objectives, limits.limits if limits is not None else None)
        pool = inner.run(front)
        chosen = inner.choose(pool, front)
        seconds = time.perf_counter() - started
        name = getattr(model, "chosen", None) or self.settings.model
        mean, std = inner.predict(np.array([pool.X[i] for i in chosen]).reshape(-1, len(self.features.lower)))
        predictions = [PredictionRow(ask.generation, pool.keys[i], position, tuple(int(g) for g in pool.X[i]),
                                     name, float(np.exp(m)), float(np.exp(m) * s), len(genomes), seconds)
                       for position, (i, m, s) in enumerate(zip(chosen, mean, std))]
        recorder.archive.record_predictions(predictions)
        log.info("generation %d: %d children proposed by the %s surrogate (fitted to %d, %.2f s)", ask.generation,
                 len(predictions), name, len(rows), seconds)
        off = self._population([r.genome for r in predictions], [r.key for r in predictions])
        return self.inner.fill(off, ask)

    def _population(self, genomes: Sequence[Sequence[int]], keys: Sequence[str]) -> Population:
        """Unevaluated children with their keys set."""
        X = np.array(genomes, dtype=np.int64).reshape(len(keys), len(self.features.lower))
        pop = Population.new("X", X)
        for ind, key in zip(pop, keys):
            ind.set("key", key)
        return pop


@dataclass(frozen=True)
class _Pool:
    """Every new architecture the inner search met, by key: genomes ``X``, objectives ``F`` (optimistic predicted
    error first), and ``final``: the indices of those in its last population."""

    keys: list[str]
    X: list[np.ndarray]
    F: np.ndarray
    final: list[int]


class _InnerSearch:
    """One generation's inner NSGA-II on (optimistic predicted error, exact complexity). Everything it holds lives
    for this proposal only, so a fresh session proposes exactly what a continuing one does (a complexity cached by
    key across generations would keep the first genome's count of a key, which another genome of the same key
    need not share for a user's evaluator)."""

    def __init__(self, owner: SurrogateProposer, recorder: Recorder, ask: Ask, model: Any,
                 target: np.ndarray) -> None:
        self.owner, self.recorder, self.ask, self.model = owner, recorder, ask, model
        self.settings, self.operators = owner.settings, owner.operators
        self.complexity_names = [n for n in recorder.objectives if n != "error"]
        # an interpolant far from its rows can predict anything: predictions stay within the targets' range
        # widened by that range on each side (exp of an unbounded log error overflows)
        span = float(np.ptp(target)) or 1.0
        self.limits = (float(target.min()) - span, float(target.max()) + span)
        self.rng = np.random.default_rng([owner.seed, ask.generation, 0x5E])  # never the generation's own RNG
        self.counted: dict[str, dict[str, float]] = {}

    def predict(self, genomes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Predicted log error (clipped to the limits) and its std."""
        mean, std = self.model.predict(self.owner.features(genomes))
        return np.clip(mean, *self.limits), std

    def objectives(self, genomes: np.ndarray, keys: Sequence[str]) -> np.ndarray:
        """(optimistic predicted error, exact complexity...) per genome, ``(n, 1 + len(complexity_names))``."""
        mean, std = self.model.predict(self.owner.features(genomes))
        error = np.exp(np.clip(mean - self.settings.explore * std, *self.limits))
        todo = [self.recorder.candidate(g, self.ask.generation, k) for k, g in zip(keys, genomes)
                if k not in self.counted]
        if todo:
            for candidate, values in zip(todo, self.owner.complexity(todo), strict=True):
                _check_names(values, self.complexity_names, candidate.key)
                self.counted[candidate.key] = values
        rest = np.array([[self.counted[k][name] for name in self.complexity_names] for k in keys], dtype=float)
        return np.column_stack([error, rest.reshape(len(keys), len(self.complexity_names))])

    def run(self, front: Sequence[ArchiveRow]) -> _Pool:
        """Seed with the population and the archive's front, then ``inner_gens`` generations of ``inner_pop``."""
        seeds = {ind.get("key"): np.asarray(ind.X, dtype=np.int64) for ind in self.ask.pop}
        seeds.update({r.key: np.asarray(r.genome, dtype=np.int64) for r in front if r.key not in seeds})
        keys = sorted(seeds)
        X = np.array([seeds[k] for k in keys])
        pop = make_population(X, keys, self.objectives(X, keys), [0.0] * len(keys))
        pop = self.operators.survive(pop, min(len(pop), self.settings.inner_pop), self.rng)
        met: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        excluded = set(self.ask.excluded) | set(seeds)
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
        F = np.array([met[k][1] for k in new_keys]).reshape(len(new_keys), 1 + len(self.complexity_names))
        return _Pool(new_keys, [met[k][0] for k in new_keys], F, [i for i, k in enumerate(new_keys) if k in final])

    def choose(self, pool: _Pool, front: Sequence[ArchiveRow]) -> list[int]:
        """Indices into the pool of the ``ask.n`` children to train: chosen among the inner search's last
        population (then, if it holds too few new ones, among everything it met, by non-dominated rank then key)."""
        if not pool.keys:
            return []
        n, objectives = self.ask.n, self.recorder.objectives
        candidates = list(pool.final)
        if len(candidates) < n:
            ranks = NonDominatedSorting().do(pool.F, return_rank=True)[1]
            taken = set(candidates)
            rest = sorted((i for i in range(len(pool.keys)) if i not in taken), key=lambda i: (ranks[i], pool.keys[i]))
            candidates += rest[: n - len(candidates)]
        front_F = np.array([[float(r.objectives[name]) for name in objectives] for r in front],
                           dtype=float).reshape(len(front), len(objectives))
        picked = select_children(self.settings.selection, pool.F[candidates], front_F, min(n, len(candidates)))
        return [candidates[j] for j in picked]
