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
running a finished search again changes nothing. A budget (``search.budget``) or the convergence rule
(``search.stop_when``) may end it earlier, in the same way (``recording/run_control.py``); a warm start
(``search.warm_start``) brings earlier results and seeds in first (``evolution/warm_start.py``).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from nsga_lightning.search.assemble.fingerprint import run_configuration
from nsga_lightning.search.assemble.modes import check_modes, steady_state_window
from nsga_lightning.search.core.evaluator import OBJECTIVES, Evaluator
from nsga_lightning.search.core.objectives import check_objectives
from nsga_lightning.search.core.records import SearchResult
from nsga_lightning.search.core.run_control import Budget, StopWhen
from nsga_lightning.search.evolution.fidelity import Fidelity
from nsga_lightning.search.evolution.generation_state import check_runtime
from nsga_lightning.search.evolution.limits import make_limits
from nsga_lightning.search.evolution.mutation import ETA
from nsga_lightning.search.evolution.operators import MAX_MATING_ROUNDS, NSGANetOperators
from nsga_lightning.search.evolution.warm_start import WarmStart, check_entries
from nsga_lightning.search.execution.protocols import Execution
from nsga_lightning.search.loops.session import run_generations
from nsga_lightning.search.proposers.exploitation import ExploitationProposer
from nsga_lightning.search.proposers.mating import MatingProposer
from nsga_lightning.search.proposers.prescreen import Prescreen, PrescreenProposer, Scorer
from nsga_lightning.search.proposers.surrogate import Complexity, SurrogateProposer, check_complexity
from nsga_lightning.search.recording.recorder import Recorder
from nsga_lightning.search.recording.results import Meters, search_result
from nsga_lightning.search.recording.run_control import RunControl, Stop, check_epochs_budget
from nsga_lightning.search.scheduling.batch import AsynchronousRungs, OneBatch, SynchronousRungs
from nsga_lightning.search.store.archive import Archive
from nsga_lightning.search.store.run_directory import RunDirectory
from nsga_lightning.search.surrogate.settings import Surrogate
from nsga_lightning.spaces import SearchSpace

log = logging.getLogger(__name__)


class SearchRunner(Meters):
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
        objectives: 2 or 3 names the evaluator returns (its ``objective_names``; an evaluator that declares
            none: of ``error``, ``madds``, ``params``), all minimised.
        callbacks: search callbacks (see :class:`SearchCallback`).
        eta: polynomial-mutation distribution index.
        max_mating_rounds: mating rounds tried per generation before filling with fresh samples.
        initialization, initial_architectures, crossover: the paper's operators (see :class:`NSGANetOperators`).
        genes: ``ordinal`` (the published code) or ``space`` (categorical genes resampled; see
            :class:`NSGANetOperators`).
        exploitation_gens: the last generations whose children come from the Bayesian network fitted to the
            archive (the paper's BOA step; see ``exploitation.py``); 0: none.
        fidelity: successive halving over epochs within each generation (``successive_halving.py``); ``None``
            or one rung: every child trains fully.
        prescreen, scorer: zero-cost pre-screening of mated children (``prescreen.py``): ``prescreen.factor``
            times ``n_offspring`` children are mated and scored by ``scorer``, and the best ``n_offspring``
            trained; ``None`` or score ``none``: off.
        surrogate, complexity: surrogate-assisted proposals from generation ``surrogate.start`` on
            (``proposers/surrogate.py``): a predictor fitted to the archive, an inner NSGA-II on predicted error
            and the exact complexity ``complexity`` counts without training; ``None`` or model ``none``: off.
        constraints: upper bounds on objectives (``search.constraints``, ``evolution/limits.py``); ``None``: none.
        budget, stop_when: end the search early (``core/run_control.py``): a budget of hours, evaluations or
            epochs, counted across sessions, and the convergence rule on the front's hypervolume.
        candidate_epochs: epochs of one candidate's full training (the trainer's ``max_epochs``), which the
            ``epochs`` budget counts; ``None``: unknown (that budget then needs rungs).
        reference_point: hypervolume reference overrides (``search.reference_point``) for ``stop_when``.
        warm_start: run directories or files of known architectures (``evolution/warm_start.py``).
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
        surrogate: Surrogate | None = None,
        complexity: Complexity | None = None,
        genes: str = "ordinal",
        constraints: Mapping[str, float] | None = None,
        budget: Budget | None = None,
        stop_when: StopWhen | None = None,
        candidate_epochs: int | None = None,
        reference_point: Mapping[str, float] | None = None,
        warm_start: Sequence[str] = (),
    ) -> None:
        self.execution = Execution(evaluator)
        objectives = check_objectives(objectives, self.execution.objectives())
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
        self.limits = make_limits(constraints, self.execution.objectives() or OBJECTIVES, space, complexity, seed)
        self.operators = NSGANetOperators(space, len(objectives), eta=float(eta),
                                          max_mating_rounds=int(max_mating_rounds), crossover=crossover,
                                          initialization=initialization,
                                          initial_architectures=initial_architectures, genes=genes,
                                          limits=self.limits)
        self.max_mating_rounds = int(max_mating_rounds)
        self.settings = dict(settings) if settings is not None else None
        self.workers = self.execution.workers
        self.window = steady_state_window(self.n_offspring, self.workers, self.execution.asynchronous)
        self.exploitation_gens = int(exploitation_gens)
        self.fidelity = fidelity if fidelity is not None and fidelity.enabled else None
        self.prescreen = prescreen if prescreen is not None and prescreen.enabled else None
        self.surrogate = surrogate if surrogate is not None and surrogate.enabled else None
        if self.surrogate and complexity is None:
            raise ValueError("search.surrogate needs the exact complexity of a genome without training (the trainer "
                             "evaluator's analytic count, or complexity= for your own evaluator)")
        self.complexity = complexity
        if self.prescreen and scorer is None:
            raise ValueError(f"search.prescreen.score {self.prescreen.score!r} needs a scorer")
        check_modes(n_gens=self.n_gens, window=self.window, exploitation_gens=self.exploitation_gens,
                    fidelity=bool(self.fidelity),
                    asynchronous_fidelity=bool(self.fidelity and self.fidelity.asynchronous),
                    prescreen=bool(self.prescreen), asynchronous=self.execution.asynchronous, workers=self.workers,
                    surrogate_start=self.surrogate.start if self.surrogate else None, objectives=objectives)
        if self.surrogate:
            check_complexity(complexity, space, objectives)
        self.scorer = scorer
        self.proposer = self._proposer()
        self.schedule = self._schedule()
        self.run_directory = RunDirectory(run_dir)
        self.run_dir = self.run_directory.path
        self.budget = check_epochs_budget(budget, candidate_epochs, bool(self.fidelity))
        self.warm_start = WarmStart(check_entries(warm_start, self.run_dir), space, objectives, self.pop_size)
        self.warm_start.prepare(self.run_directory)  # a bad source is one line before the run directory exists
        self.archive = Archive(self.run_directory, self.config(), space)
        self.control = RunControl(self.archive, objectives, self.budget, stop_when, reference_point,
                                  candidate_epochs=self.fidelity.max_epochs if self.fidelity else candidate_epochs,
                                  first_epochs=self.fidelity.rungs[0] if self.fidelity else None,
                                  limits=self.limits.limits if self.limits is not None else None)
        self.recorder = Recorder(self, self.archive, self.execution, space, objectives, self.seed, self.callbacks,
                                 self.fidelity.max_epochs if self.fidelity else None,
                                 record_order=bool(self.fidelity and self.fidelity.asynchronous), control=self.control)
        self.interrupt_reported = False

    def _proposer(self) -> Any:
        """Mating, wrapped by the exploitation of the last generations and the pre-screen where they are on."""
        proposer: Any = MatingProposer(self.operators, self.max_mating_rounds)
        if self.exploitation_gens:
            proposer = ExploitationProposer(proposer, self.exploitation_gens, self.n_gens)
        if self.prescreen:
            proposer = PrescreenProposer(proposer, self.prescreen, self.scorer)
        if self.surrogate:
            proposer = SurrogateProposer(proposer, self.surrogate, self.operators, self.complexity, self.seed)
        return proposer

    def _schedule(self) -> Any:
        """One batch, or the rungs (synchronous or asynchronous)."""
        if self.fidelity and self.fidelity.asynchronous:
            return AsynchronousRungs(self.fidelity, self.workers)
        return SynchronousRungs(self.fidelity) if self.fidelity else OneBatch()

    def config(self) -> dict[str, Any]:
        """The configuration that affects results (its hash is the run fingerprint; ``n_gens`` excluded): each part's
        own block (:func:`~nsga_lightning.search.assemble.fingerprint.run_configuration`)."""
        return run_configuration(space=self.space, pop_size=self.pop_size, n_offspring=self.n_offspring,
                                 seed=self.seed, objectives=self.objectives, operators=self.operators.describe(),
                                 evaluator=self.execution.fingerprint(), window=self.window,
                                 proposer=self.proposer.describe(), schedule=self.schedule.describe()
                                 ) | self.warm_start.describe()

    # -- the loop -------------------------------------------------------------------------------------------

    def run(self) -> SearchResult:
        """Run the remaining generations (to ``n_gens``, a budget or convergence) and return the result.

        Raises:
            KeyboardInterrupt: re-raised after logging; everything finished is in the archive, and running
                again on the same ``run_dir`` resumes.
        """
        last = self.archive.last_generation()
        done = (Stop("n_gens") if last is not None and last.generation + 1 >= self.n_gens
                else self.control.stop_before(0 if last is None else last.generation + 1))
        if done is not None:
            result = self.result("already complete", done)
            log.debug("search already complete (%s; %d architectures, %d on the front); outputs are up to date",
                      result.stop_text, result.n_archived, len(result.pareto))
            self.recorder.call("on_search_complete", result)
            return result
        if self.settings is not None:
            self.run_directory.write_config(self.settings)
        check_runtime(self.archive, self.execution.runtime())
        seeds = self.warm_start.apply(self.archive, self.execution.fingerprint())
        self.execution.start()  # worker processes build their evaluators while this process prepares
        if last is not None:
            log.info("resuming %s after generation %d (%d architectures archived)", self.run_dir,
                     last.generation, len(self.archive))
        try:
            self.control.start()
            self.recorder.call("on_search_start")
            stop = run_generations(self.recorder, self.operators, self.proposer, self.schedule,
                                   pop_size=self.pop_size, n_offspring=self.n_offspring, n_gens=self.n_gens,
                                   seed=self.seed, window=self.window, seeds=seeds)
        except KeyboardInterrupt:
            self.control.close()
            if not self.control.hard_fired:
                self._interrupted()
                raise
            stop = self.control.hard_stop()
        finally:
            self.control.close()
        result = self.result("completed", stop)
        self.control.record_end(stop, self.n_gens)
        log.info("search finished (%s): %d generations, %d architectures, %d on the Pareto front", result.stop_text,
                 result.generations, result.n_archived, len(result.pareto))
        self.recorder.call("on_search_end", result)
        return result

    def _interrupted(self) -> None:
        """Tell the callbacks and the log that the search was interrupted (before re-raising)."""
        result = self.result("interrupted")
        try:
            self.recorder.call("on_search_end", result)  # first: a progress bar closes before the message
        except KeyboardInterrupt:  # a second Ctrl-C while shutting down: still say what is saved
            pass
        log.warning("search interrupted after %d complete generation(s); %d architectures archived in %s; "
                    "run again on the same run_dir to resume", result.generations, result.n_archived, self.run_dir)
        self.interrupt_reported = True

    def result(self, status: str = "completed", stop: Stop | None = None) -> SearchResult:
        """The current state as a :class:`SearchResult` (``stop``: why it ended)."""
        return search_result(self.recorder, status, stop, self.n_gens, self.workers)

    def close(self) -> None:
        """Close the archive (and the evaluator's workers, if it has any)."""
        try:
            self.execution.close()
        finally:
            self.archive.close()

    def __enter__(self) -> SearchRunner:  # noqa: PYI034 - Self needs Python 3.11
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
