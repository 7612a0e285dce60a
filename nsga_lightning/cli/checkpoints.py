"""What a ``--ckpt_path`` file is, and whether a Lightning checkpoint holds the architecture of the model options.

A checkpoint is only restored into the network the command's model options describe: a Lightning checkpoint of
another architecture is refused (naming the differing options) unless the user asks for the checkpoint's
architecture (``--model_from_checkpoint true``).
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from nsga_lightning.module import ArchitectureModule
from nsga_lightning.nn import resolve_stem
from nsga_lightning.spaces import make_space
from nsga_lightning.spaces.registry import resolve_genotype

# ArchitectureModule options that change the network (its layers and shapes), per space. n_nodes is folded
# into the genotype, macro channels default to [C, 2C, 4C], and the stem is compared as built ("auto" resolved
# at the model's image_size; "cifar" for checkpoints from before the stem option). Training options (learning
# rate, drop path, auxiliary weight...) and image_size (the network's layers do not depend on it) may differ.
ARCHITECTURE_FIELDS: dict[str, tuple[str, ...]] = {
    "micro": ("space", "genotype", "num_classes", "in_channels", "stem", "init_channels", "layers",
              "filter_increment", "se", "auxiliary"),
    "macro": ("space", "genotype", "num_classes", "in_channels", "stem", "decoder", "channels"),
}
LEGACY_STEM = "cifar"  # the only stem before there was a choice
SPECIAL_PATHS = ("best", "last", "hpc")  # what Lightning resolves itself


def holds_original_weights(ckpt_path: str | None) -> bool:
    """Whether ``ckpt_path`` names a weight file that is no Lightning checkpoint (original NSGA-Net format).

    Raises:
        FileNotFoundError: if ``ckpt_path`` names no file.
        ValueError: if the file is no torch file of tensors (saying what it is not).
    """
    return bool(ckpt_path) and ckpt_path not in SPECIAL_PATHS and not is_lightning_checkpoint(ckpt_path)


def _load_tensors_only(path: str) -> Any:
    """``torch.load`` of a file of tensors (no code runs); memory-mapped where the format allows."""
    try:  # memory-mapped: nothing is read but the pickled index (zip-format files only)
        return torch.load(path, map_location="cpu", weights_only=True, mmap=True)
    except RuntimeError:  # the legacy (pre-zip) format of old torch versions
        return torch.load(path, map_location="cpu", weights_only=True)


def is_lightning_checkpoint(path: str) -> bool:
    """True for a Lightning checkpoint, False for other tensor files (an original NSGA-Net state_dict).

    Raises:
        FileNotFoundError: if ``path`` is no file.
        ValueError: if the file cannot be read as a tensors-only torch file (saying what it is not; torch's
            own message advises loading with ``weights_only=False``, which would run the file's code).
    """
    if not Path(path).is_file():
        raise FileNotFoundError(f"checkpoint file not found: {path}")
    try:
        content = _load_tensors_only(path)
    except Exception as error:  # torch reports a file that is no torch file in many ways (KeyError, EOFError...)
        if "Unsupported global" in str(error):
            what = ("it holds pickled Python objects besides tensors (e.g. a whole model saved with "
                    "torch.save(model)); save the model's state_dict() instead")
        else:
            what = f"it is no file torch.save wrote ({type(error).__name__} on reading it)"
        raise ValueError(f"{path} is neither a Lightning checkpoint nor an original NSGA-Net weight file: "
                         f"{what}") from error
    return isinstance(content, dict) and "pytorch-lightning_version" in content


def checkpoint_hyperparameters(path: str) -> dict[str, Any]:
    """The model hyperparameters saved in a Lightning checkpoint (``{}`` when it saved none)."""
    content = _load_tensors_only(path)
    hparams = dict(content.get("hyper_parameters") or {})
    hparams.pop("_instantiator", None)
    return hparams


def _defaults() -> dict[str, Any]:
    return {name: p.default for name, p in inspect.signature(ArchitectureModule).parameters.items()
            if p.default is not inspect.Parameter.empty}


def _normalised(hparams: Mapping[str, Any]) -> dict[str, Any]:
    """The network-changing options of a model's hyperparameters, defaults filled in and the genotype decoded
    (a zoo name and its genotype mapping are the same architecture)."""
    values = {**_defaults(), **{k: v for k, v in hparams.items() if not str(k).startswith("_")}}
    if "stem" not in hparams:
        values["stem"] = LEGACY_STEM
    try:
        values["stem"] = resolve_stem(values["stem"], values["image_size"])
    except ValueError:  # compared as written
        pass
    space = values["space"]
    out = {name: values[name] for name in ARCHITECTURE_FIELDS.get(space, ("space", "genotype"))}
    try:
        out["genotype"] = resolve_genotype(space, values["genotype"], n_nodes=values["n_nodes"])
    except (KeyError, ValueError):  # compared as written
        pass
    if space == "macro" and out["channels"] is None:
        out["channels"] = [values["init_channels"] * m for m in (1, 2, 4)]
    if out.get("channels") is not None:
        out["channels"] = [int(c) for c in out["channels"]]
    return out


def _genotype_label(written: Any, decoded: Any, space: str) -> str:
    """A zoo name as written, else the genotype's archive key."""
    if isinstance(written, str):
        return written
    try:
        if space == "micro":
            micro = make_space("micro", n_blocks=decoded.n_blocks)
            return micro.key(micro.encode(decoded))
        return make_space("macro", n_nodes=decoded.n_nodes).key(decoded.bits)
    except (AttributeError, KeyError, ValueError, TypeError):
        return "a custom genotype"


def architecture_differences(checkpoint: Mapping[str, Any], model: Mapping[str, Any]) -> list[str]:
    """The network-changing options on which two models' hyperparameters differ, each with both values.

    Args:
        checkpoint: the hyperparameters saved in a checkpoint.
        model: the hyperparameters of the model the command built.

    Returns:
        ``"name (checkpoint A, config B)"`` per differing option; empty when the architectures are the same.
    """
    ours, theirs = _normalised(model), _normalised(checkpoint)
    if ours["space"] != theirs["space"]:
        names: tuple[str, ...] = ("space", "genotype")
    else:
        names = ARCHITECTURE_FIELDS.get(ours["space"], ("space", "genotype"))
    differences = []
    for name in names:
        if ours.get(name) == theirs.get(name):
            continue
        if name == "genotype":
            labels = [_genotype_label({**_defaults(), **values}["genotype"], decoded["genotype"], decoded["space"])
                      for values, decoded in ((checkpoint, theirs), (model, ours))]
            if labels[0] == labels[1]:
                labels = [f"{labels[0]} in another block or node order", labels[1]]
            shown = labels
        else:
            shown = [theirs.get(name), ours.get(name)]
        differences.append(f"{name} (checkpoint {shown[0]}, config {shown[1]})")
    return differences
