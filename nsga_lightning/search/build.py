"""Assembling a search from plain settings: the one way a search is built.

:func:`build_search` turns the blocks of a search config (a :class:`SearchConfig` or the same blocks as a
mapping, e.g. a parsed YAML) into a ready :class:`SearchRunner`: every block checked against what it configures
(a typo is one clear error before anything is created), the evaluator with its drop-path policy, the data
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
from lightning.pytorch import Callback, LightningDataModule, Trainer

from nsga_lightning.data_inputs import inputs_from_data
from nsga_lightning.module import ArchitectureModule
from nsga_lightning.options import class_path
from nsga_lightning.search.assemble.backends import backend_evaluator, own_evaluator
from nsga_lightning.search.assemble.modes import check_config_modes, fidelity_of, prescreen_of, surrogate_of
from nsga_lightning.search.assemble.retrain import RetrainSettings
from nsga_lightning.search.assemble.settings import BACKENDS, SearchConfig, SpaceSettings
from nsga_lightning.search.core.evaluator import Evaluator
from nsga_lightning.search.core.objectives import check_objectives
from nsga_lightning.search.core.options import check_signature, instantiate
from nsga_lightning.search.core.records import fingerprint
from nsga_lightning.search.evolution.homogeneous_crossover import CROSSOVERS
from nsga_lightning.search.evolution.initialization import INITIALIZATIONS, resolve_architectures
from nsga_lightning.search.execution.protocols import Execution
from nsga_lightning.search.proposers.prescreen import Scorer
from nsga_lightning.search.proposers.surrogate import Complexity
from nsga_lightning.search.runner import SearchRunner
from nsga_lightning.search.training.trainer_evaluator import (
    OWNED_TRAINER_OPTIONS,
    SEARCH_SETS,
    TrainerEvaluator,
)
from nsga_lightning.spaces import NetworkSpace, SearchSpace, check_space
from nsga_lightning.spaces.protocol import is_built_in

ConfigLike = SearchConfig | Mapping[str, Any]


def check_config(config: ConfigLike, space: SearchSpace | None = None, evaluator: Evaluator | None = None
                 ) -> SearchConfig:
    """Check every block of a search config against what it configures, before anything is created.

    Args:
        config: the search config.
        space: a ready space object that replaces the ``space`` block.
        evaluator: your own evaluator, which replaces the trainer evaluator: the ``model``, ``trainer``, ``data``
            and ``retrain`` blocks must then be left out, and the objectives are the names it declares.

    Returns:
        The config as a :class:`SearchConfig`.

    Raises:
        ValueError: one line naming the first bad option and the closest valid names, or what is allowed.
    """
    config = SearchConfig.from_dict(config)
    search = config.search
    if space is not None and evaluator is None:
        raise ValueError("a ready space object needs your own evaluator (build_search(config, space=..., "
                         "evaluator=...)); to train its networks with the trainer evaluator give it in the config: "
                         "space: {class_path: ..., init_args: {...}}")
    if evaluator is None:
        check_trainer_blocks(config)
        check_objectives(search.objectives, TrainerEvaluator.objective_names)
    else:
        given = [name for name in ("model", "trainer", "data", "retrain") if getattr(config, name) not in
                 ({}, None, RetrainSettings())]
        if given:
            raise ValueError(f"the {', '.join(given)} block(s) configure the trainer evaluator; a search with your own "
                             "evaluator takes the search and space blocks only: leave them out")
        check_objectives(search.objectives, Execution(evaluator).objectives())
    unknown = sorted(set(search.reference_point or {}) - set(search.objectives))
    if unknown:
        raise ValueError(f"search.reference_point names {unknown}, which are not objectives; objectives: "
                         f"{list(search.objectives)}")
    if isinstance(search.workers, bool) or not isinstance(search.workers, int) or search.workers < 1:
        raise ValueError(f"search.workers must be an integer >= 1, got {search.workers!r}")
    if search.backend not in BACKENDS:
        raise ValueError(f"unknown search.backend {search.backend!r}; allowed: {', '.join(BACKENDS)}")
    for name, value, allowed in (("crossover", search.crossover, CROSSOVERS),
                                 ("initialization", search.initialization, INITIALIZATIONS)):
        if value not in allowed:
            raise ValueError(f"unknown search.{name} {value!r}; allowed: {', '.join(allowed)}")
    gens = search.exploitation_gens
    if isinstance(gens, bool) or not isinstance(gens, int) or not 0 <= gens < search.n_gens:
        raise ValueError(f"search.exploitation_gens must be an integer from 0 to n_gens - 1 ({search.n_gens - 1}), "
                         f"got {gens!r}")
    if not isinstance(search.initial_architectures, list):
        raise ValueError("search.initial_architectures is a list of zoo names or genomes, got "
                         f"{search.initial_architectures!r}")
    if space is not None and config.space != SpaceSettings():
        raise ValueError("give the space either as the config's space block or as build_search(space=...), not both")
    space = config.space.build() if space is None else check_space(space, "build_search(space=...)")
    if evaluator is None and not (is_built_in(space) or isinstance(space, NetworkSpace)):
        raise ValueError(f"the {space.name} space builds no networks for the trainer evaluator (a space builds them "
                         "with build_network(genotype, num_classes, **options)): search it from Python with your own "
                         "evaluator, build_search(config, evaluator=...)")
    resolve_architectures(space, search.initial_architectures)
    check_config_modes(config, own_evaluator=evaluator is not None)
    threads = config.num_threads
    if threads is not None and (isinstance(threads, bool) or not isinstance(threads, int) or threads < 1):
        raise ValueError(f"num_threads must be an integer >= 1 or null (torch's default), got {threads!r}")
    return config


def check_trainer_blocks(config: SearchConfig) -> None:
    """The blocks of the trainer evaluator: a data block in class_path form, and model, trainer and retrain options
    the classes they configure take.

    Raises:
        ValueError: one line naming the missing block or the bad option and the closest valid names.
    """
    if config.data is None:
        raise ValueError("the search config needs a data block in class_path form, e.g. data: {class_path: "
                         "nsga_lightning.data.DigitsDataModule, init_args: {val_split: 0.2}}")
    check_signature("model", config.model, ArchitectureModule, reserved=SEARCH_SETS)
    check_signature("trainer", config.trainer, Trainer, reserved=OWNED_TRAINER_OPTIONS)
    check_signature("retrain.model", config.retrain.model, ArchitectureModule, reserved=SEARCH_SETS)
    check_signature("retrain.trainer", config.retrain.trainer, Trainer)


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
    return TrainerEvaluator(space, datamodule, model=config.model, trainer=config.trainer,
                            run_dir=config.search.run_dir, callbacks=[*ramp, *trainer_callbacks],
                            num_threads=config.num_threads)


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
            instead of the trainer evaluator: the ``search`` block applies to it as to the trainer (population,
            seed, the paper's parts, rungs, and ``workers``/``backend``, for which it must be picklable), and the
            ``model``, ``trainer``, ``data`` and ``retrain`` blocks must be left out.

    Raises:
        ValueError: for a bad option, missing data, a data block without a validation split, a retrain recipe
            that cannot train, an objective the evaluator does not return, or a run directory holding a search
            with another configuration. Nothing is created in the run directory before these checks pass.
    """
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
    return SearchRunner(
        space, evaluator, search.run_dir, pop_size=search.pop_size, n_offspring=search.n_offspring,
        n_gens=search.n_gens, seed=search.seed, objectives=search.objectives,
        initialization=search.initialization, initial_architectures=search.initial_architectures,
        crossover=search.crossover, exploitation_gens=search.exploitation_gens, fidelity=fidelity_of(config, own),
        prescreen=prescreen_of(config), scorer=scorer, surrogate=surrogate_of(config), complexity=complexity,
        callbacks=default_callbacks(config, retrain_input) if callbacks is None else list(callbacks),
        settings=settings,
    )


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
