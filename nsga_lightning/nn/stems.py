"""Stems: the layers between the input images and the first cell (micro) or phase (macro).

Which stem takes which image sizes, and how ``auto`` chooses, is in :mod:`nsga_lightning.nn.input_size`.
A micro stem returns the two inputs of the first cell, ``(s0, s1)``, on ``out_channels`` channels; its
``reduction_prev`` says whether ``s0`` has twice the side of ``s1`` (the first cell then reads it through a
FactorizedReduce, as a cell after a reduction cell does).
"""

from __future__ import annotations

from torch import Tensor, nn

STEM_MULTIPLIER = 3  # the cifar micro stem's channels, in units of the first cell's channels C


def _conv3x3(in_channels: int, out_channels: int, stride: int) -> nn.Conv2d:
    return nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=False)


class CIFARStem(nn.Sequential):
    """The published micro stem: Conv3x3(in -> out, stride 1) -> BN; both inputs of the first cell are its output.

    Its state_dict keys (``0.weight``, ``1.*``) are those of the original ``NetworkCIFAR`` stem.

    Args:
        in_channels: channels of the input images.
        out_channels: ``3C``.
    """

    reduction_prev = False  # s0 and s1 are the same map

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__(_conv3x3(in_channels, out_channels, 1), nn.BatchNorm2d(out_channels))
        self.out_channels = out_channels

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:  # type: ignore[override]
        """Images ``(N, C_in, S, S)`` -> ``(s0, s1)``, the same ``(N, 3C, S, S)`` map twice."""
        y = super().forward(x)  # (N, 3C, S, S)
        return y, y


class ImageNetStem(nn.Module):
    """The ImageNet stems of NASNet/DARTS: three stride-2 3x3 convolutions before the first cell.

    ``stem0``: Conv3x3 stride 2 (in -> C/2) -> BN -> ReLU -> Conv3x3 stride 2 (C/2 -> C) -> BN, the first cell's
    input 0 at 1/4 of the image side (which that cell reduces with a FactorizedReduce, as after a reduction
    cell); ``stem1``: ReLU -> Conv3x3 stride 2 (C -> C) -> BN, its input 1 at 1/8 (224 -> 56 and 28).

    Args:
        in_channels: channels of the input images.
        channels: ``C``, the channels of both outputs (the first stride-2 convolution has ``max(C // 2, 1)``).
    """

    reduction_prev = True  # s0 has twice the side of s1

    def __init__(self, in_channels: int, channels: int) -> None:
        super().__init__()
        half = max(channels // 2, 1)
        self.stem0 = nn.Sequential(
            _conv3x3(in_channels, half, 2),
            nn.BatchNorm2d(half),
            nn.ReLU(inplace=False),
            _conv3x3(half, channels, 2),
            nn.BatchNorm2d(channels),
        )
        self.stem1 = nn.Sequential(nn.ReLU(inplace=False), _conv3x3(channels, channels, 2), nn.BatchNorm2d(channels))
        self.out_channels = channels

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """Images ``(N, C_in, S, S)`` -> ``(s0 (N, C, S/4, S/4), s1 (N, C, S/8, S/8))`` (sides rounded up)."""
        s0 = self.stem0(x)  # (N, C, S/4, S/4)
        return s0, self.stem1(s0)  # (N, C, S/8, S/8)


def micro_stem(stem: str, in_channels: int, init_channels: int) -> CIFARStem | ImageNetStem:
    """The stem of a micro network whose first cell works on ``init_channels`` (``C``) channels.

    Args:
        stem: ``"cifar"`` (:class:`CIFARStem` to ``3C`` channels) or ``"imagenet"`` (:class:`ImageNetStem` to ``C``).
        in_channels: channels of the input images.
        init_channels: ``C``.

    Raises:
        ValueError: for another ``stem`` (resolve ``"auto"`` first: ``nsga_lightning.nn.input_size.resolve_stem``).
    """
    if stem == "cifar":
        return CIFARStem(in_channels, STEM_MULTIPLIER * init_channels)
    if stem == "imagenet":
        return ImageNetStem(in_channels, init_channels)
    raise ValueError(f"unknown resolved stem {stem!r}; allowed: cifar, imagenet")


class MacroImageNetStem(nn.Sequential):
    """The macro space's counterpart of the ImageNet stem (this package's own design; the original has none).

    Conv3x3 stride 2 (in -> C) -> BN -> ReLU -> Conv3x3 stride 2 (C -> C) -> BN -> ReLU -> MaxPool 2x2 stride 2:
    the image side divided by 8 (224 -> 28) with the macro network's own pooling, ending in the first active
    phase's channels ``C`` so that the phase needs no entry convolution. Three phases then work at 28, 14 and 7,
    as they work at 30, 15 and 7 on CIFAR with the cifar stem (the first phase's unpadded entry convolution).

    Args:
        in_channels: channels of the input images.
        channels: ``C``, the first active phase's channels.
    """

    def __init__(self, in_channels: int, channels: int) -> None:
        super().__init__(
            _conv3x3(in_channels, channels, 2),
            nn.BatchNorm2d(channels),
            nn.ReLU(inplace=False),
            _conv3x3(channels, channels, 2),
            nn.BatchNorm2d(channels),
            nn.ReLU(inplace=False),
            nn.MaxPool2d(kernel_size=2, stride=2),
        )
        self.out_channels = channels
