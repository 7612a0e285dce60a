"""Cell operations of the micro space, composed exactly as the original NSGA-Net (DARTS lineage) does.

Every convolution is bias-free and every BatchNorm is affine. ``OP_BUILDERS`` is the single table that maps an
operation name to a builder with the signature ``(channels, stride)``; the searchable list
:data:`nsga_lightning.spaces.OPS` must be a subset of it (checked by a test).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor, nn


def drop_path(x: Tensor, p: float) -> Tensor:
    """Zero whole samples with probability ``p`` and rescale the kept ones by ``1 / (1 - p)``.

    Works on any device and dtype; nothing is modified in place, so autograd is safe.

    Args:
        x: a batch ``(N, ...)``.
        p: drop probability in ``[0, 1)``; ``0`` returns ``x`` itself.

    Returns:
        ``x`` scaled per sample, same shape.

    Raises:
        ValueError: if ``p`` is outside ``[0, 1)``.
    """
    if not 0.0 <= p < 1.0:
        raise ValueError(f"drop path probability must be in [0, 1), got {p}")
    if p == 0.0:
        return x
    keep = 1.0 - p
    mask_shape = (x.shape[0],) + (1,) * (x.dim() - 1)  # (N, 1, 1, 1)
    mask = torch.empty(mask_shape, device=x.device, dtype=x.dtype).bernoulli_(keep)
    return x / keep * mask  # (N, C, H, W)


class ReLUConvBN(nn.Sequential):
    """ReLU -> Conv k x k (no bias) -> BN. Used as the 1x1 cell preprocessing.

    Args:
        in_channels: input channels.
        out_channels: output channels.
        kernel_size: convolution kernel size.
        stride: convolution stride.
        padding: convolution padding.
    """

    def __init__(
        self, in_channels: int, out_channels: int, kernel_size: int = 1, stride: int = 1, padding: int = 0
    ) -> None:
        super().__init__(
            nn.ReLU(inplace=False),
            nn.Conv2d(in_channels, out_channels, kernel_size, stride=stride, padding=padding, bias=False),
            nn.BatchNorm2d(out_channels, affine=True),
        )


class FactorizedReduce(nn.Module):
    """Halve the resolution by two offset 1x1 stride-2 convolutions: ReLU -> [conv(x), conv(x shifted)] -> BN.

    Args:
        in_channels: input channels.
        out_channels: output channels; must be even (each branch gives half).

    Raises:
        ValueError: if ``out_channels`` is odd.
    """

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        if out_channels % 2:
            raise ValueError(f"FactorizedReduce needs an even number of output channels, got {out_channels}")
        self.relu = nn.ReLU(inplace=False)
        self.conv_even = nn.Conv2d(in_channels, out_channels // 2, 1, stride=2, padding=0, bias=False)
        self.conv_odd = nn.Conv2d(in_channels, out_channels // 2, 1, stride=2, padding=0, bias=False)
        self.bn = nn.BatchNorm2d(out_channels, affine=True)

    def forward(self, x: Tensor) -> Tensor:
        """(N, C_in, H, W) -> (N, C_out, H/2, W/2)."""
        x = self.relu(x)
        even = self.conv_even(x)  # (N, C_out/2, H/2, W/2), pixels (0, 0), (0, 2), ...
        odd = self.conv_odd(x[:, :, 1:, 1:])  # (N, C_out/2, H/2, W/2), pixels (1, 1), (1, 3), ...
        return self.bn(torch.cat([even, odd], dim=1))


class SepConv(nn.Sequential):
    """Two stacked separable units, each ReLU -> depthwise k x k -> pointwise 1x1 -> BN.

    Only the first depthwise convolution carries the stride.

    Args:
        channels: input and output channels.
        kernel_size: 3, 5 or 7 (padding is ``kernel_size // 2``).
        stride: stride of the first depthwise convolution.
    """

    def __init__(self, channels: int, kernel_size: int, stride: int) -> None:
        super().__init__(
            _separable_unit(channels, kernel_size, stride, dilation=1),
            _separable_unit(channels, kernel_size, 1, dilation=1),
        )


class DilConv(nn.Sequential):
    """One dilated separable unit: ReLU -> depthwise k x k, dilation 2 -> pointwise 1x1 -> BN.

    Args:
        channels: input and output channels.
        kernel_size: 3 or 5 (padding 2 or 4 keeps the size at stride 1).
        stride: stride of the depthwise convolution.
    """

    def __init__(self, channels: int, kernel_size: int, stride: int) -> None:
        super().__init__(*_separable_unit(channels, kernel_size, stride, dilation=2))


def _separable_unit(channels: int, kernel_size: int, stride: int, dilation: int) -> nn.Sequential:
    padding = dilation * (kernel_size - 1) // 2
    return nn.Sequential(
        nn.ReLU(inplace=False),
        nn.Conv2d(
            channels,
            channels,
            kernel_size,
            stride=stride,
            padding=padding,
            dilation=dilation,
            groups=channels,
            bias=False,
        ),
        nn.Conv2d(channels, channels, 1, padding=0, bias=False),
        nn.BatchNorm2d(channels, affine=True),
    )


class Conv7x1x1x7(nn.Sequential):
    """ReLU -> Conv 1x7 (stride (1, s)) -> Conv 7x1 (stride (s, 1)) -> BN; full convolutions, nothing between.

    Args:
        channels: input and output channels.
        stride: total stride ``s``.
    """

    def __init__(self, channels: int, stride: int) -> None:
        super().__init__(
            nn.ReLU(inplace=False),
            nn.Conv2d(channels, channels, (1, 7), stride=(1, stride), padding=(0, 3), bias=False),
            nn.Conv2d(channels, channels, (7, 1), stride=(stride, 1), padding=(3, 0), bias=False),
            nn.BatchNorm2d(channels, affine=True),
        )


class Zero(nn.Module):
    """Output zeros (subsampled at stride 2). Defined for completeness; not searchable.

    Args:
        stride: 1 or 2.
    """

    def __init__(self, stride: int) -> None:
        super().__init__()
        self.stride = stride

    def forward(self, x: Tensor) -> Tensor:
        """(N, C, H, W) -> (N, C, H/s, W/s) of zeros."""
        if self.stride == 1:
            return x.mul(0.0)
        return x[:, :, :: self.stride, :: self.stride].mul(0.0)


class SELayer(nn.Module):
    """Squeeze-and-excitation: GAP -> Linear(c -> c/r) -> ReLU -> Linear(c/r -> c) -> sigmoid -> rescale.

    Both linear layers are bias-free. The hidden width is ``max(1, channels // reduction)`` (the original uses
    ``channels // reduction``, which is the same for every network with at least ``reduction`` channels).

    Args:
        channels: channels of the input.
        reduction: squeeze ratio.
    """

    def __init__(self, channels: int, reduction: int = 16) -> None:
        super().__init__()
        hidden = max(1, channels // reduction)
        self.squeeze = nn.AdaptiveAvgPool2d(1)
        self.excite = nn.Sequential(
            nn.Linear(channels, hidden, bias=False),
            nn.ReLU(inplace=False),
            nn.Linear(hidden, channels, bias=False),
            nn.Sigmoid(),
        )

    def forward(self, x: Tensor) -> Tensor:
        """(N, C, H, W) -> (N, C, H, W), each channel rescaled by a weight in (0, 1)."""
        n, c = x.shape[:2]
        weights = self.excite(self.squeeze(x).view(n, c))  # (N, C)
        return x * weights.view(n, c, 1, 1)


def _skip(channels: int, stride: int) -> nn.Module:
    return nn.Identity() if stride == 1 else FactorizedReduce(channels, channels)


OP_BUILDERS: dict[str, Callable[[int, int], nn.Module]] = {
    "none": lambda c, s: Zero(s),
    "max_pool_3x3": lambda c, s: nn.MaxPool2d(3, stride=s, padding=1),
    "avg_pool_3x3": lambda c, s: nn.AvgPool2d(3, stride=s, padding=1, count_include_pad=False),
    "skip_connect": _skip,
    "sep_conv_3x3": lambda c, s: SepConv(c, 3, s),
    "sep_conv_5x5": lambda c, s: SepConv(c, 5, s),
    "sep_conv_7x7": lambda c, s: SepConv(c, 7, s),
    "dil_conv_3x3": lambda c, s: DilConv(c, 3, s),
    "dil_conv_5x5": lambda c, s: DilConv(c, 5, s),
    "conv_7x1_1x7": lambda c, s: Conv7x1x1x7(c, s),
}


def build_op(name: str, channels: int, stride: int) -> nn.Module:
    """Build operation ``name`` on ``channels`` channels with ``stride`` (1 or 2).

    Raises:
        ValueError: for an unknown name (listing the known ones) or a stride other than 1 or 2.
    """
    if name not in OP_BUILDERS:
        raise ValueError(f"unknown operation {name!r}; allowed: {', '.join(OP_BUILDERS)}")
    if stride not in (1, 2):
        raise ValueError(f"operation stride must be 1 or 2, got {stride}")
    return OP_BUILDERS[name](channels, stride)
