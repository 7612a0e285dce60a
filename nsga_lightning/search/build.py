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

from lightning.pytorch import Callback, LightningDataModule, Trainer

from nsga_lightning.data_inputs import inputs_from_data
from nsga_lightning.module import ArchitectureModule
from nsga_lightning.search.assemble.modes import check_modes, steady_state_window
from nsga_lightning.search.assemble.settings import BACKENDS, SearchConfig
from nsga_lightning.search.core.evaluator import Evaluator
from nsga_lightning.search.core.options import check_signature, instantiate
from nsga_lightning.search.core.records import fingerprint
from nsga_lightning.search.evolution.fidelity import Fidelity, make_fidelity
from nsga_lightning.search.evolution.homogeneous_crossover import CROSSOVERS
from nsga_lightning.search.evolution.initialization import INITIALIZATIONS, resolve_architectures
from nsga_lightning.search.proposers.prescreen import Prescreen, Scorer, make_prescreen
from nsga_lightning.search.proposers.surrogate import Complexity
from nsga_lightning.search.runner import SearchRunner
from nsga_lightning.search.surrogate.settings import Surrogate, make_surrogate
from nsga_lightning.search.training.trainer_evaluator import (
    OWNED_TRAINER_OPTIONS,
    SEARCH_SETS,
    TrainerEvaluator,
)

ConfigLike = SearchConfig | Mapping[str, Any]


def check_config(config: ConfigLike) -> SearchConfig:
    """Check every block of a search config against what it configures, before anything is created.

    Returns:
        The config as a :class:`SearchConfig`.

    Raises:
        ValueError: one line naming the first bad option and the closest valid names, or what is allowed.
    """
    config = SearchConfig.from_dict(config)
    check_signature("model", config.model, ArchitectureModule, reserved=SEARCH_SETS)
    check_signature("trainer", config.trainer, Trainer, reserved=OWNED_TRAINER_OPTIONS)
    check_signature("retrain.model", config.retrain.model, ArchitectureModule, reserved=SEARCH_SETS)
    check_signature("retrain.trainer", config.retrain.trainer, Trainer)
    search = config.search
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
    resolve_architectures(config.space.build(), search.initial_architectures)
    check_config_modes(config)
    threads = config.num_threads
    if threads is not None and (isinstance(threads, bool) or not isinstance(threads, int) or threads < 1):
        raise ValueError(f"num_threads must be an integer >= 1 or null (torch's default), got {threads!r}")
    return config


def fidelity_of(config: SearchConfig) -> Fidelity:
    """The checked rungs of ``search.fidelity`` (see :func:`~nsga_lightning.search.evolution.fidelity.make_fidelity`)."""
    block, epochs = config.search.fidelity, config.candidate_trainer["max_epochs"]
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


def check_config_modes(config: SearchConfig) -> None:
    """The mode rules (:func:`~nsga_lightning.search.assemble.modes.check_modes`) on the settings: more than one
    worker means a parallel backend, which takes candidates one at a time."""
    search, fidelity, prescreen = config.search, fidelity_of(config), prescreen_of(config)
    surrogate = surrogate_of(config)
    parallel = search.workers > 1
    check_modes(n_gens=search.n_gens, window=steady_state_window(search.n_offspring, search.workers, parallel),
                exploitation_gens=search.exploitation_gens, fidelity=fidelity.enabled,
                asynchronous_fidelity=fidelity.asynchronous, prescreen=prescreen.enabled, asynchronous=parallel,
                workers=search.workers, surrogate_start=surrogate.start if surrogate.enabled else None,
                objectives=tuple(search.objectives))


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
    return TrainerEvaluator(config.space.name, datamodule, model=config.model, trainer=config.trainer,
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
    genotype = space.decode(space.upper).to_dict()  # every genotype of a space shares the network's shape
    try:
        module = ArchitectureModule(space=space.name, genotype=genotype, log_complexity=False, **from_data,
                                    **config.retrain.model)
    except (TypeError, ValueError) as error:
        raise ValueError(f"the retrain recipe cannot train on its data ({error}); fix retrain.model or "
                         "retrain.data") from None
    return {"in_channels": from_data["in_channels"], "stem": module.network.stem_type}


def build_search(config: ConfigLike, callbacks: Sequence[Any] | None = None,
                 trainer_callbacks: Sequence[Callback] = ()) -> SearchRunner:
    """A ready :class:`SearchRunner` from plain settings (run it with ``runner.run()``; close it, or use it as a
    context manager).

    Args:
        config: the search config: a :class:`SearchConfig` or its blocks as a mapping (``search``, ``space``,
            ``model``, ``data``, ``trainer``, ``retrain``, ``num_threads``, ``progress_bar``).
        callbacks: search callbacks; ``None`` uses the default set (progress bar, TensorBoard, Pareto outputs).
        trainer_callbacks: extra Lightning callbacks for every candidate's Trainer.

    Raises:
        ValueError: for a bad option, missing data, a data block without a validation split, a retrain recipe
            that cannot train, or a run directory holding a search with another configuration. Nothing is
            created in the run directory before these checks pass.
    """
    config = check_config(config)
    evaluator = make_evaluator(config, trainer_callbacks)
    try:
        evaluator.prepare()  # missing data stops here with one clear line, before the run directory exists
        retrain_input = check_retrain(config, evaluator.datamodule)
        scorer = None
        if prescreen_of(config).enabled:
            from nsga_lightning.search.training.zero_cost_scorer import ZeroCostScorer

            scorer = ZeroCostScorer(getattr(evaluator, "local", evaluator), config.search.prescreen.score,
                                    config.search.seed)
        return runner_for(config, evaluator, scorer, callbacks, retrain_input=retrain_input,
                          complexity=getattr(evaluator, "local", evaluator).complexity)
    except BaseException:
        closer = getattr(evaluator, "close", None)
        if callable(closer):
            closer()
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
    search = config.search
    return SearchRunner(
        config.space.build(), evaluator, search.run_dir, pop_size=search.pop_size, n_offspring=search.n_offspring,
        n_gens=search.n_gens, seed=search.seed, objectives=search.objectives,
        initialization=search.initialization, initial_architectures=search.initial_architectures,
        crossover=search.crossover, exploitation_gens=search.exploitation_gens, fidelity=fidelity_of(config),
        prescreen=prescreen_of(config), scorer=scorer, surrogate=surrogate_of(config), complexity=complexity,
        callbacks=default_callbacks(config, retrain_input) if callbacks is None else list(callbacks),
        settings=config.to_dict(),
    )


def make_evaluator(config: SearchConfig, trainer_callbacks: Sequence[Callback] = ()) -> Evaluator:
    """The evaluator the settings ask for: in this process (``workers: 1``, local), local worker processes, or
    Ray tasks. The parallel ones keep an in-process evaluator for the fingerprint and the checks; workers build
    their own from the plain settings.

    Raises:
        ValueError: for resources this machine cannot give (more GPUs than exist, oversubscribed cores), or
            ``backend: ray`` without Ray installed.
    """
    from nsga_lightning.search.assemble.resources import candidate_resources, local_plan

    search = config.search
    resources = candidate_resources(config)
    if search.backend == "ray":
        from nsga_lightning.search.execution.ray_backend import RayEvaluator

        return RayEvaluator(SettingsFactory(config.to_dict(), tuple(trainer_callbacks)),
                            build_evaluator(config, trainer_callbacks), resources, search.workers, search.ray_address)
    if search.workers == 1:
        return build_evaluator(config, trainer_callbacks)
    from nsga_lightning.search.execution.local_pool import LocalPoolEvaluator

    plans = local_plan(config, search.workers)
    return LocalPoolEvaluator(SettingsFactory(config.to_dict(), tuple(trainer_callbacks)), plans,
                              build_evaluator(config, trainer_callbacks))


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
        ParetoOutputs(search.objectives, config.retrain, config.data, search.reference_point, retrain_input),
    ]
