"""Macro-space phases: a repaired DAG of computation nodes, built by the ``residual`` or ``dense`` decoder.

Node 0 is the phase input (after the entry convolution, when the phase changes the channel count); nodes
``1..n`` compute; the phase output reads the nodes listed in :attr:`PhaseGraph.output`.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from nsga_lightning.spaces.macro import PhaseGraph

DENSE_GROWTH = 64  # channels each dense node adds (the original's t)
DENSE_BOTTLENECK = 4  # bottleneck width multiplier (the original's k): 1x1 conv to 4 * 64 channels


def entry_conv(in_channels: int, out_channels: int, first: bool) -> nn.Conv2d | None:
    """The phase entry convolution, or ``None`` when the channel count does not change.

    The original always constructs it but only applies it when ``in_channels != out_channels``; here it is
    built only when it is applied. It is 3x3 without padding for the first phase (32x32 -> 30x30, serving as
    the stem) and 1x1 for later ones; stride 1, no bias, no BN or ReLU.
    """
    if in_channels == out_channels:
        return None
    return nn.Conv2d(in_channels, out_channels, 3 if first else 1, stride=1, padding=0, bias=False)


def residual_node(channels: int) -> nn.Sequential:
    """A residual-decoder node: Conv3x3(C -> C, padding 1, no bias) -> BN -> ReLU."""
    return nn.Sequential(
        nn.Conv2d(channels, channels, 3, padding=1, bias=False),
        nn.BatchNorm2d(channels),
        nn.ReLU(inplace=False),
    )


def residual_fuse(n_inputs: int, channels: int) -> nn.Conv2d:
    """The bias-free 1x1 conv that fuses the concatenation of ``n_inputs`` (> 1) inputs: ``k * C -> C``."""
    return nn.Conv2d(n_inputs * channels, channels, 1, bias=False)


def residual_output(channels: int) -> nn.Sequential:
    """A residual phase's output: BN -> ReLU on ``C`` channels."""
    return nn.Sequential(nn.BatchNorm2d(channels), nn.ReLU(inplace=False))


def dense_node(in_channels: int) -> nn.Sequential:
    """A dense-decoder node: BN -> ReLU -> Conv1x1(-> 4 * 64) -> BN -> ReLU -> Conv3x3(-> 64)."""
    width = DENSE_GROWTH * DENSE_BOTTLENECK
    return nn.Sequential(
        nn.BatchNorm2d(in_channels),
        nn.ReLU(inplace=False),
        nn.Conv2d(in_channels, width, 1, bias=False),
        nn.BatchNorm2d(width),
        nn.ReLU(inplace=False),
        nn.Conv2d(width, DENSE_GROWTH, 3, stride=1, padding=1, bias=False),
    )


def dense_output(in_channels: int, channels: int) -> nn.Sequential:
    """A dense phase's output: Conv1x1(``in_channels`` -> C) -> BN -> ReLU."""
    return nn.Sequential(
        nn.Conv2d(in_channels, channels, 1, stride=1, bias=False),
        nn.BatchNorm2d(channels),
        nn.ReLU(inplace=False),
    )


class ResidualPhase(nn.Module):
    """Search-time phase: node = Conv3x3 -> BN -> ReLU on ``C`` channels.

    A node (or the output) with several inputs concatenates them and fuses them with a bias-free 1x1 conv
    (``k * C -> C``, no BN); a single input passes through. The phase output is then BN -> ReLU. Despite the
    original's name there is no additive shortcut: the skip bit only adds the phase input to the output's
    concatenation.

    Args:
        graph: the repaired phase graph.
        in_channels: channels entering the phase.
        out_channels: ``C``, the phase's working and output channels.
        first: whether this is the network's first (active) phase.
    """

    def __init__(self, graph: PhaseGraph, in_channels: int, out_channels: int, first: bool) -> None:
        super().__init__()
        self.graph = graph
        self.output_id = len(graph.inputs) + 1
        self.entry = entry_conv(in_channels, out_channels, first)
        self.nodes = nn.ModuleDict()
        self.fuse = nn.ModuleDict()
        for node in graph.active_nodes:
            self.nodes[str(node)] = residual_node(out_channels)
        for node, preds in self._readers():
            if len(preds) > 1:
                self.fuse[str(node)] = residual_fuse(len(preds), out_channels)
        self.out = residual_output(out_channels)

    def _readers(self) -> list[tuple[int, tuple[int, ...]]]:
        built = [(node, self.graph.inputs[node - 1]) for node in self.graph.active_nodes]
        return built + [(self.output_id, self.graph.output)]  # type: ignore[list-item]

    def _gather(self, node: int, preds: tuple[int, ...], outputs: dict[int, Tensor]) -> Tensor:
        x = torch.cat([outputs[p] for p in preds], dim=1)  # (N, k * C, H, W)
        key = str(node)
        return self.fuse[key](x) if key in self.fuse else x  # (N, C, H, W)

    def forward(self, x: Tensor) -> Tensor:
        """(N, C_in, H, W) -> (N, C, H', W'); ``H' = H - 2`` for the first phase when it changes channels."""
        if self.entry is not None:
            x = self.entry(x)  # (N, C, H', W')
        outputs = {0: x}
        for node, preds in self._readers()[:-1]:
            outputs[node] = self.nodes[str(node)](self._gather(node, preds, outputs))  # (N, C, H', W')
        return self.out(self._gather(self.output_id, self.graph.output, outputs))


class DensePhase(nn.Module):
    """Published-model phase: DenseNet bottleneck nodes with growth 64.

    A node reads the plain concatenation of its inputs (the phase input counts ``C`` channels, every node 64)
    and computes BN -> ReLU -> Conv1x1(-> 256) -> BN -> ReLU -> Conv3x3(256 -> 64). The output concatenates
    its nodes, then the phase input if the skip bit is set, and maps them with Conv1x1(-> C) -> BN -> ReLU.
    (The original concatenates along the batch dimension when ``C == 64``; here it is always channels.)

    Args:
        graph: the repaired phase graph.
        in_channels: channels entering the phase.
        out_channels: ``C``, the channels of the phase input (after the entry conv) and of its output.
        first: whether this is the network's first (active) phase.
    """

    def __init__(self, graph: PhaseGraph, in_channels: int, out_channels: int, first: bool) -> None:
        super().__init__()
        self.graph = graph
        self.entry = entry_conv(in_channels, out_channels, first)
        self.nodes = nn.ModuleDict()
        for node in graph.active_nodes:
            node_in = sum(out_channels if p == 0 else DENSE_GROWTH for p in graph.inputs[node - 1])
            self.nodes[str(node)] = dense_node(node_in)
        # Output order: the nodes ascending, then the phase input (as the original orders them).
        self.output_order = tuple(p for p in graph.output if p != 0) + ((0,) if 0 in graph.output else ())
        out_in = sum(out_channels if p == 0 else DENSE_GROWTH for p in self.output_order)
        self.out = dense_output(out_in, out_channels)

    def forward(self, x: Tensor) -> Tensor:
        """(N, C_in, H, W) -> (N, C, H', W'); ``H' = H - 2`` for the first phase when it changes channels."""
        if self.entry is not None:
            x = self.entry(x)  # (N, C, H', W')
        outputs = {0: x}
        for node in self.graph.active_nodes:
            preds = self.graph.inputs[node - 1]
            inputs = torch.cat([outputs[p] for p in preds], dim=1)  # (N, sum of input channels, H', W')
            outputs[node] = self.nodes[str(node)](inputs)  # (N, 64, H', W')
        return self.out(torch.cat([outputs[p] for p in self.output_order], dim=1))  # (N, C, H', W')
