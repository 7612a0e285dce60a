"""Macro-space network (the original's ``EvoNetwork``): active phases, 2x2 max pools, GAP and a Linear.

Only the entry convolutions that are applied are built. The original also constructs the entry conv of every
phase whose channel count does not change and never uses it; for the published dense model (128 channels in
every phase) that is two 1x1 128->128 convolutions, 32,768 parameters: this network has 3.34M parameters where
the original reports 3.37M. Pretrained checkpoints still load (:mod:`nsga_lightning.nn.pretrained` drops those
keys on purpose).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch.nn.functional as F
from torch import Tensor, nn

from nsga_lightning.nn.base import ArchitectureNetwork, check_in_channels
from nsga_lightning.nn.input_size import macro_feature_size, resolve_stem
from nsga_lightning.nn.phases import DensePhase, ResidualPhase
from nsga_lightning.nn.stems import MacroImageNetStem
from nsga_lightning.spaces.macro import MacroGenotype

DECODERS: dict[str, type[nn.Module]] = {"residual": ResidualPhase, "dense": DensePhase}


class MacroNetwork(ArchitectureNetwork):
    """Phases decoded from a macro genotype.

    Vanished phases are dropped together with their pooling layer, and the channel list is truncated from the
    front (the ``k``-th active phase gets ``channels[k]``), as in the original. With no active phase the body
    is the identity and the classifier reads the averaged raw image (or the imagenet stem's output). There is no
    auxiliary head and no drop path (``drop_path_prob`` is accepted and ignored).

    With the ``cifar`` stem (the original's) the first active phase's unpadded 3x3 entry convolution is the stem;
    the ``imagenet`` stem (:class:`~nsga_lightning.nn.stems.MacroImageNetStem`, this package's own) divides the
    image side by 8 with two stride-2 convolutions and a max pool before the first phase.

    Args:
        genotype: the decoded macro genome.
        num_classes: number of classes.
        channels: output channels of each phase, one per phase of the genotype (e.g. ``[C, 2C, 4C]`` for
            search, ``[128, 128, 128]`` for the published model).
        decoder: ``"residual"`` (search-time) or ``"dense"`` (published model).
        image_size: side of the square images the network is built for (and its MAdds are counted at);
            refused when the stem and the poolings of the active phases leave no pixel (see
            :mod:`nsga_lightning.nn.input_size`). The classifier averages whatever map is left, so the network
            also runs at other sizes.
        in_channels: channels of the input images (3: RGB; 1: grey; 4 or more: e.g. multispectral).
        stem: ``"cifar"``, ``"imagenet"`` or ``"auto"`` (imagenet from 96 pixels, else cifar).

    Raises:
        ValueError: for an unknown decoder or stem, a wrong number of channels, a non-positive value or an
            ``image_size`` too small for the stem and the active phases.
    """

    space = "macro"

    def __init__(
        self,
        genotype: MacroGenotype,
        *,
        num_classes: int = 10,
        channels: Sequence[int] = (16, 32, 64),
        decoder: str = "residual",
        image_size: int = 32,
        in_channels: int = 3,
        stem: str = "auto",
    ) -> None:
        super().__init__()
        channels = _check_options(genotype, num_classes, channels, decoder)
        check_in_channels(in_channels)
        self.stem_type = resolve_stem(stem, image_size)
        self.genotype = genotype
        self.decoder = decoder
        self.channels = tuple(channels)
        self.in_channels = in_channels
        # the imagenet stem ends in the first active phase's channels, which then needs no entry convolution
        self.stem = MacroImageNetStem(in_channels, channels[0]) if self.stem_type == "imagenet" else None
        phase_class = DECODERS[decoder]
        phases = []
        width = channels[0] if self.stem is not None else in_channels
        for k, graph in enumerate(genotype.active_phases):
            out_channels = channels[k]  # truncated from the front, as the original does
            phases.append(phase_class(graph, width, out_channels, first=k == 0))
            width = out_channels
        # the stem (the first phase's unpadded 3x3 entry conv, if any, or the imagenet stem) and a max pool
        # before every later phase
        entry = bool(phases) and phases[0].entry is not None
        self.feature_size = macro_feature_size(image_size, len(phases), entry, stem)
        self.image_size = image_size
        self.phases = nn.ModuleList(phases)
        self.pool = nn.MaxPool2d(kernel_size=2, stride=2)
        # the original's AvgPool2d(kernel = the final map side) for the built image_size: an average over the
        # whole map, whatever its size (uncounted by both MAdds counters, as that pooling is)
        self.global_pooling = GlobalAvgPool()
        self.classifier = nn.Linear(width, num_classes)

    def forward(self, x: Tensor) -> tuple[Tensor, None]:
        """Images ``(N, in_channels, S, S)`` -> ``(logits (N, classes), None)``."""
        if self.stem is not None:
            x = self.stem(x)  # (N, C_0, S/8, S/8)
        for k, phase in enumerate(self.phases):
            if k > 0:
                x = self.pool(x)  # (N, C_k-1, H/2, W/2)
            x = phase(x)  # (N, C_k, H_k, W_k)
        pooled = self.global_pooling(x).flatten(1)  # (N, C_last)
        return self.classifier(pooled), None


def _check_options(genotype: MacroGenotype, num_classes: int, channels: Sequence[int], decoder: str) -> list[int]:
    """Check the options of :class:`MacroNetwork`; returns ``channels`` as a list of ints."""
    if decoder not in DECODERS:
        raise ValueError(f"unknown macro decoder {decoder!r}; allowed: {', '.join(DECODERS)}")
    channels = [int(c) for c in channels]
    if len(channels) != len(genotype.phases) or any(c < 1 for c in channels):
        raise ValueError(
            f"channels must list {len(genotype.phases)} positive per-phase output channels, "
            f"got {channels}"
        )
    if num_classes < 1:
        raise ValueError(f"num_classes must be >= 1, got {num_classes}")
    return channels


class GlobalAvgPool(nn.Module):
    """Average every channel over its whole map: ``(N, C, H, W) -> (N, C, 1, 1)``.

    What the original's ``AvgPool2d(kernel_size=final side)`` computes at its one input size, at any size.
    """

    def forward(self, x: Tensor) -> Tensor:
        """(N, C, H, W) -> (N, C, 1, 1)."""
        return F.avg_pool2d(x, kernel_size=x.shape[-2:])
