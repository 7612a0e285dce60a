"""The layer groups a network runs, as lookup-table keys: the plan of one network and every key a space can need.

A key is a tuple naming one layer group and the shapes it works on, e.g. ``("op", "sep_conv_3x3", 16, 1, 32)`` (a
cell operation on 16 channels, stride 1, reading a 32x32 map) or ``("cat", (16, 16, 16), 8)`` (a concatenation of
three 16-channel 8x8 maps). :func:`network_plan` walks a genotype's network as its constructors build it and its
``forward`` runs it (eval mode: no auxiliary head, no drop path) and lists the key of every layer group it runs, the
element-wise sums and concatenations included; :func:`space_keys` lists every key any genotype of a space can need
with the given network options (what a lookup table measures once per target); :func:`layer_module` builds the
module and input shape of one key, with the networks' own builders. The plan mirrors
:mod:`nsga_lightning.nn.analytic_complexity`, which counts MAdds over the same walk; a test compares the plan with
the modules a built network calls, and every plan of random genomes with :func:`space_keys`.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import Tensor, nn

from nsga_lightning.nn import layer_costs as costs
from nsga_lightning.nn.base import check_in_channels
from nsga_lightning.nn.cells import build_cell_op, build_preprocess
from nsga_lightning.nn.input_size import check_micro_image_size, macro_feature_size, resolve_stem
from nsga_lightning.nn.macro import GlobalAvgPool, MacroNetwork
from nsga_lightning.nn.macro import _check_options as check_macro_options
from nsga_lightning.nn.micro import MicroNetwork
from nsga_lightning.nn.micro import _check_options as check_micro_options
from nsga_lightning.nn.networks import network_arguments
from nsga_lightning.nn.ops import OP_BUILDERS, SELayer
from nsga_lightning.nn.phases import (
    DENSE_GROWTH,
    dense_node,
    dense_output,
    entry_conv,
    residual_fuse,
    residual_node,
    residual_output,
)
from nsga_lightning.nn.stems import MacroImageNetStem, micro_stem
from nsga_lightning.spaces.macro import N_PHASES, MacroGenotype, PhaseGraph
from nsga_lightning.spaces.micro import MicroGenotype, live_nodes, validate_genotype

Key = tuple[Any, ...]


def network_plan(space: str, genotype: Any, **options: Any) -> list[Key]:
    """The keys of the layer groups ``build_network(space, genotype, **options)`` runs in one eval forward.

    Args:
        space: ``"micro"`` or ``"macro"``.
        genotype: anything :func:`~nsga_lightning.nn.networks.build_network` accepts.
        **options: :func:`~nsga_lightning.nn.networks.build_network`'s keywords.

    Returns:
        One key per layer group call, in the order the network runs them (a key repeats where a group repeats).

    Raises:
        ValueError: for arguments the network refuses (the same checks, in the same order).
    """
    network, resolved, checked = network_arguments(space, genotype, **options)
    if network is MicroNetwork:
        return _micro_plan(resolved, **checked)
    if network is MacroNetwork:
        return _macro_plan(resolved, **checked)
    raise ValueError(f"no latency plan for {network.__name__}")  # pragma: no cover - a new network class


def _micro_plan(genotype: MicroGenotype, *, num_classes: int, init_channels: int, layers: int,
                filter_increment: int | None, se: bool, auxiliary: bool, image_size: int, in_channels: int,
                stem: str) -> list[Key]:
    check_micro_options(num_classes, init_channels, layers, filter_increment, in_channels)
    validate_genotype(genotype, ops=tuple(OP_BUILDERS))
    stem_type = resolve_stem(stem, image_size)
    sides = check_micro_image_size(image_size, layers, auxiliary, stem)
    stem_cost = costs.micro_stem_cost(stem_type, in_channels, init_channels, image_size)
    plan: list[Key] = [("micro_stem", stem_type, in_channels, init_channels, image_size)]
    prev_prev = prev = stem_cost.channels
    side_prev_prev, side_prev = stem_cost.sides
    reduction_prev, channels = stem_cost.reduction_prev, init_channels
    for i in range(layers):
        reduction = i in (layers // 3, 2 * layers // 3)
        if reduction and filter_increment is None:
            channels *= 2
        units, concat = ((genotype.reduce, genotype.reduce_concat) if reduction
                         else (genotype.normal, genotype.normal_concat))
        live = live_nodes(units, concat)
        if 0 in live:
            plan.append(("preprocess", prev_prev, channels, reduction_prev, side_prev_prev))
        if 1 in live:
            plan.append(("preprocess", prev, channels, False, side_prev))
        for block in range(len(units) // 2):
            if block + 2 not in live:
                continue
            for name, idx in units[2 * block: 2 * block + 2]:
                stride, side = (2 if reduction else 1, side_prev) if idx < 2 else (1, sides[i])
                plan.append(("op", name, channels, stride, side))
            plan.append(("add", channels, sides[i]))
        plan.append(("cat", (channels,) * len(concat), sides[i]))
        out_channels = len(concat) * channels
        if se:
            plan.append(("se", out_channels, sides[i]))
        prev_prev, prev = prev, out_channels
        side_prev_prev, side_prev, reduction_prev = side_prev, sides[i], reduction
        if filter_increment is not None:
            channels += filter_increment
    return [*plan, ("global_pool", prev, side_prev), ("classifier", prev, num_classes)]


def _macro_plan(genotype: MacroGenotype, *, num_classes: int, channels: Sequence[int], decoder: str,
                image_size: int, in_channels: int, stem: str) -> list[Key]:
    channels = check_macro_options(genotype, num_classes, channels, decoder)
    check_in_channels(in_channels)
    stem_type = resolve_stem(stem, image_size)
    phases = genotype.active_phases
    width = channels[0] if stem_type == "imagenet" else in_channels
    macro_feature_size(image_size, len(phases), bool(phases) and width != channels[0], stem)
    plan: list[Key] = []
    side = image_size
    if stem_type == "imagenet":
        plan.append(("macro_stem", in_channels, channels[0], image_size))
        side = costs.macro_stem_cost(in_channels, channels[0], image_size).side
    for k, graph in enumerate(phases):
        if k > 0:
            plan.append(("maxpool", width, side))
            side //= 2
        if width != channels[k]:
            plan.append(("entry", width, channels[k], k == 0, side))
            side = side - 2 if k == 0 else side
        plan += _phase_plan(decoder, graph, channels[k], side)
        width = channels[k]
    return [*plan, ("macro_pool", width, side), ("classifier", width, num_classes)]


def _phase_plan(decoder: str, graph: PhaseGraph, channels: int, side: int) -> list[Key]:
    """The keys of one phase after its entry conv (mirrors ``ResidualPhase`` and ``DensePhase``)."""
    plan: list[Key] = []
    if decoder == "residual":
        readers = [(graph.inputs[node - 1], ("residual_node", channels, side)) for node in graph.active_nodes]
        for preds, layer in [*readers, (graph.output, ("residual_output", channels, side))]:
            plan.append(("cat", (channels,) * len(preds), side))
            if len(preds) > 1:
                plan.append(("residual_fuse", len(preds), channels, side))
            plan.append(layer)
        return plan
    for node in graph.active_nodes:
        widths = sorted(channels if p == 0 else DENSE_GROWTH for p in graph.inputs[node - 1])
        plan += [("cat", tuple(widths), side), ("dense_node", sum(widths), side)]
    widths = sorted(channels if p == 0 else DENSE_GROWTH for p in graph.output)  # a cat's key lists sorted widths
    return [*plan, ("cat", tuple(widths), side), ("dense_output", sum(widths), channels, side)]


# ----- every key of a space ---------------------------------------------------------------------------------


def space_keys(space: str, size: int, options: Mapping[str, Any]) -> set[Key]:
    """Every key a network of ``space`` with these options can run, whatever its genotype.

    Args:
        space: ``"micro"`` or ``"macro"``.
        size: the micro space's blocks per cell, or the macro space's nodes per phase.
        options: :func:`~nsga_lightning.nn.networks.build_network`'s keywords (``num_classes``, ``image_size``,
            ``in_channels``, ``stem``, and the space's own: ``init_channels``, ``layers``, ``filter_increment``,
            ``se`` / ``channels``, ``decoder``).

    Returns:
        The set of keys (each genotype's :func:`network_plan` is a subset of it).
    """
    if space == "micro":
        return _micro_keys(size, **_micro_options(options))
    return _macro_keys(size, **_macro_options(options))


def _micro_options(options: Mapping[str, Any]) -> dict[str, Any]:
    names = ("num_classes", "init_channels", "layers", "filter_increment", "se", "auxiliary", "image_size",
             "in_channels", "stem")
    defaults = {"num_classes": 10, "init_channels": 16, "layers": 8, "filter_increment": None, "se": False,
                "auxiliary": False, "image_size": 32, "in_channels": 3, "stem": "auto"}
    return {name: options.get(name, defaults[name]) for name in names}


def _macro_options(options: Mapping[str, Any]) -> dict[str, Any]:
    c = options.get("init_channels", 16)
    return {"num_classes": options.get("num_classes", 10), "channels": options.get("channels") or [c, 2 * c, 4 * c],
            "decoder": options.get("decoder", "residual"), "image_size": options.get("image_size", 32),
            "in_channels": options.get("in_channels", 3), "stem": options.get("stem", "auto")}


def _micro_keys(n_blocks: int, *, num_classes: int, init_channels: int, layers: int, filter_increment: int | None,
                se: bool, auxiliary: bool, image_size: int, in_channels: int, stem: str) -> set[Key]:
    stem_type = resolve_stem(stem, image_size)
    sides = check_micro_image_size(image_size, layers, auxiliary, stem)
    stem_cost = costs.micro_stem_cost(stem_type, in_channels, init_channels, image_size)
    keys: set[Key] = {("micro_stem", stem_type, in_channels, init_channels, image_size)}
    prev_prev = prev = {stem_cost.channels}
    side_prev_prev, side_prev = stem_cost.sides
    reduction_prev, channels = stem_cost.reduction_prev, init_channels
    counts = range(1, n_blocks + 1)
    for i in range(layers):
        reduction = i in (layers // 3, 2 * layers // 3)
        if reduction and filter_increment is None:
            channels *= 2
        keys |= {("preprocess", c, channels, reduction_prev, side_prev_prev) for c in prev_prev}
        keys |= {("preprocess", c, channels, False, side_prev) for c in prev}
        for name in OP_BUILDERS:
            keys.add(("op", name, channels, 1, sides[i]))
            if reduction:
                keys.add(("op", name, channels, 2, side_prev))
        keys.add(("add", channels, sides[i]))
        keys |= {("cat", (channels,) * k, sides[i]) for k in counts}
        if se:
            keys |= {("se", k * channels, sides[i]) for k in counts}
        prev_prev, prev = prev, {k * channels for k in counts}
        side_prev_prev, side_prev, reduction_prev = side_prev, sides[i], reduction
        if filter_increment is not None:
            channels += filter_increment
    keys |= {("global_pool", c, side_prev) for c in prev}
    return keys | {("classifier", c, num_classes) for c in prev}


def _macro_keys(n_nodes: int, *, num_classes: int, channels: Sequence[int], decoder: str, image_size: int,
                in_channels: int, stem: str) -> set[Key]:
    stem_type = resolve_stem(stem, image_size)
    keys: set[Key] = set()
    side = image_size
    widths = {channels[0]} if stem_type == "imagenet" else {in_channels}  # what may enter the next active phase
    if stem_type == "imagenet":
        keys.add(("macro_stem", in_channels, channels[0], image_size))
        side = costs.macro_stem_cost(in_channels, channels[0], image_size).side
    keys |= {("macro_pool", w, side) for w in widths} | {("classifier", w, num_classes) for w in widths}
    sides_before: set[int] = {side}
    for k in range(N_PHASES):  # the k-th active phase
        c = channels[k]
        if k > 0:
            keys |= {("maxpool", w, s) for w in widths for s in sides_before}
            sides_before = {s // 2 for s in sides_before}
        entered = set(sides_before)
        for w in widths:
            if w != c:
                keys |= {("entry", w, c, k == 0, s) for s in sides_before}
                entered |= {s - 2 if k == 0 else s for s in sides_before}
        entered = {s for s in entered if s >= 1}
        for s in entered:
            keys |= _phase_keys(decoder, n_nodes, c, s)
        sides_before, widths = entered, {c}
        keys |= {("macro_pool", c, s) for s in entered} | {("classifier", c, num_classes)}
    return keys


def _phase_keys(decoder: str, n_nodes: int, channels: int, side: int) -> set[Key]:
    if decoder == "residual":
        keys = {("residual_node", channels, side), ("residual_output", channels, side)}
        keys |= {("cat", (channels,) * k, side) for k in range(1, n_nodes + 2)}
        return keys | {("residual_fuse", k, channels, side) for k in range(2, n_nodes + 2)}
    keys = set()
    for has_input, others in itertools.product((0, 1), range(n_nodes + 1)):
        if has_input + others == 0:
            continue
        widths = tuple(sorted((DENSE_GROWTH,) * others + (channels,) * has_input))
        keys |= {("cat", widths, side), ("dense_node", sum(widths), side),
                 ("dense_output", sum(widths), channels, side)}
    return keys


# ----- one key as a module ------------------------------------------------------------------------------------


class _Add(nn.Module):
    """``x + y`` with ``y`` a fixed tensor of ``x``'s shape (a block's sum of its two operations)."""

    def __init__(self, shape: Sequence[int]) -> None:
        super().__init__()
        self.register_buffer("other", torch.randn(tuple(shape), generator=torch.Generator().manual_seed(1)))

    def forward(self, x: Tensor) -> Tensor:
        return x + self.other


class _Cat(nn.Module):
    """The channel concatenation of ``x`` and fixed tensors of the other widths (a cell's output, a gather)."""

    def __init__(self, batch: int, widths: Sequence[int], side: int) -> None:
        super().__init__()
        generator = torch.Generator().manual_seed(2)
        for i, width in enumerate(widths[1:]):
            self.register_buffer(f"part{i}", torch.randn((batch, width, side, side), generator=generator))
        self.n = len(widths) - 1

    def forward(self, x: Tensor) -> Tensor:
        return torch.cat([x, *(getattr(self, f"part{i}") for i in range(self.n))], dim=1)


def layer_module(key: Key, batch: int = 1) -> tuple[nn.Module, tuple[int, ...]]:
    """The module of ``key`` (eval mode) and the shape of its input without the batch dimension.

    Args:
        key: a key of :func:`network_plan` / :func:`space_keys`.
        batch: the batch size the measurement uses (the fixed tensors of sums and concatenations have it).

    Raises:
        ValueError: for an unknown kind of key.
    """
    kind, args = key[0], key[1:]
    if kind == "micro_stem":
        stem, c_in, c, side = args
        module, shape = micro_stem(stem, c_in, c), (c_in, side, side)
    elif kind == "op":
        name, c, stride, side = args
        module, shape = build_cell_op(name, c, stride), (c, side, side)
    elif kind == "preprocess":
        c_in, c, reduce, side = args
        module, shape = build_preprocess(c_in, c, reduce), (c_in, side, side)
    elif kind == "add":
        c, side = args
        module, shape = _Add((batch, c, side, side)), (c, side, side)
    elif kind == "cat":
        widths, side = args
        module, shape = _Cat(batch, widths, side), (widths[0], side, side)
    elif kind == "se":
        c, side = args
        module, shape = SELayer(c), (c, side, side)
    elif kind == "global_pool":
        c, side = args
        module, shape = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(1)), (c, side, side)
    elif kind == "macro_pool":
        c, side = args
        module, shape = nn.Sequential(GlobalAvgPool(), nn.Flatten(1)), (c, side, side)
    elif kind == "classifier":
        c, classes = args
        module, shape = nn.Linear(c, classes), (c,)
    else:
        module, shape = _macro_module(kind, args)
    return module.eval(), shape


def _macro_module(kind: str, args: tuple[Any, ...]) -> tuple[nn.Module, tuple[int, ...]]:
    if kind == "macro_stem":
        c_in, c, side = args
        return MacroImageNetStem(c_in, c), (c_in, side, side)
    if kind == "maxpool":
        c, side = args
        return nn.MaxPool2d(kernel_size=2, stride=2), (c, side, side)
    if kind == "entry":
        c_in, c, first, side = args
        return entry_conv(c_in, c, first), (c_in, side, side)
    if kind == "residual_node":
        c, side = args
        return residual_node(c), (c, side, side)
    if kind == "residual_fuse":
        n, c, side = args
        return residual_fuse(n, c), (n * c, side, side)
    if kind == "residual_output":
        c, side = args
        return residual_output(c), (c, side, side)
    if kind == "dense_node":
        c_in, side = args
        return dense_node(c_in), (c_in, side, side)
    if kind == "dense_output":
        c_in, c, side = args
        return dense_output(c_in, c), (c_in, side, side)
    raise ValueError(f"unknown layer key {(kind, *args)!r}")
