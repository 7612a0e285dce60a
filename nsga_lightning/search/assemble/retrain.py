"""The ``retrain`` block of a search config and the training config written for every Pareto architecture from it
(``nsga-lightning fit --config RUN/pareto/<key>.yaml``), with the header line stating the network's input.

Plain data (no torch), like the rest of the settings (:mod:`~nsga_lightning.search.assemble.settings`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

# The final-training Trainer options of a Pareto architecture's config unless retrain.trainer sets them.
RETRAIN_TRAINER_DEFAULTS: dict[str, Any] = {"max_epochs": 600, "gradient_clip_val": 5.0}


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


INPUT_PREFIX = "input: "
"""How the header line stating a training config's input starts (after ``# ``)."""


def describe_input(model: Mapping[str, Any]) -> str:
    """What a model block (or the search's ``model_input``) states of the network's input, e.g. ``"4-channel
    images, cifar stem"``; ``""`` when it states neither ``in_channels`` nor ``stem``."""
    parts = [f"{model['in_channels']}-channel images"] if "in_channels" in model else []
    parts += [f"{model['stem']} stem"] if "stem" in model else []
    return ", ".join(parts)


def input_line(model_input: Mapping[str, Any]) -> str:
    """The header line of a training config stating its network's input, e.g. ``# input: 4-channel images, cifar
    stem (from the data: ...)``; ``""`` when nothing is known. :func:`stated_input` reads it back."""
    described = describe_input(model_input)
    if not described:
        return ""
    return (f"# {INPUT_PREFIX}{described} (from the data: fit on other images with --data adapts channels, "
            "classes and stem)\n")


def stated_input(config_text: str) -> str:
    """The input a training config's :func:`input_line` states (``"4-channel images, cifar stem"``); ``""``
    without one."""
    marker = f"# {INPUT_PREFIX}"
    stated = [line[len(marker):] for line in config_text.splitlines() if line.startswith(marker)]
    return stated[0].split(" (", 1)[0] if stated else ""


def training_config(
    key: str, genotype: Any, space: str | Mapping[str, Any], retrain: RetrainSettings,
    search_data: dict[str, Any], seed: int = 0,
) -> dict[str, Any]:
    """A ``nsga-lightning fit`` config for one architecture with the final-training recipe.

    Args:
        key: the architecture's canonical key (names its TensorBoard run).
        genotype: the stored genotype (the space's ``genotype_to_data``): the genotype mapping (micro),
            ``{"genome": [...], "n_nodes": n}`` (macro), or a space of your own's data.
        space: ``micro`` or ``macro``, or a space of your own in class_path form (``{"class_path", "init_args"}``).
        retrain: the recipe.
        search_data: the search's data block (class_path form), used when the recipe names no data.
        seed: ``seed_everything`` of the training run.

    The network's input (channels, classes, image size and an ``auto`` stem) is not written: ``fit`` takes it
    from the data block, so the same config retrains on other data given with ``--data`` (a transfer).
    """
    if retrain.data is not None:
        data = retrain.data
    else:
        data = {"class_path": search_data["class_path"],
                "init_args": {**search_data.get("init_args", {}), "val_split": 0}}
    logger = {"class_path": "lightning.pytorch.loggers.TensorBoardLogger",
              "init_args": {"save_dir": "runs", "name": f"retrain-{key}"}}
    trainer = {**RETRAIN_TRAINER_DEFAULTS, "logger": logger, **retrain.trainer}
    model = {"space": space if isinstance(space, str) else dict(space), "genotype": genotype, **retrain.model}
    return {"seed_everything": seed, "trainer": trainer, "model": model, "data": data}
