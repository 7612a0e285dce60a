"""The micro cell and the auxiliary heads (CIFAR and ImageNet stems)."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from nsga_lightning.nn.ops import FactorizedReduce, ReLUConvBN, SELayer, build_op, drop_path
from nsga_lightning.spaces.micro import live_nodes

Unit = tuple[str, int]


class Cell(nn.Module):
    """One normal or reduction cell.

    The two inputs are preprocessed to ``channels`` channels (input 0 by a FactorizedReduce when the previous
    cell reduced, so both inputs share a resolution; otherwise by ReLU-Conv1x1-BN). Block ``b`` outputs
    ``op_A(in_A) + op_B(in_B)``; in a reduction cell the ops that read input 0 or 1 have stride 2. The output
    is the channel concatenation of the ``concat`` nodes, optionally rescaled by a squeeze-and-excitation
    layer.

    A node the output does not depend on (a cell input no op reads, e.g. a reduction cell whose ops all read
    input 1, or a block neither read nor concatenated) keeps its layers, so parameter counts and checkpoints
    match the original, but it is not computed, and its parameters are frozen (``requires_grad=False``): they
    could never receive a gradient, and DDP refuses parameters that do not.

    Args:
        units: ``(op, input)`` pairs, two per block; input 0/1 are the cell inputs, ``k >= 2``
            block ``k - 2``.
        concat: node ids (``>= 2``) concatenated into the output.
        in_channels_prev_prev: channels of the cell input two steps back.
        in_channels_prev: channels of the previous cell's output.
        channels: working channels of this cell.
        reduction: whether this cell halves the resolution.
        reduction_prev: whether the previous cell halved the resolution.
        se: add a squeeze-and-excitation layer on the output.

    Raises:
        ValueError: for an unknown op, an out-of-range input or concat node, or an odd channel count where a
            FactorizedReduce is needed.
    """

    def __init__(
        self,
        units: Sequence[Unit],
        concat: Sequence[int],
        in_channels_prev_prev: int,
        in_channels_prev: int,
        channels: int,
        reduction: bool,
        reduction_prev: bool,
        se: bool = False,
    ) -> None:
        super().__init__()
        if not units or len(units) % 2:
            raise ValueError(f"a cell needs an even, non-zero number of units, got {len(units)}")
        n_nodes = len(units) // 2 + 2
        if not concat or any(not 2 <= c < n_nodes for c in concat):
            raise ValueError(f"concat {list(concat)} must list block nodes in 2..{n_nodes - 1}")
        self.preprocess0 = build_preprocess(in_channels_prev_prev, channels, reduction_prev)
        self.preprocess1 = build_preprocess(in_channels_prev, channels, False)
        self.reduction = reduction
        self.indices = tuple(int(idx) for _, idx in units)
        self.concat = tuple(int(c) for c in concat)
        ops = []
        for position, (name, idx) in enumerate(units):
            if not 0 <= idx <= position // 2 + 1:
                raise ValueError(
                    f"unit {position}: input {idx} outside the allowed range 0..{position // 2 + 1}"
                )
            ops.append(build_cell_op(name, channels, 2 if reduction and idx < 2 else 1))
        self.ops = nn.ModuleList(ops)
        self.out_channels = len(self.concat) * channels
        self.se = SELayer(self.out_channels) if se else None
        self.live = live_nodes(units, self.concat)
        layers_of_node = [[self.preprocess0], [self.preprocess1]]
        layers_of_node += [[self.ops[2 * b], self.ops[2 * b + 1]] for b in range(len(self.ops) // 2)]
        for node, layers in enumerate(layers_of_node):
            if node not in self.live:
                for layer in layers:
                    layer.requires_grad_(False)

    def forward(self, s0: Tensor, s1: Tensor, drop_prob: float = 0.0) -> Tensor:
        """Cell inputs ``(N, C_pp, H, W)`` and ``(N, C_p, H, W)`` -> ``(N, len(concat) * C, H', W')``.

        ``H' = H / 2`` in a reduction cell. Drop path (probability ``drop_prob``) hits every op output except
        identities, in training mode only.
        """
        # 2 x (N, C, H, W); nodes the output does not depend on stay None
        states: list[Tensor | None] = [
            self.preprocess0(s0) if 0 in self.live else None,
            self.preprocess1(s1) if 1 in self.live else None,
        ]
        apply_drop = self.training and drop_prob > 0.0
        for block in range(len(self.ops) // 2):
            if block + 2 not in self.live:
                states.append(None)
                continue
            total = None
            for position in (2 * block, 2 * block + 1):
                op = self.ops[position]
                h = op(states[self.indices[position]])  # (N, C, H', W'); a live node's inputs are live
                if apply_drop and not isinstance(op, nn.Identity):
                    h = drop_path(h, drop_prob)
                total = h if total is None else total + h
            states.append(total)
        out = torch.cat([states[i] for i in self.concat], dim=1)  # (N, len(concat) * C, H', W')
        return out if self.se is None else self.se(out)


def build_preprocess(in_channels: int, channels: int, reduce: bool) -> nn.Module:
    """A cell input's preprocessing to the cell's ``channels``: a FactorizedReduce when ``reduce`` (the input has
    twice the cell's input resolution), else ReLU-Conv1x1-BN.

    Raises:
        ValueError: for odd ``channels`` where a FactorizedReduce is needed.
    """
    if not reduce:
        return ReLUConvBN(in_channels, channels, 1, 1, 0)
    if channels % 2:
        raise ValueError(
            f"a cell whose input 0 has twice its resolution (after a reduction cell, or the first cell after the "
            f"imagenet stem) needs even channels (FactorizedReduce preprocessing), got {channels}; "
            "choose init_channels / filter_increment so that every cell's channel count is even"
        )
    return FactorizedReduce(in_channels, channels)


def build_cell_op(name: str, channels: int, stride: int) -> nn.Module:
    """Operation ``name`` of a cell working on ``channels`` channels (``stride`` 2: it reads a cell input of a
    reduction cell).

    Raises:
        ValueError: for an unknown op, or a stride-2 ``skip_connect`` (a FactorizedReduce) on odd channels.
    """
    if stride == 2 and name == "skip_connect" and channels % 2:
        raise ValueError(f"skip_connect in a reduction cell needs even channels, got {channels}")
    return build_op(name, channels, stride)


class _AuxiliaryHead(nn.Module):
    """ReLU -> AvgPool 5x5 (``pool_stride``, no padding, count_include_pad=False) -> Conv1x1(C -> 128) -> BN ->
    ReLU -> Conv2x2(128 -> 768) -> [BN] -> ReLU -> Linear(768 -> classes); the layer indices are the original's."""

    def __init__(self, in_channels: int, num_classes: int, pool_stride: int, norm_768: bool) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.ReLU(inplace=False),
            nn.AvgPool2d(5, stride=pool_stride, padding=0, count_include_pad=False),
            nn.Conv2d(in_channels, 128, 1, bias=False),
            nn.BatchNorm2d(128),
            nn.ReLU(inplace=False),
            nn.Conv2d(128, 768, 2, bias=False),
            *([nn.BatchNorm2d(768)] if norm_768 else []),
            nn.ReLU(inplace=False),
        )
        self.classifier = nn.Linear(768, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        """(N, C, S, S) -> (N, classes)."""
        x = self.features(x)  # (N, 768, 1, 1)
        return self.classifier(x.flatten(1))


class AuxiliaryHeadCIFAR(_AuxiliaryHead):
    """Auxiliary classifier for an 8x8 feature map: AvgPool stride 3 (8x8 -> 2x2), BN after the 768-channel
    convolution.

    Args:
        in_channels: channels of the feature map.
        num_classes: number of classes.
    """

    def __init__(self, in_channels: int, num_classes: int) -> None:
        super().__init__(in_channels, num_classes, pool_stride=3, norm_768=True)


class AuxiliaryHeadImageNet(_AuxiliaryHead):
    """Auxiliary classifier of the ImageNet stem, for a 7x7 or 8x8 feature map (cell ``2L//3`` at 224 pixels):
    AvgPool stride 2 (7x7 -> 2x2) and, as in DARTS' (and the original's unused) ImageNet head, no BN after the
    768-channel convolution.

    Args:
        in_channels: channels of the feature map.
        num_classes: number of classes.
    """

    def __init__(self, in_channels: int, num_classes: int) -> None:
        super().__init__(in_channels, num_classes, pool_stride=2, norm_768=False)


# the auxiliary head of each (resolved) stem
AUXILIARY_HEADS: dict[str, type[nn.Module]] = {"cifar": AuxiliaryHeadCIFAR, "imagenet": AuxiliaryHeadImageNet}
