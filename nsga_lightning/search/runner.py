"""The search loop: our own ask/tell over NSGA-II with the NSGA-Net operators, resumable from the archive.

Generation 0 samples ``pop_size`` architectures with distinct canonical keys. Every later generation mates
``n_offspring`` children (binary tournament, two-point crossover, polynomial mutation) whose keys are new to
the archive, evaluates them, and keeps ``pop_size`` of parents + children by rank and crowding. There are
``n_gens`` generations in all, generation 0 included (as in the original: ``pop_size + (n_gens - 1) *
n_offspring`` evaluations).

Results may arrive in any order (parallel evaluators); each is committed at once, and the algorithm is told
them in candidate order, so the archive and the front do not depend on the order of completion.

Resume: after survival each generation commits its row (population keys, rank and crowding, and the RNG
state at that moment). A run restarts from the last row: the same population and RNG give the same
offspring, children already committed by the interrupted attempt are answered from the archive, and
duplicates are checked against the archive as it stood at the start of the generation. The result is the
same as an uninterrupted run. ``n_gens`` is not part of the fingerprint, so a finished run can be extended;
running a finished search again changes nothing.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from pymoo.core.population import Population

from nsga_lightning.search.core.evaluator import OBJECTIVES, Candidate, Evaluator, derive_seed, evaluate_all
from nsga_lightning.search.core.pareto import pareto_front
from nsga_lightning.search.core.records import ArchiveRow, GenerationRow, SearchResult
from nsga_lightning.search.evolution.fidelity import Fidelity
from nsga_lightning.search.evolution.generation_state import (
    check_runtime,
    last_line,
    log_generation,
    population_of,
    recorded_population,
    restore_rng,
)
from nsga_lightning.search.evolution.operators import ETA, MAX_MATING_ROUNDS, NSGANetOperators
from nsga_lightning.search.loops.steady_state import AsynchronousSteadyState, supports_async
from nsga_lightning.search.proposers.exploitation import ALPHA, TRIES, exploited_offspring
from nsga_lightning.search.proposers.prescreen import Prescreen, Scorer, screen_children
from nsga_lightning.search.scheduling.async_halving import AsynchronousHalving
from nsga_lightning.search.scheduling.successive_halving import train_in_rungs
from nsga_lightning.search.store.archive import Archive
from nsga_lightning.search.store.run_directory import RunDirectory
from nsga_lightning.spaces import SearchSpace

log = logging.getLogger(__name__)

# Version of the fingerprinted configuration's layout: archives of another format are refused with a clear line.
CONFIG_FORMAT = 2
STATUSES = ("completed", "interrupted", "already complete")


class SearchRunner:
    """Run (or resume) one NSGA-Net search.

    Args:
        space: the search space (``MicroSpace``, ``MacroSpace`` or anything with the ``SearchSpace``
            interface).
        evaluator: evaluates new candidates (see :class:`Evaluator`).
        run_dir: the run directory (a path or a :class:`RunDirectory`); an existing one is resumed.
        pop_size: population size (NSGA-Net: 40).
        n_offspring: children per generation (README micro: 20; ``1`` = steady state).
        n_gens: generations including the initial one (README: 30).
        seed: run seed (RNG of the operators; per-candidate seeds derive from it and the key).
        objectives: 2 or 3 of ``error``, ``madds``, ``params``, all minimised.
        callbacks: search callbacks (see :class:`SearchCallback`).
        eta: polynomial-mutation distribution index.
        max_mating_rounds: mating rounds tried per generation before filling with fresh samples.
        initialization, initial_architectures, crossover: the paper's operators (see :class:`NSGANetOperators`).
        exploitation_gens: the last generations whose children come from the Bayesian network fitted to the
            archive (the paper's BOA step; see ``exploitation.py``); 0: none.
        fidelity: successive halving over epochs within each generation (``successive_halving.py``); ``None``
            or one rung: every child trains fully.
        prescreen, scorer: zero-cost pre-screening of mated children (``prescreen.py``): ``prescreen.factor``
            times ``n_offspring`` children are mated and scored by ``scorer``, and the best ``n_offspring``
            trained; ``None`` or score ``none``: off.
        settings: the search's settings as plain blocks, stored as the run directory's config (``RunDirectory.config``) when a
            run starts (rewritten only when they changed).

    Raises:
        ValueError: for an invalid setting, or a run directory created with a different configuration.
    """

    def __init__(
        self,
        space: SearchSpace,
        evaluator: Evaluator,
        run_dir: str | Path | RunDirectory,
        pop_size: int = 40,
        n_offspring: int = 20,
        n_gens: int = 30,
        seed: int = 0,
        objectives: Sequence[str] = ("error", "madds"),
        callbacks: Sequence[Any] = (),
        eta: float = ETA,
        max_mating_rounds: int = MAX_MATING_ROUNDS,
        settings: Mapping[str, Any] | None = None,
        initialization: str = "random",
        initial_architectures: Sequence[Any] = (),
        crossover: str = "two_point",
        exploitation_gens: int = 0,
        fidelity: Fidelity | None = None,
        prescreen: Prescreen | None = None,
        scorer: Scorer | None = None,
    ) -> None:
        objectives = tuple(objectives)
        unknown = [name for name in objectives if name not in OBJECTIVES]
        if unknown or len(set(objectives)) != len(objectives) or not 2 <= len(objectives) <= 3:
            raise ValueError(
                f"objectives must be 2 or 3 distinct names from {list(OBJECTIVES)}, got {list(objectives)}"
            )
        for name, value, low in (("pop_size", pop_size, 2), ("n_offspring", n_offspring, 1), ("n_gens", n_gens, 1),
                                 ("seed", seed, 0), ("max_mating_rounds", max_mating_rounds, 1),
                                 ("exploitation_gens", exploitation_gens, 0)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
                raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
        if not eta > 0:
            raise ValueError(f"eta must be positive, got {eta!r}")
        self.space, self.evaluator, self.objectives = space, evaluator, objectives
        self.pop_size, self.n_offspring = int(pop_size), int(n_offspring)
        self.n_gens, self.seed = int(n_gens), int(seed)
        self.callbacks = list(callbacks)
        self.operators = NSGANetOperators(space, len(objectives), eta=float(eta),
                                          max_mating_rounds=int(max_mating_rounds), crossover=crossover,
                                          initialization=initialization,
                                          initial_architectures=initial_architectures)
        self.max_mating_rounds = int(max_mating_rounds)
        self.settings = dict(settings) if settings is not None else None
        self.workers = int(getattr(evaluator, "workers", 1) or 1)
        # n_offspring 1 with several workers: asynchronous steady state (see steady_state.py)
        asynchronous = self.n_offspring == 1 and self.workers > 1 and supports_async(evaluator)
        self.window = self.workers if asynchronous else None
        self.exploitation_gens = int(exploitation_gens)
        if self.exploitation_gens >= self.n_gens:
            raise ValueError(f"exploitation_gens ({self.exploitation_gens}) must be below n_gens ({self.n_gens}): "
                             "generation 0 is the initial population, and the network needs an archive to learn from")
        if self.window and self.exploitation_gens:
            raise ValueError("exploitation_gens needs the generational mode; the asynchronous steady state "
                             "(n_offspring 1 with several workers) has no last generations to exploit in")
        self.fidelity = fidelity if fidelity is not None and fidelity.enabled else None
        if self.window and self.fidelity:
            raise ValueError("search.fidelity needs the generational mode; the asynchronous steady state (n_offspring "
                             "1 with several workers) has no generation of children to promote from")
        if self.fidelity and self.fidelity.asynchronous and not supports_async(evaluator):
            raise ValueError("search.fidelity.asynchronous needs an evaluator that takes candidates one at a time "
                             "(search.workers > 1)")
        self.prescreen = prescreen if prescreen is not None and prescreen.enabled else None
        if self.prescreen and scorer is None:
            raise ValueError(f"search.prescreen.score {self.prescreen.score!r} needs a scorer")
        if self.window and self.prescreen:
            raise ValueError("search.prescreen needs the generational mode; the asynchronous steady state (n_offspring "
                             "1 with several workers) mates one child at a time")
        self.scorer = scorer
        self.run_directory = RunDirectory(run_dir)
        self.run_dir = self.run_directory.path
        self.archive = Archive(self.run_directory, self.config())
        self.n_evaluated = 0
        self.interrupt_reported = False
        self.busy_seconds = 0.0  # sum of the evaluations' own times (training, in whichever process)
        self.evaluation_wall = 0.0  # wall time spent waiting for evaluations

    def config(self) -> dict[str, Any]:
        """The configuration that affects results (its hash is the run fingerprint; ``n_gens`` excluded)."""
        space = {"name": self.space.name, "n_var": int(self.space.n_var),
                 "lower": np.asarray(self.space.lower).tolist(), "upper": np.asarray(self.space.upper).tolist()}
        for extra in ("n_blocks", "n_nodes"):
            if hasattr(self.space, extra):
                space[extra] = getattr(self.space, extra)
        fingerprint = getattr(self.evaluator, "fingerprint", None)
        return {
            "format": CONFIG_FORMAT,
            "space": space,
            "pop_size": self.pop_size,
            "n_offspring": self.n_offspring,
            "seed": self.seed,
            "objectives": list(self.objectives),
            "operators": self.operators.describe(),
            "evaluator": dict(fingerprint()) if callable(fingerprint) else None,
        } | ({"asynchronous": {"in_flight": self.window}} if self.window else {}) | (
            {"exploitation": {"gens": self.exploitation_gens, "network": "chain", "alpha": ALPHA, "tries": TRIES}}
            if self.exploitation_gens else {}) | ({"fidelity": self.fidelity.describe()} if self.fidelity else {}) | (
            {"prescreen": self.prescreen.describe()} if self.prescreen else {})

    # -- the loop -------------------------------------------------------------------------------------------

    def run(self) -> SearchResult:
        """Run the remaining generations and return the result.

        Raises:
            KeyboardInterrupt: re-raised after logging; everything finished is in the archive, and running
                again on the same ``run_dir`` resumes.
        """
        last = self.archive.last_generation()
        if last is not None and last.generation + 1 >= self.n_gens:
            result = self.result("already complete")
            log.debug("search already complete (%d architectures, %d on the front); outputs are up to date",
                     result.n_archived, len(result.pareto))
            self._call("on_search_complete", self, result)
            return result
        if self.settings is not None:
            self.run_directory.write_config(self.settings)
        check_runtime(self.archive, self.evaluator)
        start = getattr(self.evaluator, "start", None)
        if callable(start):  # worker processes build their evaluators while this process prepares
            start()
        self._call("on_search_start", self)
        if last is not None:
            log.info("resuming %s after generation %d (%d architectures archived)", self.run_dir,
                     last.generation, len(self.archive))
        try:
            if last is None:
                last = self._initial_generation()
            if self.window is not None and last.generation + 1 < self.n_gens:
                last = AsynchronousSteadyState(self, self.window).run()
            while last.generation + 1 < self.n_gens:
                last = self._next_generation(last)
        except KeyboardInterrupt:
            result = self.result("interrupted")
            try:
                self._call("on_search_end", self, result)  # first: a progress bar closes before the message
            except KeyboardInterrupt:  # a second Ctrl-C while shutting down: still say what is saved
                pass
            log.warning("search interrupted after %d complete generation(s); %d architectures archived in %s; "
                        "run again on the same run_dir to resume", result.generations, result.n_archived,
                        self.run_dir)
            self.interrupt_reported = True
            raise
        result = self.result("completed")
        log.info("search finished: %d generations, %d architectures, %d on the Pareto front", result.generations,
                 result.n_archived, len(result.pareto))
        self._call("on_search_end", self, result)
        return result

    def result(self, status: str = "completed") -> SearchResult:
        """The current state as a :class:`SearchResult`."""
        if status not in STATUSES:
            raise ValueError(f"unknown status {status!r}; allowed: {', '.join(STATUSES)}")
        last = self.archive.last_generation()
        rows = self.archive.rows()
        return SearchResult(
            status, 0 if last is None else last.generation + 1,
            self.archive.get_many(last.population) if last is not None else [],
            pareto_front(rows, self.objectives), self.n_evaluated, self.run_dir,
            n_archived=len(rows), n_failed=sum(1 for r in rows if not r.is_ok), workers=self.workers,
            busy_share=self.busy_seconds / (self.workers * self.evaluation_wall) if self.evaluation_wall else None,
        )

    def _initial_generation(self) -> GenerationRow:
        rng = np.random.default_rng(self.seed)
        pop = self.operators.initial(self.pop_size, rng)
        if len(pop) < self.pop_size:
            log.warning("only %d distinct architectures found for an initial population of %d", len(pop),
                        self.pop_size)
        pop = self._evaluated(pop, 0)
        return self.record(0, self.operators.rank(pop, rng), rng)

    def _next_generation(self, last: GenerationRow) -> GenerationRow:
        generation = last.generation + 1
        rng = restore_rng(last.rng_state)
        pop = recorded_population(self.archive, last, self.objectives, self.space.n_var)
        excluded = self.archive.keys(before_generation=generation)
        wanted = self.n_offspring * (self.prescreen.factor if self.prescreen else 1)
        off = self._offspring(pop, generation, rng, excluded, wanted)
        if len(off) < self.n_offspring:
            missing = self.n_offspring - len(off)
            log.warning("generation %d: mating found only %d of %d new architectures in %d rounds; filling %d "
                        "with fresh samples", generation, len(off), self.n_offspring, self.max_mating_rounds,
                        missing)
            taken = excluded | {ind.get("key") for ind in off}
            off = Population.merge(off, self.operators.sample(missing, rng, taken))
            if len(off) < self.n_offspring:
                log.warning("generation %d: only %d new architectures could be found", generation, len(off))
        if self.prescreen:
            off = screen_children(self, off, generation, self.scorer, self.prescreen, self.n_offspring)
        merged = Population.merge(pop, self._evaluated(off, generation))
        return self.record(generation, self.operators.survive(merged, self.pop_size, rng), rng)

    def _offspring(self, pop: Population, generation: int, rng: np.random.Generator, excluded: set[str],
                   n: int) -> Population:
        """``n`` children of a generation: mated, or drawn from the archive's Bayesian network (``exploitation``)."""
        if not self.exploitation_gens or generation < self.n_gens - self.exploitation_gens:
            return self.operators.mate(pop, n, rng, excluded)
        history = [r for r in self.archive.rows("ok") if r.generation < generation and not r.stopped_early]
        return exploited_offspring(self.space, self.operators, history, self.objectives, pop, n, generation, rng,
                                   excluded)

    def record(self, generation: int, pop: Population, rng: np.random.Generator) -> GenerationRow:
        """Commit a completed generation's population and RNG state, log it and call ``on_generation_end``."""
        keys = [ind.get("key") for ind in pop]
        row = self.archive.record_generation(generation, keys, [ind.get("rank") for ind in pop],
                                             [ind.get("crowding") for ind in pop], rng.bit_generator.state)
        rows = self.archive.get_many(keys)
        log_generation(generation, rows, self.objectives)
        self._call("on_generation_end", self, generation, rows, self.archive)
        return row

    # -- evaluation -----------------------------------------------------------------------------------------

    def candidate(self, genome: Sequence[int], generation: int, key: str | None = None) -> Candidate:
        """The :class:`Candidate` of a genome asked for in ``generation`` (its seed derives from the key)."""
        genome = [int(g) for g in genome]
        key = key if key is not None else self.space.key(genome)
        return Candidate(key, genome, generation, derive_seed(self.seed, key), self.space.decode(genome))

    def _evaluated(self, pop: Population, generation: int) -> Population:
        """``pop`` with objectives: known keys from the archive, new ones evaluated and committed."""
        keys = [ind.get("key") for ind in pop]
        rows: dict[str, ArchiveRow] = {}
        todo = []
        for key, ind in zip(keys, pop):
            known = self.archive.get(key)
            # with rungs, this generation's own children (an interrupted attempt's) may still be promoted
            if known is not None and not (self.fidelity and known.generation == generation):
                rows[key] = known
            else:
                todo.append(self.candidate(ind.X, generation, key))
        if rows:
            log.info("generation %d: %d architecture(s) answered from the archive", generation, len(rows))
        self._call("on_generation_start", self, generation, list(todo))
        start = time.perf_counter()
        try:
            if self.fidelity and self.fidelity.asynchronous:
                rows.update(AsynchronousHalving(self, todo, self.fidelity, self.workers).run())
            elif self.fidelity:
                rows.update(train_in_rungs(self, todo, self.fidelity))
            else:
                for candidate, evaluation in evaluate_all(self.evaluator, todo, self.objectives):
                    rows[candidate.key] = self.commit(candidate, evaluation)
        finally:
            self.evaluation_wall += time.perf_counter() - start
        ordered = [rows[key] for key in keys]  # told in candidate order, whatever the order of completion
        return population_of(ordered, self.objectives, self.space.n_var)

    def commit(self, candidate: Candidate, evaluation: Any) -> ArchiveRow:
        """Archive one result at once, log a failure and call ``on_candidate_end``."""
        self.n_evaluated += 1
        self.busy_seconds += float(evaluation.seconds)
        fidelity = self.fidelity
        row = self.archive.add(candidate, evaluation, fidelity.max_epochs if fidelity else None,
                               record_order=bool(fidelity and fidelity.asynchronous))
        if not evaluation.is_ok:
            log.warning("architecture %s failed: %s", candidate.key, last_line(evaluation.error_text))
        self._call("on_candidate_end", self, candidate, evaluation)
        return row

    # -- helpers --------------------------------------------------------------------------------------------

    def _call(self, hook: str, *args: Any) -> None:
        for callback in self.callbacks:
            method = getattr(callback, hook, None)
            if callable(method):
                method(*args)

    def close(self) -> None:
        """Close the archive (and the evaluator's workers, if it has any)."""
        closer = getattr(self.evaluator, "close", None)
        try:
            if callable(closer):
                closer()
        finally:
            self.archive.close()

    def __enter__(self) -> SearchRunner:  # noqa: PYI034 - Self needs Python 3.11
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
