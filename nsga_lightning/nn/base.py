"""The one small interface every architecture network exposes."""

from __future__ import annotations

from torch import Tensor, nn


class ArchitectureNetwork(nn.Module):
    """Base of every network built from a genotype.

    ``forward(x)`` returns ``(logits, aux_logits)``; ``aux_logits`` is ``None`` unless the network has an
    auxiliary head and is in training mode. ``drop_path_prob`` is the drop-path probability used in training
    (networks without drop path ignore it); ``auxiliary_head`` is the auxiliary classifier or ``None``.

    Attributes:
        space: ``"micro"`` or ``"macro"``.
        auxiliary_head: the auxiliary classifier module, or ``None``.
    """

    space: str = ""

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
        """Map images ``(N, 3, H, W)`` to ``(logits (N, classes), aux_logits (N, classes) or None)``."""
        raise NotImplementedError
