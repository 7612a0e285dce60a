"""Assembling a search from plain settings: the one way a search is built.

:func:`build_search` turns the blocks of a search config (a :class:`SearchConfig` or the same blocks as a
mapping, e.g. a parsed YAML) into a ready :class:`SearchRunner`: every block checked against what it configures
(a typo is one clear error before anything is created; ``assemble/config_checks.py``), the evaluator with its drop-path policy, the data
checked, the final-training recipe checked on the data, and the search callbacks. The CLI only parses, builds,
runs and prints; tests, benchmarks and Python scripts call the same function, and worker processes rebuild their
evaluator with :func:`build_evaluator` from the same plain settings.

This is the search's composition root: it is the one module of ``search`` that imports Lightning callbacks
(``nsga_lightning.callbacks``), and it does so only when called.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from lightning.pytorch import Callback, LightningDataModule

from nsga_lightning.data_inputs import inputs_from_data
from nsga_lightning.module import ArchitectureModule
from nsga_lightning.options import class_path
from nsga_lightning.search.assemble.backends import backend_evaluator, configured_evaluator, own_evaluator
from nsga_lightning.search.assemble.config_checks import ConfigLike, check_config, check_trainer_blocks
from nsga_lightning.search.assemble.latency import latency_of
from nsga_lightning.search.assemble.modes import (
    budget_of,
    fidelity_of,
    prescreen_of,
    settle_surrogate,
    stop_when_of,
)
from nsga_lightning.search.assemble.settings import SearchConfig
from nsga_lightning.search.core.evaluator import Evaluator
from nsga_lightning.search.core.options import instantiate
from nsga_lightning.search.core.records import fingerprint
from nsga_lightning.search.execution.protocols import Execution
from nsga_lightning.search.proposers.prescreen import Scorer
from nsga_lightning.search.proposers.surrogate import Complexity
from nsga_lightning.search.runner import SearchRunner
from nsga_lightning.search.training.latency_evaluator import LatencyTrainerEvaluator
from nsga_lightning.search.training.trainer_evaluator import TrainerEvaluator
from nsga_lightning.spaces import SearchSpace
from nsga_lightning.spaces.protocol import is_built_in

# the config checks live in assemble/config_checks.py and stay importable here
__all__ = ["ConfigLike", "SettingsFactory", "build_evaluator", "build_search", "check_config", "check_retrain",
           "check_trainer_blocks", "default_callbacks", "make_evaluator", "runner_for"]


def build_evaluator(config: ConfigLike, trainer_callbacks: Sequence[Callback] = ()) -> TrainerEvaluator:
    """The in-process evaluator of a search: the datamodule instantiated from its class_path block, the proxy
    options, each candidate's Trainer options, the drop-path ramp for proxies with drop path, TensorBoard runs
    in the run directory.

    Args:
        config: the search config.
        trainer_callbacks: extra Lightning callbacks for every candidate's Trainer (e.g. a timer).

    Raises:
        ValueError: for a bad option (see :func:`check_config`) or a datamodule that cannot be built.
    """
    from nsga_lightning.callbacks import DropPathSchedule

    config = check_config(config)
    datamodule = instantiate("data", config.data, LightningDataModule)
    # the proxy's drop path ramps as in final training
    ramp = [DropPathSchedule()] if float(config.model.get("drop_path_prob", 0.0) or 0.0) > 0 else []
    space = config.space.block() if config.space.class_path else config.space.name
    options = {"model": config.model, "trainer": config.trainer, "run_dir": config.search.run_dir,
               "callbacks": [*ramp, *trainer_callbacks], "num_threads": config.num_threads,
               "channels_last": config.channels_last}
    latency = latency_of(config)  # the latency objective: only where it is searched or limited
    if latency is not None:
        return LatencyTrainerEvaluator(space, datamodule, latency=latency, **options)
    return TrainerEvaluator(space, datamodule, **options)


@dataclass(frozen=True)
class SettingsFactory:
    """Builds a worker's evaluator from the search's plain settings (the factory the parallel backends get).

    Attributes:
        settings: the search's plain settings (``SearchConfig.to_dict()``).
        trainer_callbacks: picklable Lightning callbacks for every candidate's Trainer in the workers.
    """

    settings: dict[str, Any]
    trainer_callbacks: tuple[Callback, ...] = ()

    @property
    def key(self) -> str:
        """The settings' fingerprint: one cached evaluator per search in a Ray worker."""
        return fingerprint(self.settings)

    def __call__(self) -> TrainerEvaluator:
        """The in-process evaluator of these settings (:func:`build_evaluator`)."""
        return build_evaluator(self.settings, self.trainer_callbacks)


def check_retrain(config: SearchConfig, search_data: LightningDataModule) -> dict[str, Any]:
    """Build the final-training model of the recipe on its data, so that a recipe the Pareto configs could not
    train (e.g. an auxiliary head on images too small for it, a stem that cannot take them) stops the search
    before its first candidate.

    Returns:
        What the Pareto configs state about the retrained network's input: ``in_channels`` of the retrain data
        and the ``stem`` it is built with (``auto`` resolved at the retrain data's image size).

    Raises:
        ValueError: naming ``retrain`` and what is wrong.
    """
    data = instantiate("retrain.data", config.retrain.data, LightningDataModule) if config.retrain.data else search_data
    space = config.space.build()
    try:
        from_data = inputs_from_data(data)
    except ValueError as error:
        raise ValueError(f"the retrain data cannot be used ({error}); fix retrain.data") from None
    # every genotype of a built-in space shares the network's shape; a space of your own is checked on a sample
    genome = space.upper if is_built_in(space) else space.sample(np.random.default_rng(0), 1)[0]
    genotype = space.genotype_to_data(space.decode(genome))
    model_space = config.space.block() if config.space.class_path else space.name
    try:
        module = ArchitectureModule(space=model_space, genotype=genotype, log_complexity=False, **from_data,
                                    **config.retrain.model)
    except (TypeError, ValueError) as error:
        raise ValueError(f"the retrain recipe cannot train on its data ({error}); fix retrain.model or "
                         "retrain.data") from None
    stem = getattr(module.network, "stem_type", None)  # a space of your own builds its own input layer
    return {"in_channels": from_data["in_channels"], **({} if stem is None else {"stem": stem})}


def build_search(config: ConfigLike, callbacks: Sequence[Any] | None = None,
                 trainer_callbacks: Sequence[Callback] = (), *, space: SearchSpace | None = None,
                 evaluator: Evaluator | None = None) -> SearchRunner:
    """A ready :class:`SearchRunner` from plain settings (run it with ``runner.run()``; close it, or use it as a
    context manager).

    Args:
        config: the search config: a :class:`SearchConfig` or its blocks as a mapping (``search``, ``space``,
            ``model``, ``data``, ``trainer``, ``retrain``, ``num_threads``, ``progress_bar``).
        callbacks: search callbacks; ``None`` uses the default set (progress bar, TensorBoard, Pareto outputs).
        trainer_callbacks: extra Lightning callbacks for every candidate's Trainer.
        space: a ready space object (anything with the members of :class:`~nsga_lightning.spaces.SearchSpace`)
            instead of the ``space`` block; it needs your own ``evaluator`` (the trainer evaluator rebuilds its
            space in worker processes and Pareto configs: give it in the config's class_path form instead).
        evaluator: your own evaluator (e.g. a :class:`~nsga_lightning.search.core.evaluator.FunctionEvaluator`)
            instead of the trainer evaluator (or the config's ``evaluator`` block in class_path form): the
            ``search`` block applies to it as to the trainer (population, seed, the paper's parts, rungs, and
            ``workers``/``backend``, for which it must be picklable), and the ``model``, ``trainer``, ``data`` and
            ``retrain`` blocks must be left out.

    Raises:
        ValueError: for a bad option, missing data, a data block without a validation split, a retrain recipe
            that cannot train, an objective the evaluator does not return, or a run directory holding a search
            with another configuration. Nothing is created in the run directory before these checks pass.
    """
    config = SearchConfig.from_dict(config)
    evaluator = configured_evaluator(config, evaluator)  # the config's evaluator block, if it has one
    config = check_config(config, space, evaluator)
    own = evaluator is not None
    if own and trainer_callbacks:
        raise ValueError("trainer_callbacks go to the trainer evaluator's Trainers; your own evaluator has none")
    settings = config.to_dict()
    if space is not None:  # the run directory rebuilds it from its class (see RunDirectory.space)
        settings["space"] = {"class_path": class_path(space)}
    space = config.space.build() if space is None else space
    given = evaluator
    evaluator = own_evaluator(config, evaluator) if own else make_evaluator(config, trainer_callbacks)
    try:
        Execution(evaluator).prepare()  # missing data stops here with one clear line, before the run directory exists
        retrain_input = None if own else check_retrain(config, evaluator.datamodule)
        search = config.search
        prescreen = prescreen_of(config)
        scorer = None
        if prescreen_of(config).enabled:
            from nsga_lightning.search.training.zero_cost_scorer import ZeroCostScorer

            scorer = ZeroCostScorer(getattr(evaluator, "local", evaluator), prescreen.score, search.seed)
        # the exact complexity the surrogate's inner search asks for: the trainer evaluator's count, or your own
        # evaluator's complexity(candidates) if it has one
        complexity = (getattr(given, "complexity", None) if own
                      else getattr(evaluator, "local", evaluator).complexity)
        return _runner(config, space, evaluator, scorer, callbacks, retrain_input, complexity, settings, own)
    except BaseException:
        Execution(evaluator).close()
        raise


def runner_for(config: ConfigLike, evaluator: Evaluator, scorer: Scorer | None = None,
               callbacks: Sequence[Any] | None = None, retrain_input: Mapping[str, Any] | None = None,
               complexity: Complexity | None = None) -> SearchRunner:
    """The :class:`SearchRunner` of a search config around a given evaluator: the last step of
    :func:`build_search`, for callers that replace the training (tests, benchmarks, a function evaluator).

    Args:
        config: the search config (checked as by :func:`check_config`; the data block is not instantiated).
        evaluator: evaluates the candidates (its ``workers``, if any, picks the asynchronous modes as
            ``search.workers`` does for the built ones).
        scorer: scores mated children when ``search.prescreen`` is on.
        callbacks: search callbacks; ``None`` uses the default set (:func:`default_callbacks`).
        retrain_input: the input of the retrained networks (:func:`check_retrain`), written into the Pareto
            configs of the default callbacks.
        complexity: exact complexity without training, for ``search.surrogate`` (the trainer evaluator's
            ``complexity``; a function evaluator's own counterpart).

    Raises:
        ValueError: for a bad option, a mode combination the search refuses, or a run directory holding a search
            with another configuration.
    """
    config = check_config(config)
    return _runner(config, config.space.build(), evaluator, scorer, callbacks, retrain_input, complexity,
                   config.to_dict(), own=False)


def _runner(config: SearchConfig, space: SearchSpace, evaluator: Evaluator, scorer: Scorer | None,
            callbacks: Sequence[Any] | None, retrain_input: Mapping[str, Any] | None, complexity: Complexity | None,
            settings: dict[str, Any], own: bool) -> SearchRunner:
    """The runner of a checked config (``own``: your own evaluator, whose rungs end at the last rung)."""
    search = config.search
    runner = SearchRunner(
        space, evaluator, search.run_dir, pop_size=search.pop_size, n_offspring=search.n_offspring,
        n_gens=search.n_gens, seed=search.seed, objectives=search.objectives,
        initialization=search.initialization, initial_architectures=search.initial_architectures,
        crossover=search.crossover, genes=search.genes, exploitation_gens=search.exploitation_gens,
        fidelity=fidelity_of(config, own),
        prescreen=prescreen_of(config), scorer=scorer, complexity=complexity,
        surrogate=settle_surrogate(config, space, complexity, own or is_built_in(space)),
        callbacks=default_callbacks(config, retrain_input) if callbacks is None else list(callbacks),
        settings=settings, constraints=search.constraints, budget=budget_of(config),
        stop_when=stop_when_of(config),
        candidate_epochs=None if own else int(config.candidate_trainer["max_epochs"]),
        reference_point=search.reference_point, warm_start=search.warm_start,
    )
    local = getattr(evaluator, "local", evaluator)
    if isinstance(local, LatencyTrainerEvaluator):  # the run directory exists now: store what latency reads
        local.write_snapshot()
    return runner


def make_evaluator(config: SearchConfig, trainer_callbacks: Sequence[Callback] = ()) -> Evaluator:
    """The trainer evaluator where the settings run it: in this process (``workers: 1``, local), local worker
    processes, or Ray tasks. The parallel ones keep an in-process evaluator for the fingerprint and the checks;
    workers build their own from the plain settings.

    Raises:
        ValueError: for resources this machine cannot give (more GPUs than exist, oversubscribed cores), or
            ``backend: ray`` without Ray installed.
    """
    factory = SettingsFactory(config.to_dict(), tuple(trainer_callbacks))
    return backend_evaluator(config, factory, build_evaluator(config, trainer_callbacks))


def default_callbacks(config: SearchConfig, retrain_input: Mapping[str, Any] | None = None) -> list[Any]:
    """Progress bar, TensorBoard curves and the Pareto outputs of a search.

    Args:
        config: the search config.
        retrain_input: what :func:`check_retrain` returns, written into every Pareto config's model block
            (``None``: nothing is added).
    """
    from nsga_lightning.callbacks import ParetoOutputs, SearchProgressBar, SearchTensorBoard

    search = config.search
    return [
        SearchProgressBar(disable=not config.progress_bar),
        SearchTensorBoard(search.objectives, search.reference_point),
        ParetoOutputs(search.objectives, config.retrain, config.data, search.reference_point, retrain_input,
                      space=config.space.block() if config.space.class_path else None),
    ]
