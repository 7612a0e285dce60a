"""Surrogate-assisted proposals (NSGANetV2's MSuNAS loop) from generation ``start`` on.

Each such generation:

0. the guard rails decide from the archive's earlier generations alone (so a resume decides the same): too few
   fully trained architectures (``min_trained``) or, after a surrogate generation whose predictions ranked its
   children worse than ``min_tau`` (Kendall tau), the whole generation mates; otherwise ``mated_share`` of the
   children are mated first (from the generation's RNG, on a resume too, so it is drawn alike);
1. fit the predictor (``surrogate/models.py``) to the archive's fully trained, successful rows of the earlier
   generations, in key order, and a warm start's prior data (architectures measured with other settings that
   this search has not trained in an earlier generation; ``evolution/warm_start.py``): features by the space's
   bounds (one-hot; with ``search.genes: space`` ordered positions as scaled values), target the log of the
   validation error (a few near-chance networks otherwise dominate the fit); a listed space's row is featured by
   its key's listed genome;
2. find candidates (``surrogate_pool.py``): an inner NSGA-II with the project's operators on (predicted error,
   exact complexity objectives), or, for a space small enough to list, every architecture not yet archived; the
   predicted error is the optimistic ``mean - explore * std``; complexity comes from the analytic count (no network
   is built);
3. choose the rest of the children (``surrogate/selection.py``) against the archive's front;
4. store every chosen child's genome and prediction (the ``predictions`` table) before any of them trains.

The candidates come from a generator seeded by (run seed, generation), never from the generation's RNG, and only
rows of earlier generations are fitted: a resumed generation mates again as it did and finds its stored choice, and
an uninterrupted run, a resumed one and any worker count give the same archive.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from pymoo.core.population import Population

from nsga_lightning.search.core.evaluator import Candidate
from nsga_lightning.search.core.pareto import pareto_front
from nsga_lightning.search.evolution.operators import NSGANetOperators
from nsga_lightning.search.evolution.sampling import listing
from nsga_lightning.search.proposers.mating import Ask, MatingProposer
from nsga_lightning.search.proposers.surrogate_pool import InnerSearch, ListedPool, choose, complexity_names
from nsga_lightning.search.store.prediction_table import PredictionRow
from nsga_lightning.search.surrogate.features import MixedFeatures, OneHotFeatures
from nsga_lightning.search.surrogate.models import CannotFitError, kendall_tau, make_model
from nsga_lightning.search.surrogate.predictor import one_thread
from nsga_lightning.search.surrogate.settings import Surrogate
from nsga_lightning.spaces import categorical_positions

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
        inner: the mating proposer (also fills up when the candidates hold too few new architectures).
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
        # with search.genes: space, what the space says about its genes (one-hot categories, scaled ordered values)
        categorical = categorical_positions(space) if operators.genes == "space" else None
        self.features = (OneHotFeatures(space.lower, space.upper) if categorical is None
                         else MixedFeatures(space.lower, space.upper, categorical))
        self.listed = listing(space)  # None for a space too large to list: an inner search finds candidates
        # a listed key's complexity is counted on its listed genome, the same in every session: kept across proposals
        self.counted: dict[str, dict[str, float]] = {}

    def describe(self) -> dict[str, Any]:
        """The ``surrogate`` fingerprint block."""
        block = {**self.settings.describe(), "features": self.features.describe()}
        if self.listed is not None:
            block["candidates"] = "every listed architecture"
        return {"surrogate": block}

    def propose(self, recorder: Recorder, ask: Ask) -> Population:
        """The generation's children: stored ones on a resume, else a fresh proposal (stored before training), its
        linear algebra on one thread (:func:`~nsga_lightning.search.surrogate.predictor.one_thread`)."""
        with one_thread():
            return self._propose(recorder, ask)

    def _propose(self, recorder: Recorder, ask: Ask) -> Population:
        if ask.generation < self.settings.start:
            return self.inner.propose(recorder, ask)
        archived = recorder.archive.rows()
        rows = training_rows(archived, ask.generation)
        # a warm start's architectures measured with other settings: prior data, where this search has no row of an
        # earlier generation (so a resume fits the same rows)
        earlier = {r.key for r in archived if r.generation < ask.generation}
        prior = [r for r in recorder.archive.warm_rows("prior") if r.status == "ok" and "error" in r.objectives
                 and r.key not in earlier]
        if not self._surrogate_turn(recorder, ask, rows, len(prior)):
            return self.inner.propose(recorder, ask)
        n_mated = round(self.settings.mated_share * ask.n)
        mated = self.operators.mate(ask.pop, n_mated, ask.rng, ask.excluded) if n_mated else Population.create()
        mated_keys = {ind.get("key") for ind in mated}
        stored = recorder.archive.predictions(ask.generation)
        if stored:  # filled up exactly as the first attempt was: same RNG state, same archive before it
            return self.inner.fill(Population.merge(mated, self._population([r.genome for r in stored],
                                                                            [r.key for r in stored])), ask)
        started = time.perf_counter()
        model = make_model(self.settings.model, self.seed)
        errors = [float(r.objectives["error"]) for r in rows] + [float(r.objectives["error"]) for r in prior]
        target = np.log(np.maximum(errors, 1e-6))
        try:
            model.fit(self.features(self._genomes([*rows, *prior])), target)
        except CannotFitError as error:  # deterministic for these rows: a resume mates the same way
            log.warning("generation %d: the %s surrogate cannot be fitted (%s); mating instead", ask.generation,
                        self.settings.model, error)
            rest = self.operators.mate(ask.pop, ask.n - len(mated), ask.rng, ask.excluded | mated_keys)
            return self.inner.fill(Population.merge(mated, rest), ask)
        prediction = _Prediction(self, recorder, ask, model, target)
        finder = (ListedPool(self.listed, prediction.objectives, self.operators.limits) if self.listed is not None else
                  InnerSearch(self.settings, self.operators, prediction.objectives,
                              1 + len(prediction.complexity_names),
                              np.random.default_rng([self.seed, ask.generation, 0x5E])))  # never the generation's RNG
        limits = self.operators.limits
        front = pareto_front(rows, recorder.objectives, limits.limits if limits is not None else None)
        pool = finder.run(ask, front, mated_keys)
        chosen = choose(pool, ask.n - len(mated), self.settings.inner_pop, self.settings.selection, front,
                        recorder.objectives)
        seconds = time.perf_counter() - started
        name = getattr(model, "chosen", None) or self.settings.model
        mean, std = prediction.predict(np.array([pool.X[i] for i in chosen]).reshape(-1, len(self.features.lower)))
        predictions = [PredictionRow(ask.generation, pool.keys[i], position, tuple(int(g) for g in pool.X[i]),
                                     name, float(np.exp(m)), float(np.exp(m) * s), len(errors), seconds)
                       for position, (i, m, s) in enumerate(zip(chosen, mean, std))]
        recorder.archive.record_predictions(predictions)
        log.info("generation %d: %d children proposed by the %s surrogate (fitted to %d, %.2f s), %d mated",
                 ask.generation, len(predictions), name, len(errors), seconds, len(mated))
        off = self._population([r.genome for r in predictions], [r.key for r in predictions])
        return self.inner.fill(Population.merge(mated, off), ask)

    def _surrogate_turn(self, recorder: Recorder, ask: Ask, rows: Sequence[ArchiveRow], n_prior: int) -> bool:
        """Whether the surrogate proposes this generation (the guard rails; archive rows of earlier generations
        only, so a resume decides alike): ``min_trained`` counts this search's own trained rows, the fit needs
        :data:`MIN_ROWS` with a warm start's ``n_prior`` rows of prior data."""
        if len(rows) < self.settings.min_trained or len(rows) + n_prior < MIN_ROWS:
            log.info("generation %d: %d trained architectures (and %d of prior data), too few for the surrogate; "
                     "mating", ask.generation, len(rows), n_prior)
            return False
        if self.settings.min_tau is None:
            return True
        last = recorder.archive.predictions(ask.generation - 1)
        by_key = {r.key: r for r in rows}
        pairs = [(p.predicted_error, float(by_key[p.key].objectives["error"])) for p in last if p.key in by_key]
        tau = kendall_tau(*zip(*pairs)) if len(pairs) >= 2 else math.nan
        if math.isfinite(tau) and tau < self.settings.min_tau:  # the generation after a fallback tries again
            log.info("generation %d: the surrogate's last predictions ranked its children with Kendall tau %.2f "
                     "(< %.2f); mating this generation", ask.generation, tau, self.settings.min_tau)
            return False
        return True

    def _genomes(self, rows: Sequence[Any]) -> np.ndarray:
        """The rows' genomes (archive or warm-start rows) as the features see them: a listed space's by its key's
        listed genome (the one every candidate of that key is predicted by), any other's as trained."""
        if self.listed is None:
            return np.array([list(r.genome) for r in rows])
        first = self.listed.first
        return np.array([list(self.listed.genomes[first[r.key]]) if r.key in first else list(r.genome)
                         for r in rows])

    def _population(self, genomes: Sequence[Sequence[int]], keys: Sequence[str]) -> Population:
        """Unevaluated children with their keys set."""
        X = np.array(genomes, dtype=np.int64).reshape(len(keys), len(self.features.lower))
        pop = Population.new("X", X)
        for ind, key in zip(pop, keys):
            ind.set("key", key)
        return pop


class _Prediction:
    """One proposal's predictions: (optimistic predicted error, exact complexity) of genomes. The complexity of a
    genome of a space that is not listed lives for this proposal only, so a fresh session proposes exactly what a
    continuing one does (a complexity cached by key across generations would keep the first genome's count of a
    key, which another genome of the same key need not share for a user's evaluator)."""

    def __init__(self, owner: SurrogateProposer, recorder: Recorder, ask: Ask, model: Any,
                 target: np.ndarray) -> None:
        self.owner, self.recorder, self.ask, self.model = owner, recorder, ask, model
        self.explore = owner.settings.explore
        self.complexity_names = complexity_names(recorder)
        # an interpolant far from its rows can predict anything: predictions stay within the targets' range
        # widened by that range on each side (exp of an unbounded log error overflows)
        span = float(np.ptp(target)) or 1.0
        self.limits = (float(target.min()) - span, float(target.max()) + span)
        self.counted = owner.counted if owner.listed is not None else {}

    def predict(self, genomes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Predicted log error (clipped to the limits) and its std."""
        mean, std = self.model.predict(self.owner.features(genomes))
        return np.clip(mean, *self.limits), std

    def objectives(self, genomes: np.ndarray, keys: Sequence[str]) -> np.ndarray:
        """(optimistic predicted error, exact complexity...) per genome, ``(n, 1 + len(complexity_names))``."""
        mean, std = self.model.predict(self.owner.features(genomes))
        error = np.exp(np.clip(mean - self.explore * std, *self.limits))
        todo = [self.recorder.candidate(g, self.ask.generation, k) for k, g in zip(keys, genomes)
                if k not in self.counted]
        if todo:
            for candidate, values in zip(todo, self.owner.complexity(todo), strict=True):
                _check_names(values, self.complexity_names, candidate.key)
                self.counted[candidate.key] = tuple(float(values[name]) for name in self.complexity_names)
        rest = np.array([self.counted[k] for k in keys], dtype=float)
        return np.column_stack([error, rest.reshape(len(keys), len(self.complexity_names))])
