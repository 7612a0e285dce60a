"""The checks of a search config: every block against what it configures, before anything is created (a typo is one
clear error naming the closest valid names); :func:`~nsga_lightning.search.build.build_search` and
:func:`~nsga_lightning.search.build.runner_for` start with them. The rules on combinations of modes are in
:mod:`~nsga_lightning.search.assemble.modes`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lightning.pytorch import Trainer

from nsga_lightning.module import ArchitectureModule
from nsga_lightning.search.assemble.backends import configured_evaluator
from nsga_lightning.search.assemble.isolation import check_isolation
from nsga_lightning.search.assemble.latency import latency_of
from nsga_lightning.search.assemble.modes import check_config_modes
from nsga_lightning.search.assemble.retrain import RetrainSettings
from nsga_lightning.search.assemble.settings import BACKENDS, SearchConfig, SpaceSettings
from nsga_lightning.search.core.evaluator import OBJECTIVES, Evaluator
from nsga_lightning.search.core.limits import check_limits
from nsga_lightning.search.core.objectives import check_objectives
from nsga_lightning.search.core.options import check_signature
from nsga_lightning.search.evolution.homogeneous_crossover import CROSSOVERS
from nsga_lightning.search.evolution.initialization import INITIALIZATIONS, resolve_architectures
from nsga_lightning.search.evolution.operators import GENES
from nsga_lightning.search.execution.protocols import Execution
from nsga_lightning.search.training.defaults import OWNED_TRAINER_OPTIONS, SEARCH_SETS
from nsga_lightning.search.training.latency_evaluator import LatencyTrainerEvaluator
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
            and ``retrain`` blocks must then be left out, and the objectives are the names it declares. Without
            it, the config's ``evaluator`` block (class_path form) is built, where there is one.

    Returns:
        The config as a :class:`SearchConfig`.

    Raises:
        ValueError: one line naming the first bad option and the closest valid names, or what is allowed.
    """
    config = SearchConfig.from_dict(config)
    search = config.search
    evaluator = configured_evaluator(config, evaluator) if evaluator is None else evaluator
    if space is not None and evaluator is None:
        raise ValueError("a ready space object needs your own evaluator (build_search(config, space=..., "
                         "evaluator=...)); to train its networks with the trainer evaluator give it in the config: "
                         "space: {class_path: ..., init_args: {...}}")
    if evaluator is None:
        check_trainer_blocks(config)
        computed = LatencyTrainerEvaluator.objective_names
        check_objectives(search.objectives, computed)
        latency_of(config)
    else:
        given = [name for name in ("model", "trainer", "data", "retrain") if getattr(config, name) not in
                 ({}, None, RetrainSettings())]
        if given:
            raise ValueError(f"the {', '.join(given)} block(s) configure the trainer evaluator; a search with your own "
                             "evaluator takes the search and space blocks only: leave them out")
        computed = Execution(evaluator).objectives() or OBJECTIVES
        check_objectives(search.objectives, Execution(evaluator).objectives())
    check_limits(search.constraints, computed)
    unknown = sorted(set(search.reference_point or {}) - set(search.objectives))
    if unknown:
        raise ValueError(f"search.reference_point names {unknown}, which are not objectives; objectives: "
                         f"{list(search.objectives)}")
    if isinstance(search.workers, bool) or not isinstance(search.workers, int) or search.workers < 1:
        raise ValueError(f"search.workers must be an integer >= 1, got {search.workers!r}")
    if search.backend not in BACKENDS:
        raise ValueError(f"unknown search.backend {search.backend!r}; allowed: {', '.join(BACKENDS)}")
    for name, value, allowed in (("crossover", search.crossover, CROSSOVERS), ("genes", search.genes, GENES),
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
    check_isolation(config, own_evaluator=evaluator is not None)
    threads = config.num_threads
    if threads is not None and (isinstance(threads, bool) or not isinstance(threads, int) or threads < 1):
        raise ValueError(f"num_threads must be an integer >= 1 or null (torch's default), got {threads!r}")
    if not isinstance(config.channels_last, bool):
        raise ValueError(f"channels_last must be true or false, got {config.channels_last!r}")
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
