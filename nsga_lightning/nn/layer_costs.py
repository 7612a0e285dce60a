"""Cached cost of each kind of layer group the networks are made of, measured on the layer group alone.

Every function here builds one small module with the networks' own builders (a stem, a cell operation, a
preprocessing layer, an SE layer, a macro node...), counts it with :func:`~nsga_lightning.nn.complexity.count_madds`
and :func:`~nsga_lightning.nn.complexity.count_parameters` on a batch-1 input of the given side, and caches the
result by its arguments. A network's MAdds and parameters are then sums of these terms
(:mod:`nsga_lightning.nn.analytic_complexity`): MAdds of the hooks counter depend only on each layer's own input
and output shapes, so a layer group counted alone costs what it costs inside the network.

The caches are keyed by (kind, channels, stride, input side...), which a search with fixed network options meets
again and again: after its first few candidates every term is a dictionary lookup.
"""

from __future__ import annotations

import functools
from typing import Any, NamedTuple

from torch import Tensor, nn

from nsga_lightning.nn.cells import AUXILIARY_HEADS, build_cell_op, build_preprocess
from nsga_lightning.nn.complexity import count_madds, count_parameters
from nsga_lightning.nn.ops import SELayer
from nsga_lightning.nn.phases import (
    dense_node,
    dense_output,
    entry_conv,
    residual_fuse,
    residual_node,
    residual_output,
)
from nsga_lightning.nn.stems import MacroImageNetStem, micro_stem

CACHE_SIZE = 16384  # entries per kind; a search with fixed options uses a few hundred in all


class Cost(NamedTuple):
    """MAdds (batch 1) and parameters of one layer group, and the side of its (square) output map."""

    madds: int
    params: int
    side: int


class StemCost(NamedTuple):
    """MAdds (batch 1) and parameters of a micro stem, the channels of its outputs, the sides of the first cell's
    two inputs and whether that cell reads input 0 through a FactorizedReduce (``reduction_prev``)."""

    madds: int
    params: int
    channels: int
    sides: tuple[int, int]
    reduction_prev: bool


def _count(module: nn.Module, in_channels: int, side: int) -> tuple[int, int, Any]:
    """MAdds and parameters of ``module`` on one ``(1, in_channels, side, side)`` input, and its output."""
    if side < 1:
        raise ValueError(f"a layer group needs an input of at least 1x1, got side {side}")
    outputs = []

    def record(_module: nn.Module, _inputs: tuple[Tensor, ...], output: Any) -> None:
        outputs.append(output)

    handle = module.register_forward_hook(record)
    try:
        madds = count_madds(module, (1, in_channels, side, side))
    finally:
        handle.remove()
    return madds, count_parameters(module), outputs[-1]


def measure(module: nn.Module, in_channels: int, side: int) -> Cost:
    """Count ``module`` on one ``(1, in_channels, side, side)`` input, as the networks' counters do.

    Args:
        module: a layer group of a network (returns one tensor).
        in_channels: channels of its input.
        side: side of its square input map.

    Returns:
        Its MAdds, its parameters and the side of its output map (``side`` itself for a vector output).

    Raises:
        ValueError: for a ``side`` below 1.
    """
    madds, params, output = _count(module, in_channels, side)
    return Cost(madds, params, int(output.shape[-1]) if output.dim() == 4 else side)


# ----- the micro space ------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=CACHE_SIZE)
def micro_stem_cost(stem: str, in_channels: int, init_channels: int, side: int) -> StemCost:
    """The micro network's ``stem`` (``"cifar"`` or ``"imagenet"``, :func:`~nsga_lightning.nn.stems.micro_stem`)
    for a first cell of ``init_channels`` channels, reading images of ``in_channels`` channels and side ``side``."""
    module = micro_stem(stem, in_channels, init_channels)
    madds, params, (s0, s1) = _count(module, in_channels, side)
    return StemCost(madds, params, module.out_channels, (int(s0.shape[-1]), int(s1.shape[-1])),
                    module.reduction_prev)


@functools.lru_cache(maxsize=CACHE_SIZE)
def op_cost(name: str, channels: int, stride: int, side: int) -> Cost:
    """A cell operation ``name`` on ``channels`` channels with ``stride``, reading a map of side ``side``."""
    return measure(build_cell_op(name, channels, stride), channels, side)


@functools.lru_cache(maxsize=CACHE_SIZE)
def preprocess_cost(in_channels: int, channels: int, reduce: bool, side: int) -> Cost:
    """A cell's input preprocessing: FactorizedReduce when ``reduce`` (the input has twice the cell's input side),
    else ReLU-Conv1x1-BN, from ``in_channels`` to ``channels`` at input side ``side``."""
    return measure(build_preprocess(in_channels, channels, reduce), in_channels, side)


@functools.lru_cache(maxsize=CACHE_SIZE)
def se_cost(channels: int, side: int) -> Cost:
    """A squeeze-and-excitation layer on a cell output of ``channels`` channels and side ``side``."""
    return measure(SELayer(channels), channels, side)


@functools.lru_cache(maxsize=CACHE_SIZE)
def global_pool_cost(channels: int, side: int) -> Cost:
    """The micro network's global average pooling (``AdaptiveAvgPool2d(1)``)."""
    return measure(nn.AdaptiveAvgPool2d(1), channels, side)


@functools.lru_cache(maxsize=CACHE_SIZE)
def auxiliary_head_params(stem: str, channels: int, num_classes: int) -> int:
    """Parameters of the auxiliary head of ``stem`` (``"cifar"`` or ``"imagenet"``) on ``channels`` channels (it
    never runs when MAdds are counted)."""
    return count_parameters(AUXILIARY_HEADS[stem](channels, num_classes))


# ----- both spaces ----------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=CACHE_SIZE)
def classifier_cost(in_features: int, num_classes: int) -> Cost:
    """The final ``Linear(in_features, num_classes)`` (with bias)."""
    layer = nn.Linear(in_features, num_classes)
    # count_madds' linear formula (input elements x output features) on the (1, in_features) pooled vector
    return Cost(in_features * layer.out_features, count_parameters(layer), 1)


# ----- the macro space ------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=CACHE_SIZE)
def macro_stem_cost(in_channels: int, channels: int, side: int) -> Cost:
    """The macro imagenet stem (:class:`~nsga_lightning.nn.stems.MacroImageNetStem`) to ``channels`` channels,
    reading images of ``in_channels`` channels and side ``side`` (its output side included)."""
    return measure(MacroImageNetStem(in_channels, channels), in_channels, side)


@functools.lru_cache(maxsize=CACHE_SIZE)
def entry_conv_cost(in_channels: int, channels: int, first: bool, side: int) -> Cost:
    """A macro phase's entry convolution (``in_channels != channels``; its output side included)."""
    module = entry_conv(in_channels, channels, first)
    if module is None:
        raise ValueError("a phase whose channel count does not change has no entry convolution")
    return measure(module, in_channels, side)


@functools.lru_cache(maxsize=CACHE_SIZE)
def residual_node_cost(channels: int, side: int) -> Cost:
    """A residual-decoder node on ``channels`` channels."""
    return measure(residual_node(channels), channels, side)


@functools.lru_cache(maxsize=CACHE_SIZE)
def residual_fuse_cost(n_inputs: int, channels: int, side: int) -> Cost:
    """The 1x1 conv fusing ``n_inputs`` concatenated inputs of ``channels`` channels."""
    return measure(residual_fuse(n_inputs, channels), n_inputs * channels, side)


@functools.lru_cache(maxsize=CACHE_SIZE)
def residual_output_cost(channels: int, side: int) -> Cost:
    """A residual phase's output BN -> ReLU."""
    return measure(residual_output(channels), channels, side)


@functools.lru_cache(maxsize=CACHE_SIZE)
def dense_node_cost(in_channels: int, side: int) -> Cost:
    """A dense-decoder node reading ``in_channels`` concatenated channels."""
    return measure(dense_node(in_channels), in_channels, side)


@functools.lru_cache(maxsize=CACHE_SIZE)
def dense_output_cost(in_channels: int, channels: int, side: int) -> Cost:
    """A dense phase's output conv from ``in_channels`` concatenated channels to ``channels``."""
    return measure(dense_output(in_channels, channels), in_channels, side)


ALL_CACHES = (
    micro_stem_cost, macro_stem_cost, op_cost, preprocess_cost, se_cost, global_pool_cost, auxiliary_head_params, classifier_cost,
    entry_conv_cost, residual_node_cost, residual_fuse_cost, residual_output_cost, dense_node_cost,
    dense_output_cost,
)


def clear_caches() -> None:
    """Empty every cost cache (e.g. to time a cold count)."""
    for cached in ALL_CACHES:
        cached.cache_clear()
