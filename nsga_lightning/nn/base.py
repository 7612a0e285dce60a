"""The one small interface every architecture network exposes."""

from __future__ import annotations

import numbers

from torch import Tensor, nn


def check_in_channels(in_channels: int) -> None:
    """Refuse an ``in_channels`` that is not a positive integer.

    Raises:
        ValueError: naming the option.
    """
    if isinstance(in_channels, bool) or not isinstance(in_channels, numbers.Integral) or in_channels < 1:
        raise ValueError(f"in_channels must be a positive integer (the channels of the input images: 3 for RGB, "
                         f"1 for grey), got {in_channels!r}")


class ArchitectureNetwork(nn.Module):
    """Base of every network built from a genotype.

    ``forward(x)`` returns ``(logits, aux_logits)``; ``aux_logits`` is ``None`` unless the network has an
    auxiliary head and is in training mode. ``drop_path_prob`` is the drop-path probability used in training
    (networks without drop path ignore it); ``auxiliary_head`` is the auxiliary classifier or ``None``.

    Attributes:
        space: ``"micro"`` or ``"macro"``.
        auxiliary_head: the auxiliary classifier module, or ``None``.
        image_size: side of the square images the network is built for.
        in_channels: channels of the input images.
        stem_type: the stem it is built with, ``"cifar"`` or ``"imagenet"``.
    """

    space: str = ""
    image_size: int = 32
    in_channels: int = 3
    stem_type: str = "cifar"

    def __init__(self) -> None:
        super().__init__()
        self._drop_path_prob = 0.0
        self.auxiliary_head: nn.Module | None = None

    @property
    def drop_path_prob(self) -> float:
        """Drop-path probability applied in training mode (0 disables it)."""
        return self._drop_path_prob

    @drop_path_prob.setter
    def drop_path_prob(self, value: float) -> None:
        value = float(value)
        if not 0.0 <= value < 1.0:
            raise ValueError(f"drop_path_prob must be in [0, 1), got {value}")
        self._drop_path_prob = value

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor | None]:  # pragma: no cover - abstract
        """Map images ``(N, in_channels, H, W)`` to ``(logits (N, classes), aux_logits (N, classes) or None)``."""
        raise NotImplementedError

    def input_shape(self, batch: int = 1) -> tuple[int, int, int, int]:
        """The shape of a batch of the images the network is built for: ``(batch, in_channels, S, S)``."""
        return batch, self.in_channels, self.image_size, self.image_size
