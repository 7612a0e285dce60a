"""Macro-space network (the original's ``EvoNetwork``): active phases, 2x2 max pools, GAP and a Linear.

Only the entry convolutions that are applied are built. The original also constructs the entry conv of every
phase whose channel count does not change and never uses it; for the published dense model (128 channels in
every phase) that is two 1x1 128->128 convolutions, 32,768 parameters: this network has 3.34M parameters where
the original reports 3.37M. Pretrained checkpoints still load (:mod:`nsga_lightning.nn.pretrained` drops those
keys on purpose).
"""

from __future__ import annotations

from collections.abc import Sequence

from torch import Tensor, nn

from nsga_lightning.nn.base import ArchitectureNetwork
from nsga_lightning.nn.phases import DensePhase, ResidualPhase
from nsga_lightning.spaces.macro import MacroGenotype

DECODERS: dict[str, type[nn.Module]] = {"residual": ResidualPhase, "dense": DensePhase}
IN_CHANNELS = 3


class MacroNetwork(ArchitectureNetwork):
    """Phases decoded from a macro genotype.

    Vanished phases are dropped together with their pooling layer, and the channel list is truncated from the
    front (the ``k``-th active phase gets ``channels[k]``), as in the original. With no active phase the body
    is the identity and the classifier reads the averaged raw image. There is no auxiliary head and no drop
    path (``drop_path_prob`` is accepted and ignored).

    Args:
        genotype: the decoded macro genome.
        num_classes: number of classes.
        channels: output channels of each phase, one per phase of the genotype (e.g. ``[C, 2C, 4C]`` for
            search, ``[128, 128, 128]`` for the published model).
        decoder: ``"residual"`` (search-time) or ``"dense"`` (published model).
        input_size: side of the square input images, used to size the head's average pooling.

    Raises:
        ValueError: for an unknown decoder, a wrong number of channels or a non-positive value.
    """

    space = "macro"

    def __init__(
        self,
        genotype: MacroGenotype,
        *,
        num_classes: int = 10,
        channels: Sequence[int] = (16, 32, 64),
        decoder: str = "residual",
        input_size: int = 32,
    ) -> None:
        super().__init__()
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
        if input_size < 4:
            raise ValueError(f"input_size must be >= 4, got {input_size}")
        self.genotype = genotype
        self.decoder = decoder
        self.channels = tuple(channels)
        phase_class = DECODERS[decoder]
        phases = []
        size, in_channels = input_size, IN_CHANNELS
        for k, graph in enumerate(genotype.active_phases):
            out_channels = channels[k]  # truncated from the front, as the original does
            phase = phase_class(graph, in_channels, out_channels, first=k == 0)
            phases.append(phase)
            if phase.entry is not None and k == 0:
                size -= 2  # unpadded 3x3 entry conv
            if k > 0:
                size //= 2  # the max pool before this phase
            in_channels = out_channels
        self.phases = nn.ModuleList(phases)
        self.pool = nn.MaxPool2d(kernel_size=2, stride=2)
        self.feature_size = size
        self.global_pooling = nn.AvgPool2d(kernel_size=size, stride=1)
        self.classifier = nn.Linear(in_channels, num_classes)

    def forward(self, x: Tensor) -> tuple[Tensor, None]:
        """Images ``(N, 3, 32, 32)`` -> ``(logits (N, classes), None)``."""
        for k, phase in enumerate(self.phases):
            if k > 0:
                x = self.pool(x)  # (N, C_k-1, H/2, W/2)
            x = phase(x)  # (N, C_k, H_k, W_k)
        pooled = self.global_pooling(x).flatten(1)  # (N, C_last)
        return self.classifier(pooled), None
