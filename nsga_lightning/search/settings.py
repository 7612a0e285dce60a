"""Plain settings of a search (the ``search``, ``space`` and ``retrain`` blocks of a search config) and the
training config written for every Pareto architecture."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from nsga_lightning.spaces import make_space
from nsga_lightning.spaces.registry import SearchSpace

Objective = Literal["error", "madds", "params"]


@dataclass
class SearchSettings:
    """The ``search`` block.

    Args:
        pop_size: population size (paper: 40).
        n_offspring: children per generation (paper micro: 20, macro: 40; 1 = steady state).
        n_gens: generations including the initial population (paper: 30).
        seed: run seed: operators' RNG and, with each architecture's key, its training seed.
        objectives: 2 or 3 of ``error`` (validation error, %), ``madds``, ``params``; all minimised.
        run_dir: run directory (archive, TensorBoard, outputs); running again on it resumes.
        reference_point: fixed hypervolume reference per objective; unset ones default to error 100 and
            1.1 x the largest value in the initial population.
    """

    pop_size: int = 40
    n_offspring: int = 20
    n_gens: int = 30
    seed: int = 0
    objectives: list[Objective] = field(default_factory=lambda: ["error", "madds"])
    run_dir: str = "runs/search"
    reference_point: dict[str, float] = field(default_factory=dict)


@dataclass
class SpaceSettings:
    """The ``space`` block.

    Args:
        name: ``micro`` (cells) or ``macro`` (phases).
        n_blocks: micro: blocks per cell.
        n_nodes: macro: nodes per phase (paper: 6).
    """

    name: Literal["micro", "macro"] = "micro"
    n_blocks: int = 5
    n_nodes: int = 6

    def build(self) -> SearchSpace:
        """The search space these settings describe."""
        return make_space(self.name, n_blocks=self.n_blocks, n_nodes=self.n_nodes)


@dataclass
class RetrainSettings:
    """The ``retrain`` block: the final-training recipe written into each Pareto architecture's config.

    Args:
        model: ArchitectureModule options for final training (e.g. 20 cells, 34 channels, aux head).
        trainer: Trainer options for final training (e.g. 600 epochs).
        data: datamodule in class_path form; ``None`` reuses the search's data with ``val_split: 0``.
    """

    model: dict[str, Any] = field(default_factory=dict)
    trainer: dict[str, Any] = field(default_factory=dict)
    data: dict[str, Any] | None = None


def training_config(
    key: str, genotype: dict[str, Any] | list[int], space: str, retrain: RetrainSettings,
    search_data: dict[str, Any], seed: int = 0,
) -> dict[str, Any]:
    """A ``nsga-lightning fit`` config for one architecture with the final-training recipe.

    Args:
        key: the architecture's canonical key (names its TensorBoard run).
        genotype: the genotype mapping (micro) or ``{"genome": [...], "n_nodes": n}`` (macro).
        space: ``micro`` or ``macro``.
        retrain: the recipe.
        search_data: the search's data block (class_path form), used when the recipe names no data.
        seed: ``seed_everything`` of the training run.
    """
    if retrain.data is not None:
        data = retrain.data
    else:
        data = {"class_path": search_data["class_path"],
                "init_args": {**search_data.get("init_args", {}), "val_split": 0}}
    logger = {"class_path": "lightning.pytorch.loggers.TensorBoardLogger",
              "init_args": {"save_dir": "runs", "name": f"retrain-{key}"}}
    trainer = {"max_epochs": 600, "gradient_clip_val": 5.0, "logger": logger, **retrain.trainer}
    model = {"space": space, "genotype": genotype, **retrain.model}
    return {"seed_everything": seed, "trainer": trainer, "model": model, "data": data}
