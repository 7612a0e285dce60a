"""Plain settings of a search: every block of a search config (``search``, ``space``, ``model``, ``data``,
``trainer``, ``retrain`` and the process options) and the defaults they fall back on. The ``retrain`` block and the
training config written for every Pareto architecture are in :mod:`~nsga_lightning.search.assemble.retrain` (and
importable from here too).

These are plain data (no torch): the CLI parses YAML into them, :func:`~nsga_lightning.search.build.build_search`
turns them into a ready runner, and worker processes rebuild their evaluator from :meth:`SearchConfig.to_dict`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from nsga_lightning.search.assemble.retrain import RETRAIN_TRAINER_DEFAULTS, RetrainSettings, training_config
from nsga_lightning.search.assemble.search_blocks import (
    SEARCH_BLOCKS,
    BudgetSettings,
    FidelitySettings,
    LatencySettings,
    PrescreenSettings,
    StopWhenSettings,
    SurrogateSettings,
)
from nsga_lightning.search.core.options import check_keys
from nsga_lightning.search.training.defaults import CANDIDATE_TRAINER_DEFAULTS
from nsga_lightning.spaces import SearchSpace, space_from_block

# the retrain block's and the search sub-blocks' names stay importable here, where they lived first
__all__ = ["BACKENDS", "CANDIDATE_TRAINER_DEFAULTS", "RETRAIN_TRAINER_DEFAULTS", "FidelitySettings",
           "LatencySettings", "PrescreenSettings", "RetrainSettings", "SearchConfig", "SearchSettings", "SpaceSettings", "SurrogateSettings",
           "training_config"]

BACKENDS = ("local", "ray")


@dataclass
class SearchSettings:
    """The ``search`` block.

    Args:
        pop_size: population size (paper: 40).
        n_offspring: children per generation (paper micro: 20, macro: 40; 1 = steady state).
        n_gens: generations including the initial population (paper: 30).
        seed: run seed: operators' RNG and, with each architecture's key, its training seed.
        objectives: 2 or 3 names the evaluator returns, all minimised: the trainer evaluator's are ``error``
            (validation error, %), ``madds`` and ``params``; your own evaluator's are those it declares.
        run_dir: run directory (archive, TensorBoard, outputs); running again on it resumes.
        reference_point: fixed hypervolume reference per objective; unset ones default to error 100 and
            1.1 x the largest value in the initial population.
        workers: candidates trained at the same time (not part of the run fingerprint: a generational search
            gives the same archive for any number).
        backend: ``local`` (worker processes on this machine) or ``ray`` (Ray tasks; ``pip install
            "nsga-lightning[ray]"``). With ``workers: 1`` and ``local`` candidates train in this process.
        ray_address: ``null`` starts a private local Ray instance sized to ``workers`` (never a running cluster,
            whatever ``RAY_ADDRESS`` or ``ray start`` say); ``auto`` or ``HOST:PORT`` joins a running cluster
            (``ray start --head``; README, "Scale out", for its token authentication).
        resources_per_candidate: override of what one candidate gets, e.g. ``{cpu: 2, gpu: 1}`` (Ray allows
            fractional GPUs such as 0.5). Default: one GPU when the trainer's accelerator is a GPU, and
            ``num_threads`` CPUs.
        initialization: ``prior`` (default; the paper: hand-crafted designs first, macro VGG/ResNet/DenseNet-like
            phases, micro the zoo's published cells that fit, then random) or ``random`` (uniform, as the published
            code; the shipped ``configs/search`` recipes of the published code set it). ``prior`` is the default
            because it helped on both benchmark landscapes (README: proxy HV 1.386 vs 1.343; quickstart median
            1.30x). ``SearchRunner`` itself keeps ``random`` as its default (the published loop).
        initial_architectures: zoo names or genomes put into the initial population first (either mode).
        crossover: ``two_point`` (the published code) or ``homogeneous`` (the paper: what both parents share
            is kept; see ``search/homogeneous_crossover.py``).
        genes: ``ordinal`` (default: every gene an ordered integer with polynomial mutation, the published code;
            it measured better than ``space`` without the surrogate: README, "Search quality on real landscapes")
            or ``space`` (the positions a space declares categorical, e.g. operations and inputs, take another of
            their values when mutated and are one-hot for the surrogate, ordered ones scaled).
        exploitation_gens: the last K generations draw their children from a Bayesian network fitted to the
            better half of the archive (the paper's BOA step; ``search/exploitation.py``); 0: none.
        fidelity: successive halving over epochs (:class:`FidelitySettings`; ``search/successive_halving.py``).
        prescreen: zero-cost pre-screen of mated children (:class:`PrescreenSettings`).
        surrogate: surrogate-assisted proposals (:class:`SurrogateSettings`); on by default (``gp``) where the
            modes, the objectives and a complexity count without training allow it.
        constraints: upper bounds on objectives the evaluator computes, searched or not, e.g. ``{latency: 5.0,
            params: 3.0e6}``: a child over a limit known before training is never trained (mated again), a result
            over one is infeasible (NSGA-II's constrained domination); fronts show feasible architectures only.
        latency: how the ``latency`` objective is got (:class:`LatencySettings`).
        budget: end the search at a budget of hours, evaluations or epochs (:class:`BudgetSettings`); none by default.
        stop_when: end it once the front's hypervolume stops growing (:class:`StopWhenSettings`); off by default.
        warm_start: run directories or .csv/.yaml files of known architectures to start from (README, "Budgets,
            convergence and warm starts").
        isolation: ``auto`` (default: the trainer evaluator's candidates train in a worker process even with one
            worker, so that a native crash or hang fails the candidate, not the search; your own evaluator, given to
            ``build_search`` or as the ``evaluator`` block, runs in this process), ``process`` (always a worker process) or ``none`` (this process, with ``workers: 1``).
            Not part of the run fingerprint (``assemble/isolation.py``).
        candidate_timeout: seconds one candidate may run before its process is killed and it is recorded as failed
            (a number, or ``90s``, ``30m``, ``2h``); ``auto`` (default): 10x the slowest candidate that succeeded so
            far (per epoch where rungs ask for epochs), at least 10 minutes, 24 hours before any succeeded; ``null``:
            no limit. Needs candidates in processes of their own (``execution/timeouts.py``).
    """

    pop_size: int = 40
    n_offspring: int = 20
    n_gens: int = 30
    seed: int = 0
    objectives: list[str] = field(default_factory=lambda: ["error", "madds"])
    run_dir: str = "runs/search"
    reference_point: dict[str, float] = field(default_factory=dict)
    workers: int = 1
    backend: Literal["local", "ray"] = "local"
    ray_address: str | None = None
    resources_per_candidate: dict[str, float] = field(default_factory=dict)
    initialization: Literal["random", "prior"] = "prior"
    initial_architectures: list[str | list[int]] = field(default_factory=list)
    crossover: Literal["two_point", "homogeneous"] = "two_point"
    genes: Literal["space", "ordinal"] = "ordinal"
    exploitation_gens: int = 0
    fidelity: FidelitySettings = field(default_factory=FidelitySettings)
    prescreen: PrescreenSettings = field(default_factory=PrescreenSettings)
    surrogate: SurrogateSettings = field(default_factory=SurrogateSettings)
    constraints: dict[str, float] = field(default_factory=dict)
    latency: LatencySettings = field(default_factory=LatencySettings)
    budget: BudgetSettings = field(default_factory=BudgetSettings)
    stop_when: StopWhenSettings = field(default_factory=StopWhenSettings)
    warm_start: list[str] = field(default_factory=list)
    isolation: Literal["auto", "process", "none"] = "auto"
    candidate_timeout: float | str | None = "auto"

    def __post_init__(self) -> None:
        for name, kind in SEARCH_BLOCKS.items():  # a plain block from YAML or from_dict becomes its settings object
            setattr(self, name, _block(f"search.{name}", getattr(self, name), kind))


@dataclass
class SpaceSettings:
    """The ``space`` block: a built-in space by name, or your own in LightningCLI's class_path form.

    Args:
        name: ``micro`` (cells) or ``macro`` (phases).
        n_blocks: micro: blocks per cell.
        n_nodes: macro: nodes per phase (paper: 6).
        class_path: your own space, e.g. ``my_pkg.spaces.CellSpace``: any class whose instances have the members of
            :class:`~nsga_lightning.spaces.SearchSpace`; it replaces ``name``.
        init_args: the keyword arguments of ``class_path``.
    """

    name: Literal["micro", "macro"] = "micro"
    n_blocks: int = 5
    n_nodes: int = 6
    class_path: str | None = None
    init_args: dict[str, Any] = field(default_factory=dict)

    def block(self) -> dict[str, Any]:
        """The block that builds the space (:func:`~nsga_lightning.spaces.space_from_block`): the class_path form,
        or the name with its sizes.

        Raises:
            ValueError: if both a class_path and built-in settings other than the defaults are given.
        """
        if self.class_path is None:
            return {"name": self.name, "n_blocks": self.n_blocks, "n_nodes": self.n_nodes, "init_args": self.init_args}
        built_in = {k: getattr(self, k) for k in ("name", "n_blocks", "n_nodes")}
        if built_in != {"name": "micro", "n_blocks": 5, "n_nodes": 6}:
            raise ValueError("space: give a built-in space by name (with n_blocks or n_nodes) or your own by class_path "
                             f"(with init_args), not both; got class_path {self.class_path} and {built_in}")
        return {"class_path": self.class_path, "init_args": dict(self.init_args or {})}

    def build(self) -> SearchSpace:
        """The search space these settings describe.

        Raises:
            ValueError: one line for an unknown name, a class that cannot be imported or built, or an object that
                is not a search space.
        """
        return space_from_block(self.block())


@dataclass
class SearchConfig:
    """Every block of a search config, as ``nsga-lightning search --config`` reads it.

    Args:
        data: the datamodule of the trainer evaluator in class_path form: ``{"class_path":
            "nsga_lightning.data.DigitsDataModule", "init_args": {...}}``; it must hold out a validation split of its
            training set. A search with your own evaluator has none (nor ``model``, ``trainer`` or ``retrain``).
        search: the ``search`` block.
        space: the ``space`` block.
        model: ArchitectureModule options of the proxy network (not ``space``, ``genotype``, ``num_classes``,
            ``in_channels`` or ``image_size``: the search and the data set them; ``stem`` may be given).
        trainer: each candidate's Trainer options (defaults: :data:`CANDIDATE_TRAINER_DEFAULTS`).
        retrain: the final-training recipe of the Pareto configs.
        evaluator: your own evaluator in class_path form instead of the trainer evaluator, e.g. ``{"class_path":
            "nsga_lightning.benchmarks.NASBenchGraphEvaluator"}`` (a tabular benchmark); like
            ``build_search(evaluator=...)``, it takes the search and space blocks only (no ``model``, ``trainer``,
            ``data`` or ``retrain``).
        num_threads: torch intra-op threads per candidate; ``None``: torch's default (all cores). The thread
            count can change trained errors in the last bits; it is recorded in the archive, and a resume with
            another value warns.
        channels_last: train candidates in the channels-last memory format (default false: contiguous). 1.0-1.7x
            faster fp32 CPU steps on the proxies measured, but torch 2.14's AVX2 kernels crash on some shapes
            (README, "Reproducible runs"); part of the run fingerprint.
        progress_bar: show the progress bar.
    """

    data: dict[str, Any] | None = None
    search: SearchSettings = field(default_factory=SearchSettings)
    space: SpaceSettings = field(default_factory=SpaceSettings)
    model: dict[str, Any] = field(default_factory=dict)
    trainer: dict[str, Any] = field(default_factory=dict)
    retrain: RetrainSettings = field(default_factory=RetrainSettings)
    evaluator: dict[str, Any] | None = None
    num_threads: int | None = 1
    channels_last: bool = False
    progress_bar: bool = True

    @classmethod
    def from_dict(cls, mapping: Mapping[str, Any]) -> SearchConfig:
        """Build from plain blocks (a parsed YAML); unknown keys are refused with the closest valid names.

        Raises:
            ValueError: for an unknown key or a block of the wrong type.
        """
        if isinstance(mapping, SearchConfig):
            return mapping
        if not isinstance(mapping, Mapping):
            raise ValueError(f"a search config is a mapping of blocks, got {type(mapping).__name__}")
        mapping = {k: v for k, v in mapping.items() if k != "config"}  # the CLI's --config entry
        check_keys("search config", mapping, [f.name for f in dataclasses.fields(cls)])
        blocks = {"search": SearchSettings, "space": SpaceSettings, "retrain": RetrainSettings}
        values: dict[str, Any] = {}
        for name, value in mapping.items():
            if name in blocks:
                values[name] = _block(name, value, blocks[name])
            elif name in ("model", "trainer"):
                values[name] = dict(_mapping(name, value))
            elif name in ("data", "evaluator"):
                values[name] = None if value is None else _class_path_block(name, value)
            else:
                values[name] = value
        config = cls(**values)
        if config.retrain.data is not None:
            config.retrain.data = _class_path_block("retrain.data", config.retrain.data)
        return config

    def to_dict(self) -> dict[str, Any]:
        """Plain blocks (what :meth:`from_dict` reads and the run directory's stored config holds); the space block
        in its own form: a built-in space's name and sizes, or a class_path with its init_args."""
        blocks = dataclasses.asdict(self)
        space = blocks["space"]
        blocks["space"] = ({k: space[k] for k in ("name", "n_blocks", "n_nodes")} if space["class_path"] is None
                           else {k: space[k] for k in ("class_path", "init_args")})
        return blocks

    @property
    def candidate_trainer(self) -> dict[str, Any]:
        """Each candidate's Trainer options with the defaults filled in."""
        return {**CANDIDATE_TRAINER_DEFAULTS, **self.trainer}


def _mapping(name: str, value: Any) -> Mapping[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ValueError(f"the {name} block must be a mapping of options, got {type(value).__name__}")
    return value


def _block(name: str, value: Any, kind: type) -> Any:
    if isinstance(value, kind):
        return value
    value = _mapping(name, value)
    check_keys(name, value, [f.name for f in dataclasses.fields(kind)])
    return kind(**value)


def _class_path_block(name: str, value: Any) -> dict[str, Any]:
    value = dict(_mapping(name, value))
    check_keys(name, value, ["class_path", "init_args", "dict_kwargs"])
    if not isinstance(value.get("class_path"), str):
        example = ("nsga_lightning.benchmarks.NASBenchGraphEvaluator" if name == "evaluator"
                   else "nsga_lightning.data.CIFAR10DataModule")
        raise ValueError(f"{name} needs a class_path (e.g. {example})")
    init_args = {**dict(_mapping(f"{name}.init_args", value.get("init_args"))), **(value.get("dict_kwargs") or {})}
    return {"class_path": value["class_path"], "init_args": init_args}
