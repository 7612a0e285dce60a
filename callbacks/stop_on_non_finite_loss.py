"""StopOnNonFiniteLoss: fail a training run at its first NaN or infinite loss."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from lightning.pytorch import Callback, LightningModule, Trainer
from typing_extensions import override


class NonFiniteLossError(FloatingPointError):
    """Training produced a NaN or infinite loss."""


class StopOnNonFiniteLoss(Callback):
    """Fail the candidate at the first non-finite training loss instead of training on garbage.

    On the CPU every step is checked. On an accelerator the check would stall the device every step, so
    non-finite losses are flagged on the device and the flag is read every ``every`` steps and at each
    epoch end.

    Args:
        every: read the device flag every this many steps (accelerators).
        check_every_step: ``None`` decides by the loss's device (CPU: every step); ``False`` forces the
            deferred flag, ``True`` the per-step check.
    """

    def __init__(self, every: int = 50, check_every_step: bool | None = None) -> None:
        if every < 1:
            raise ValueError(f"every must be >= 1, got {every}")
        self.every = every
        self.check_every_step = check_every_step
        self.flag: torch.Tensor | None = None

    @override
    def on_train_batch_end(self, trainer: Trainer, pl_module: LightningModule, outputs: Any, batch: Any,
                           batch_idx: int) -> None:
        loss = outputs["loss"] if isinstance(outputs, Mapping) else outputs
        if loss is None:
            return
        loss = loss.detach()
        every_step = self.check_every_step
        if every_step is None:
            every_step = loss.device.type == "cpu"
        if every_step:
            if not torch.isfinite(loss).all():
                raise NonFiniteLossError(f"non-finite training loss {loss.item()} at epoch "
                                         f"{trainer.current_epoch}, batch {batch_idx}")
            return
        bad = ~torch.isfinite(loss).all()
        self.flag = bad if self.flag is None else self.flag | bad
        if (batch_idx + 1) % self.every == 0:
            self._check(trainer)

    @override
    def on_train_epoch_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        self._check(trainer)

    def _check(self, trainer: Trainer) -> None:
        if self.flag is not None and bool(self.flag):
            raise NonFiniteLossError(f"non-finite training loss in epoch {trainer.current_epoch} "
                                     f"(checked every {self.every} batches)")
        self.flag = None
