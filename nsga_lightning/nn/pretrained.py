"""Import weights saved by the original NSGA-Net implementation (its published checkpoints, its state_dicts).

Our module names differ from the original's, but mechanically: :func:`original_key_map` derives, from a built
network, the original key of each of our state_dict keys. Converting inverts that map. Two kinds of original
keys have no own counterpart and are handled on purpose:

- ``model.<i>.last_conv.weight`` of a dense phase is the same tensor as ``model.<i>.out.0.weight`` (the
  original registers one convolution under two names); it is accepted if it equals that tensor.
- ``model.<i>.first_conv.weight`` of a macro phase that keeps its channel count: the original constructs it
  but never applies it, and we do not build it; it is dropped (logged).

Everything else must match exactly: unknown or missing keys raise ``KeyError``, wrong shapes ``ValueError``.
"""

from __future__ import annotations

import logging
import os
import pickle
import re
from collections.abc import Mapping
from typing import Any

import torch
from torch import Tensor, nn

from nsga_lightning.nn.macro import MacroNetwork
from nsga_lightning.nn.micro import MicroNetwork
from nsga_lightning.nn.ops import Conv7x1x1x7, DilConv, FactorizedReduce, ReLUConvBN, SELayer, SepConv

logger = logging.getLogger(__name__)

DATA_PARALLEL_PREFIX = "module."
CHECKPOINT_KEYS = ("state_dict", "model")
_SHOWN = 5
_CELL_PART = re.compile(r"cells\.(\d+)\.(preprocess[01]|ops\.\d+|se)\.(.+)")
_PHASE_PART = re.compile(r"phases\.(\d+)\.(entry|nodes|fuse|out)\.(.+)")
_FACTORIZED_NAMES = {"conv_even": "conv_1", "conv_odd": "conv_2", "bn": "bn"}
# original keys of the convolution that reads the images (micro cifar stem, micro imagenet stem, macro entry)
_INPUT_CONVS = ("stem.0.weight", "stem0.0.weight", "model.0.first_conv.weight")


def original_key_map(network: nn.Module) -> dict[str, str]:
    """For each key of ``network.state_dict()``, the key the original implementation uses for it.

    Raises:
        ValueError: if ``network`` is not a :class:`MicroNetwork` or :class:`MacroNetwork`.
    """
    if isinstance(network, MicroNetwork):
        translate = _micro_original
    elif isinstance(network, MacroNetwork):
        translate = _macro_original
    else:
        raise ValueError(
            f"can import original weights into MicroNetwork or MacroNetwork, not {type(network).__name__}"
        )
    return {key: translate(network, key) for key in network.state_dict()}


def _micro_original(net: nn.Module, key: str) -> str:
    if key.startswith("stem.stem"):  # the imagenet stem: stem0.*, stem1.* in the original's NetworkImageNet
        return key[len("stem."):]
    match = _CELL_PART.fullmatch(key)
    if match is None:
        return key  # stem.*, auxiliary_head.*, classifier.* share the original's layout
    cell, part, rest = match.groups()
    module = net.get_submodule(f"cells.{cell}.{part}")
    original_part = {"se": "se_layer"}.get(part, "_" + part if part.startswith("ops.") else part)
    return f"cells.{cell}.{original_part}.{_op_local_original(module, rest)}"


def _op_local_original(module: nn.Module, rest: str) -> str:
    if isinstance(module, SepConv):  # ours: <unit>.<layer>.<param>; original: one Sequential of 8 layers
        unit, layer, param = rest.split(".", 2)
        return f"op.{4 * int(unit) + int(layer)}.{param}"
    if isinstance(module, (ReLUConvBN, DilConv)):
        return "op." + rest
    if isinstance(module, FactorizedReduce):
        child, param = rest.split(".", 1)
        return f"{_FACTORIZED_NAMES[child]}.{param}"
    if isinstance(module, SELayer):
        return "fc." + rest.split(".", 1)[1]
    if isinstance(module, Conv7x1x1x7):
        return rest  # a bare Sequential in the original too
    raise ValueError(f"no original layout known for {type(module).__name__} ({rest})")


def _macro_original(net: nn.Module, key: str) -> str:
    if key.startswith("classifier."):
        return "linear." + key[len("classifier.") :]
    if key.startswith("stem."):
        raise ValueError("the original NSGA-Net has no macro network with the imagenet stem: its weights import "
                         "into macro networks with stem cifar only")
    match = _PHASE_PART.fullmatch(key)
    if match is None:
        raise ValueError(f"no original name known for macro key {key!r}")
    phase, part, rest = match.groups()
    prefix = f"model.{2 * int(phase)}"  # the original's Sequential interleaves max pools
    if part == "entry":
        return f"{prefix}.first_conv.{rest}"
    if part == "out":
        return f"{prefix}.out.{rest}"
    node, inner = rest.split(".", 1)
    if part == "nodes":
        return f"{prefix}.nodes.{int(node) - 1}.model.{inner}"
    return f"{prefix}.processors.{node}.{inner}"  # fuse: indexed by node id, output node = n + 1


def _macro_extras(net: nn.Module) -> tuple[dict[str, str], dict[str, tuple[int, ...]]]:
    """Original aliases (original key -> our key) and never-used entry convs (original key -> its shape)."""
    aliases: dict[str, str] = {}
    unused: dict[str, tuple[int, ...]] = {}
    if not isinstance(net, MacroNetwork):
        return aliases, unused
    in_channels = net.in_channels
    for k, phase in enumerate(net.phases):
        prefix = f"model.{2 * k}"
        out_channels = net.channels[k]
        if net.decoder == "dense":
            aliases[f"{prefix}.last_conv.weight"] = f"phases.{k}.out.0.weight"
        if phase.entry is None:
            kernel = 3 if k == 0 else 1
            unused[f"{prefix}.first_conv.weight"] = (out_channels, in_channels, kernel, kernel)
        in_channels = out_channels
    return aliases, unused


def _listing(keys: list[str]) -> str:
    shown = ", ".join(keys[:_SHOWN])
    more = f" ... and {len(keys) - _SHOWN} more" if len(keys) > _SHOWN else ""
    return f"{len(keys)} key(s): {shown}{more}"


def _convert(state_dict: Mapping[str, Any], network: nn.Module) -> tuple[dict[str, Tensor], list[str]]:
    if not isinstance(state_dict, Mapping):
        raise ValueError(
            f"expected a state_dict mapping of names to tensors, got {type(state_dict).__name__}"
        )
    source = {}
    for key, value in state_dict.items():
        if not isinstance(value, Tensor):
            raise ValueError(f"state_dict entry {key!r} is a {type(value).__name__}, not a tensor")
        source[key.removeprefix(DATA_PARALLEL_PREFIX)] = value
    ours = network.state_dict()
    to_original = original_key_map(network)
    to_ours = {original: our for our, original in to_original.items()}
    aliases, unused = _macro_extras(network)
    converted: dict[str, Tensor] = {}
    dropped, unknown, mismatched, alias_pairs = [], [], [], []
    for key, value in source.items():
        shape = tuple(value.shape)
        if key in to_ours:
            target = to_ours[key]
            if shape != tuple(ours[target].shape):
                _check_input_channels(key, shape, tuple(ours[target].shape), network)
                mismatched.append(f"{key} {list(shape)} (expected {list(ours[target].shape)})")
            converted[target] = value
        elif key in aliases:
            alias_pairs.append((key, aliases[key]))
        elif key in unused:
            if shape != unused[key]:
                _check_input_channels(key, shape, unused[key], network)
                mismatched.append(f"{key} {list(shape)} (expected {list(unused[key])})")
            dropped.append(key)
        else:
            unknown.append(key)
    missing = [original for original in to_ours if original not in source]
    if unknown or missing:
        parts = []
        if unknown:
            parts.append(f"unknown {_listing(unknown)}")
        if missing:
            parts.append(f"missing {_listing(missing)}")
        if any(k.startswith("auxiliary_head.") for k in unknown + missing):
            parts.append(
                "build the network with auxiliary=True / False to match the checkpoint's auxiliary head"
            )
        raise KeyError(f"state_dict does not match this {type(network).__name__}: " + "; ".join(parts))
    for alias, target in alias_pairs:
        if tuple(source[alias].shape) != tuple(ours[target].shape):
            mismatched.append(f"{alias} {list(source[alias].shape)} (expected {list(ours[target].shape)})")
    if mismatched:
        raise ValueError(
            f"state_dict shapes do not match this {type(network).__name__}: {_listing(mismatched)}"
        )
    for alias, target in alias_pairs:
        value, reference = source[alias], converted[target]
        if not (value.is_meta or reference.is_meta) and not torch.equal(value, reference):
            raise ValueError(
                f"{alias} is the same convolution as {to_original[target]} in the original, but the "
                "two tensors differ"
            )
    if dropped:
        logger.info(
            "dropped %d entry convolution(s) the original builds but never applies: %s",
            len(dropped),
            ", ".join(dropped),
        )
    return converted, dropped


def _check_input_channels(key: str, shape: tuple[int, ...], expected: tuple[int, ...], network: nn.Module) -> None:
    """Name the input channels when the convolution that reads the images differs in them alone."""
    if key in _INPUT_CONVS and len(shape) == len(expected) == 4 and shape[1] != expected[1] \
            and (shape[0], *shape[2:]) == (expected[0], *expected[2:]):
        raise ValueError(
            f"the weights are for {shape[1]}-channel images, but this {type(network).__name__} is built for "
            f"{expected[1]}-channel images (in_channels, which the CLI takes from the data): give "
            f"{shape[1]}-channel images ({key} is {list(shape)})"
        )


def convert_original_state_dict(state_dict: Mapping[str, Tensor], network: nn.Module) -> dict[str, Tensor]:
    """Rename an original-format state_dict (optionally with DataParallel's ``module.`` prefix) to ours.

    Args:
        state_dict: the original implementation's state_dict.
        network: the network it is meant for (built with the matching genotype and options).

    Returns:
        A state_dict with ``network``'s key names (tensors unchanged, dtype included), ready for
        ``network.load_state_dict(..., strict=True)``.

    Raises:
        KeyError: for unknown or missing keys (up to five listed, with their count).
        ValueError: for tensors of the wrong shape, or for something that is not a state_dict.
    """
    return _convert(state_dict, network)[0]


def load_original_state_dict(network: nn.Module, state_dict: Mapping[str, Tensor]) -> tuple[str, ...]:
    """Load an original-format state_dict into ``network`` (strictly; dtypes are cast to the network's).

    Returns:
        The original keys that were dropped on purpose (never-used macro entry convolutions).

    Raises:
        KeyError: for unknown or missing keys.
        ValueError: for wrong shapes.
    """
    converted, dropped = _convert(state_dict, network)
    network.load_state_dict(converted, strict=True)
    return tuple(dropped)


def load_original_checkpoint(path: str | os.PathLike, network: nn.Module) -> tuple[str, ...]:
    """Load an original checkpoint file into ``network`` (read with ``map_location="cpu"``).

    The file may hold the raw state_dict (what the original's training script saves as ``weights.pt``) or a
    dict that keeps it under ``"state_dict"`` or ``"model"``.

    Returns:
        The original keys that were dropped on purpose.

    Raises:
        FileNotFoundError: if ``path`` does not exist.
        ValueError: if the file holds no tensors-only state_dict.
        KeyError: for unknown or missing keys.
    """
    try:
        loaded = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as error:
        raise ValueError(
            f"{path}: not a plain tensor checkpoint (a pickled model or other objects); save "
            f"model.state_dict() instead ({error})"
        ) from error
    if isinstance(loaded, Mapping):
        for key in CHECKPOINT_KEYS:
            if isinstance(loaded.get(key), Mapping):
                loaded = loaded[key]
                break
    if not isinstance(loaded, Mapping):
        raise ValueError(
            f"{path}: expected a state_dict or a dict with one of {list(CHECKPOINT_KEYS)}, got "
            f"{type(loaded).__name__}"
        )
    return load_original_state_dict(network, loaded)
