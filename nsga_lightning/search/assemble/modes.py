"""Every rule on how the search's modes combine, in one place (the runner and the config checks both ask here).

The mode follows from ``n_offspring`` and the evaluator: ``n_offspring`` 1 with several workers and an evaluator
that takes single submissions runs the asynchronous steady state; anything else is generational. Exploitation,
rungs and the pre-screen need the generational mode; asynchronous rungs need an evaluator that takes single
submissions and several workers.
"""

from __future__ import annotations

from collections.abc import Sequence

from nsga_lightning.search.assemble.settings import SearchConfig
from nsga_lightning.search.core.run_control import Budget, StopWhen, make_budget, make_stop_when
from nsga_lightning.search.evolution.fidelity import Fidelity, make_fidelity
from nsga_lightning.search.proposers.prescreen import Prescreen, make_prescreen
from nsga_lightning.search.surrogate.settings import Surrogate, make_surrogate

STEADY = "the asynchronous steady state (n_offspring 1 with several workers)"


def steady_state_window(n_offspring: int, workers: int, asynchronous: bool) -> int | None:
    """Children in flight in the asynchronous steady state, or ``None`` for the generational mode."""
    return workers if n_offspring == 1 and workers > 1 and asynchronous else None


def check_modes(*, n_gens: int, window: int | None, exploitation_gens: int, fidelity: bool,
                asynchronous_fidelity: bool, prescreen: bool, asynchronous: bool, workers: int,
                surrogate_start: int | None = None, objectives: Sequence[str] = ("error",)) -> None:
    """Refuse a combination of modes that cannot run together.

    Args:
        n_gens: generations including the initial one.
        window: the steady state's children in flight (:func:`steady_state_window`), ``None`` if generational.
        exploitation_gens: the last generations that exploit.
        fidelity: whether rungs are on; ``asynchronous_fidelity``: whether they promote asynchronously.
        prescreen: whether the pre-screen is on.
        asynchronous: whether the evaluator takes single submissions; ``workers``: candidates trained at once.
        surrogate_start: the surrogate's first generation, ``None`` when it is off.
        objectives: the searched objectives (rungs, the pre-screen and the surrogate rank by ``error`` against the
            others).

    Raises:
        ValueError: one line naming the setting and why it cannot run.
    """
    if exploitation_gens >= n_gens:
        raise ValueError(f"exploitation_gens ({exploitation_gens}) must be below n_gens ({n_gens}): generation 0 "
                         "is the initial population, and the network needs an archive to learn from")
    if window and exploitation_gens:
        raise ValueError(f"exploitation_gens needs the generational mode; {STEADY} has no last generations to "
                         "exploit in")
    if window and fidelity:
        raise ValueError(f"search.fidelity needs the generational mode; {STEADY} has no generation of children to "
                         "promote from")
    if window and prescreen:
        raise ValueError(f"search.prescreen needs the generational mode; {STEADY} mates one child at a time")
    if (fidelity or prescreen) and "error" not in objectives:
        part = "search.fidelity" if fidelity else "search.prescreen"
        raise ValueError(f"{part} ranks children by their error against the other objectives: the objectives must "
                         f"include error, got {list(objectives)}")
    if fidelity and asynchronous_fidelity and (not asynchronous or workers < 2):
        raise ValueError("search.fidelity.asynchronous needs search.workers > 1 and an evaluator that takes "
                         "candidates one at a time (with one worker the rungs never wait for anyone); set workers "
                         "or asynchronous: false")
    if surrogate_start is not None:
        if surrogate_start >= n_gens:
            raise ValueError(f"search.surrogate.start ({surrogate_start}) must be below n_gens ({n_gens}): the "
                             "surrogate would never propose a child")
        if window:
            raise ValueError(f"search.surrogate needs the generational mode; {STEADY} proposes one child at a time")
        if exploitation_gens:
            raise ValueError("search.surrogate and exploitation_gens both propose children; use one (set "
                             "exploitation_gens: 0 or surrogate.model: none)")
        if prescreen:
            raise ValueError("search.surrogate and search.prescreen both choose which children train; use one (set "
                             "prescreen.score: none or surrogate.model: none)")
        if "error" not in objectives:
            raise ValueError(f"search.surrogate predicts the error: objectives must include error, got "
                             f"{list(objectives)}")


def fidelity_of(config: SearchConfig, own_evaluator: bool = False) -> Fidelity:
    """The checked rungs of ``search.fidelity`` (see :func:`~nsga_lightning.search.evolution.fidelity.make_fidelity`):
    the last rung is ``trainer.max_epochs``, or with your own evaluator the full epochs."""
    block = config.search.fidelity
    epochs = (block.rungs[-1] if block.rungs else 1) if own_evaluator else config.candidate_trainer["max_epochs"]
    return make_fidelity(block.rungs, block.keep, block.eta, epochs, block.asynchronous)


def prescreen_of(config: SearchConfig) -> Prescreen:
    """The checked ``search.prescreen`` (see :func:`~nsga_lightning.search.proposers.prescreen.make_prescreen`)."""
    block = config.search.prescreen
    return make_prescreen(block.score, block.factor)


def surrogate_of(config: SearchConfig) -> Surrogate:
    """The checked ``search.surrogate`` (see :func:`~nsga_lightning.search.surrogate.settings.make_surrogate`)."""
    block = config.search.surrogate
    return make_surrogate(block.model, block.start, block.inner_pop, block.inner_gens, block.selection,
                          block.explore)


def budget_of(config: SearchConfig) -> Budget:
    """The checked ``search.budget`` (see :func:`~nsga_lightning.search.core.run_control.make_budget`)."""
    block = config.search.budget
    return make_budget(block.hours, block.evaluations, block.epochs, block.hard)


def stop_when_of(config: SearchConfig) -> StopWhen:
    """The checked ``search.stop_when`` (see :func:`~nsga_lightning.search.core.run_control.make_stop_when`)."""
    block = config.search.stop_when
    return make_stop_when(block.hv_gain_below, block.generations)


def check_config_modes(config: SearchConfig, own_evaluator: bool = False) -> None:
    """The mode rules (:func:`~nsga_lightning.search.assemble.modes.check_modes`) on the settings: more than one
    worker means a parallel backend, which takes candidates one at a time; the pre-screen scores the trainer
    evaluator's networks."""
    search, fidelity, prescreen = config.search, fidelity_of(config, own_evaluator), prescreen_of(config)
    surrogate, budget = surrogate_of(config), budget_of(config)
    stop_when_of(config)
    if budget.epochs is not None:
        if own_evaluator and not fidelity.enabled:
            raise ValueError("search.budget.epochs counts training epochs, and your own evaluator's are unknown "
                             "without search.fidelity: use evaluations or hours")
        first = fidelity.rungs[0] if fidelity.enabled else config.candidate_trainer["max_epochs"]
        if budget.epochs < first:
            raise ValueError(f"search.budget.epochs ({budget.epochs}) is less than one candidate's first training "
                             f"({first} epochs): nothing could train")
    if own_evaluator and prescreen.enabled:
        raise ValueError("search.prescreen scores the untrained networks of the trainer evaluator; a search with your "
                         "own evaluator has none: set search.prescreen.score to none")
    parallel = search.workers > 1
    check_modes(n_gens=search.n_gens, window=steady_state_window(search.n_offspring, search.workers, parallel),
                exploitation_gens=search.exploitation_gens, fidelity=fidelity.enabled,
                asynchronous_fidelity=fidelity.asynchronous, prescreen=prescreen.enabled, asynchronous=parallel,
                workers=search.workers, surrogate_start=surrogate.start if surrogate.enabled else None,
                objectives=tuple(search.objectives))
