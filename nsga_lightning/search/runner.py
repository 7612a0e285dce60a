"""The search loop: our own ask/tell over NSGA-II with the NSGA-Net operators, resumable from the archive.

Generation 0 samples ``pop_size`` architectures with distinct canonical keys. Every later generation mates
``n_offspring`` children (binary tournament, two-point crossover, polynomial mutation) whose keys are new to
the archive, evaluates them, and keeps ``pop_size`` of parents + children by rank and crowding. There are
``n_gens`` generations in all, generation 0 included (as in the original: ``pop_size + (n_gens - 1) *
n_offspring`` evaluations).

Resume: after survival each generation commits its row (population keys, rank and crowding, and the RNG
state at that moment). A run restarts from the last row: the same population and RNG give the same
offspring, children already committed by the interrupted attempt are answered from the archive, and
duplicates are checked against the archive as it stood at the start of the generation. The result is the
same as an uninterrupted run. ``n_gens`` is not part of the fingerprint, so a finished run can be extended.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from pymoo.core.population import Population

from nsga_lightning.search.archive import Archive
from nsga_lightning.search.evaluator import (
    OBJECTIVES,
    Candidate,
    Evaluator,
    derive_seed,
    evaluate_all,
)
from nsga_lightning.search.operators import ETA, MAX_MATING_ROUNDS, NSGANetOperators, make_population
from nsga_lightning.search.pareto import objective_matrix, pareto_front
from nsga_lightning.search.records import ArchiveRow, GenerationRow
from nsga_lightning.spaces import SearchSpace

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SearchResult:
    """What :meth:`SearchRunner.run` returns.

    Attributes:
        status: "completed", or "interrupted" (passed to ``on_search_end`` before the interrupt re-raises).
        generations: number of completed generations recorded in the archive.
        population: the rows of the last completed generation's population, in survival order.
        pareto: the non-dominated ok rows of the whole archive (see :func:`pareto_front`).
        n_evaluated: evaluator results received in this session (answers from the archive excluded).
        run_dir: the run directory.
    """

    status: str
    generations: int
    population: list[ArchiveRow]
    pareto: list[ArchiveRow]
    n_evaluated: int
    run_dir: Path


class SearchRunner:
    """Run (or resume) one NSGA-Net search.

    Args:
        space: the search space (``MicroSpace``, ``MacroSpace`` or anything with the ``SearchSpace``
            interface).
        evaluator: evaluates new candidates (see :class:`Evaluator`).
        run_dir: the run directory; it holds ``archive.sqlite``. An existing one is resumed.
        pop_size: population size (NSGA-Net: 40).
        n_offspring: children per generation (README micro: 20; ``1`` = steady state).
        n_gens: generations including the initial one (README: 30).
        seed: run seed (RNG of the operators; per-candidate seeds derive from it and the key).
        objectives: 2 or 3 of ``error``, ``madds``, ``params``, all minimised.
        callbacks: search callbacks (see :class:`SearchCallback`).
        eta: polynomial-mutation distribution index.
        max_mating_rounds: mating rounds tried per generation before filling with fresh samples.

    Raises:
        ValueError: for an invalid setting, or a run directory created with a different configuration.
    """

    def __init__(
        self,
        space: SearchSpace,
        evaluator: Evaluator,
        run_dir: str | Path,
        pop_size: int = 40,
        n_offspring: int = 20,
        n_gens: int = 30,
        seed: int = 0,
        objectives: Sequence[str] = ("error", "madds"),
        callbacks: Sequence[Any] = (),
        eta: float = ETA,
        max_mating_rounds: int = MAX_MATING_ROUNDS,
    ) -> None:
        objectives = tuple(objectives)
        unknown = [name for name in objectives if name not in OBJECTIVES]
        if unknown or len(set(objectives)) != len(objectives) or not 2 <= len(objectives) <= 3:
            raise ValueError(
                f"objectives must be 2 or 3 distinct names from {list(OBJECTIVES)}, got {list(objectives)}"
            )
        for name, value, low in (
            ("pop_size", pop_size, 2),
            ("n_offspring", n_offspring, 1),
            ("n_gens", n_gens, 1),
            ("seed", seed, 0),
            ("max_mating_rounds", max_mating_rounds, 1),
        ):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
                raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
        if not eta > 0:
            raise ValueError(f"eta must be positive, got {eta!r}")
        self.space, self.evaluator, self.objectives = space, evaluator, objectives
        self.pop_size, self.n_offspring = int(pop_size), int(n_offspring)
        self.n_gens, self.seed = int(n_gens), int(seed)
        self.callbacks = list(callbacks)
        self.operators = NSGANetOperators(
            space, len(objectives), eta=float(eta), max_mating_rounds=int(max_mating_rounds)
        )
        self.eta, self.max_mating_rounds = float(eta), int(max_mating_rounds)
        self.run_dir = Path(run_dir)
        self.archive = Archive(self.run_dir, self.config())
        self.n_evaluated = 0

    def config(self) -> dict[str, Any]:
        """The configuration that affects results (its hash is the run fingerprint; ``n_gens`` excluded)."""
        space = {
            "name": self.space.name,
            "n_var": int(self.space.n_var),
            "lower": np.asarray(self.space.lower).tolist(),
            "upper": np.asarray(self.space.upper).tolist(),
        }
        for extra in ("n_blocks", "n_nodes"):
            if hasattr(self.space, extra):
                space[extra] = getattr(self.space, extra)
        fingerprint = getattr(self.evaluator, "fingerprint", None)
        return {
            "space": space,
            "pop_size": self.pop_size,
            "n_offspring": self.n_offspring,
            "seed": self.seed,
            "objectives": list(self.objectives),
            "operators": {
                "sampling": "uniform-integer",
                "selection": "binary-tournament(domination, crowding)",
                "crossover": "two-point, prob 1.0",
                "mutation": "polynomial-integer, prob_var 1/n_var",
                "eta": self.eta,
                "survival": "rank-and-crowding",
                "max_mating_rounds": self.max_mating_rounds,
            },
            "evaluator": dict(fingerprint()) if callable(fingerprint) else None,
        }

    # -- the loop -------------------------------------------------------------------------------------------

    def run(self) -> SearchResult:
        """Run the remaining generations and return the result.

        Raises:
            KeyboardInterrupt: re-raised after logging; everything finished is in the archive, and running
                again on the same ``run_dir`` resumes.
        """
        self._call("on_search_start", self)
        last = self.archive.last_generation()
        if last is not None:
            log.info(
                "resuming %s after generation %d (%d architectures archived)",
                self.run_dir,
                last.generation,
                len(self.archive),
            )
        try:
            if last is None:
                last = self._initial_generation()
            while last.generation + 1 < self.n_gens:
                last = self._next_generation(last)
        except KeyboardInterrupt:
            result = self.result("interrupted")
            self._call("on_search_end", self, result)  # first: a progress bar closes before the message
            log.warning(
                "search interrupted after %d complete generation(s); %d architectures archived in %s; "
                "run again on the same run_dir to resume",
                result.generations,
                len(self.archive),
                self.run_dir,
            )
            raise
        result = self.result("completed")
        log.info(
            "search finished: %d generations, %d architectures, %d on the Pareto front",
            result.generations,
            len(self.archive),
            len(result.pareto),
        )
        self._call("on_search_end", self, result)
        return result

    def result(self, status: str = "completed") -> SearchResult:
        """The current state as a :class:`SearchResult`."""
        last = self.archive.last_generation()
        population = self.archive.get_many(last.population) if last is not None else []
        return SearchResult(
            status,
            0 if last is None else last.generation + 1,
            population,
            pareto_front(self.archive.rows(), self.objectives),
            self.n_evaluated,
            self.run_dir,
        )

    def _initial_generation(self) -> GenerationRow:
        rng = np.random.default_rng(self.seed)
        pop = self.operators.sample(self.pop_size, rng)
        if len(pop) < self.pop_size:
            log.warning(
                "only %d distinct architectures found for an initial population of %d",
                len(pop),
                self.pop_size,
            )
        pop = self._evaluated(pop, 0)
        return self._record(0, self.operators.rank(pop, rng), rng)

    def _next_generation(self, last: GenerationRow) -> GenerationRow:
        generation = last.generation + 1
        rng = _restore_rng(last.rng_state)
        pop = self._population(last)
        excluded = self.archive.keys(before_generation=generation)
        off = self.operators.mate(pop, self.n_offspring, rng, excluded)
        if len(off) < self.n_offspring:
            missing = self.n_offspring - len(off)
            log.warning(
                "generation %d: mating found only %d of %d new architectures in %d rounds; filling %d "
                "with fresh samples",
                generation,
                len(off),
                self.n_offspring,
                self.max_mating_rounds,
                missing,
            )
            taken = excluded | {ind.get("key") for ind in off}
            off = Population.merge(off, self.operators.sample(missing, rng, taken))
            if len(off) < self.n_offspring:
                log.warning("generation %d: only %d new architectures could be found", generation, len(off))
        merged = Population.merge(pop, self._evaluated(off, generation))
        return self._record(generation, self.operators.survive(merged, self.pop_size, rng), rng)

    def _record(self, generation: int, pop: Population, rng: np.random.Generator) -> GenerationRow:
        keys = [ind.get("key") for ind in pop]
        row = self.archive.record_generation(
            generation,
            keys,
            [ind.get("rank") for ind in pop],
            [ind.get("crowding") for ind in pop],
            rng.bit_generator.state,
        )
        rows = self.archive.get_many(keys)
        self._log_generation(generation, rows)
        self._call("on_generation_end", self, generation, rows, self.archive)
        return row

    def _population(self, row: GenerationRow) -> Population:
        """Rebuild a recorded population (with its rank and crowding) from the archive."""
        rows = self.archive.get_many(row.population)
        pop = make_population(
            self._genomes(rows),
            row.population,
            objective_matrix(rows, self.objectives),
            [not r.is_ok for r in rows],
        )
        for ind, rank, crowding in zip(pop, row.rank, row.crowding):
            ind.set("rank", rank)
            ind.set("crowding", crowding)
        return pop

    # -- evaluation -----------------------------------------------------------------------------------------

    def _evaluated(self, pop: Population, generation: int) -> Population:
        """``pop`` with objectives: known keys from the archive, new ones evaluated and committed."""
        keys = [ind.get("key") for ind in pop]
        rows: dict[str, ArchiveRow] = {}
        todo = []
        for key, ind in zip(keys, pop):
            known = self.archive.get(key)
            if known is not None:
                rows[key] = known
            else:
                genome = [int(g) for g in ind.X]
                todo.append(
                    Candidate(key, genome, generation, derive_seed(self.seed, key), self.space.decode(genome))
                )
        if rows:
            log.info("generation %d: %d architecture(s) answered from the archive", generation, len(rows))
        self._call("on_generation_start", self, generation, list(todo))
        for candidate, evaluation in evaluate_all(self.evaluator, todo, self.objectives):
            self.n_evaluated += 1
            rows[candidate.key] = self.archive.add(candidate, evaluation)
            if not evaluation.is_ok:
                log.warning("architecture %s failed: %s", candidate.key, _last_line(evaluation.error_text))
            self._call("on_candidate_end", self, candidate, evaluation)
        ordered = [rows[key] for key in keys]
        return make_population(
            self._genomes(ordered),
            keys,
            objective_matrix(ordered, self.objectives),
            [not r.is_ok for r in ordered],
        )

    # -- helpers --------------------------------------------------------------------------------------------

    def _genomes(self, rows: Sequence[ArchiveRow]) -> np.ndarray:
        return np.array([r.genome for r in rows], dtype=np.int64).reshape(len(rows), self.space.n_var)

    def _call(self, hook: str, *args: Any) -> None:
        for callback in self.callbacks:
            method = getattr(callback, hook, None)
            if callable(method):
                method(*args)

    def _log_generation(self, generation: int, rows: Sequence[ArchiveRow]) -> None:
        ok = [r for r in rows if r.is_ok]
        parts = [f"generation {generation}: {len(rows)} in population, {len(rows) - len(ok)} failed"]
        if ok:
            F = objective_matrix(ok, self.objectives)
            for j, name in enumerate(self.objectives):
                parts.append(
                    f"{name} best {F[:, j].min():.4g} mean {F[:, j].mean():.4g} "
                    f"median {np.median(F[:, j]):.4g} worst {F[:, j].max():.4g}"
                )
        log.info("; ".join(parts))

    def close(self) -> None:
        """Close the archive."""
        self.archive.close()

    def __enter__(self) -> SearchRunner:  # noqa: PYI034 - Self needs Python 3.11
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _restore_rng(state: dict[str, Any]) -> np.random.Generator:
    bit_generator = getattr(np.random, state["bit_generator"])()
    bit_generator.state = state
    return np.random.Generator(bit_generator)


def _last_line(text: str | None) -> str:
    lines = [line for line in (text or "").strip().splitlines() if line.strip()]
    return lines[-1] if lines else "(no error text)"
