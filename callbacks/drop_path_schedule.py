"""DropPathSchedule: ramp the drop-path probability linearly over the training epochs."""

from __future__ import annotations

from typing import Any

from lightning.pytorch import Callback, LightningModule, Trainer
from typing_extensions import override


class DropPathSchedule(Callback):
    """Set ``drop_path_prob * epoch / max_epochs`` at the start of every training epoch (0 at the first).

    This is the original NSGA-Net schedule. The final probability is the module's ``drop_path_prob``
    hyperparameter unless ``drop_path_prob`` is given here.

    Args:
        drop_path_prob: override of the final probability; ``None`` reads ``pl_module.hparams.drop_path_prob``.

    Raises:
        ValueError: if the probability is outside [0, 1).
    """

    def __init__(self, drop_path_prob: float | None = None) -> None:
        if drop_path_prob is not None and not 0.0 <= drop_path_prob < 1.0:
            raise ValueError(f"drop_path_prob must be in [0, 1), got {drop_path_prob}")
        self.drop_path_prob = drop_path_prob
        self.current = 0.0

    def _target(self, pl_module: LightningModule) -> float:
        if self.drop_path_prob is not None:
            return self.drop_path_prob
        return float(getattr(pl_module.hparams, "drop_path_prob", 0.0))

    @override
    def on_train_epoch_start(self, trainer: Trainer, pl_module: LightningModule) -> None:
        epochs = trainer.max_epochs if trainer.max_epochs and trainer.max_epochs > 0 else 1
        self.current = self._target(pl_module) * trainer.current_epoch / epochs
        pl_module.network.drop_path_prob = self.current
        for logger in trainer.loggers:  # loggers write on rank zero only
            logger.log_metrics({"train/drop_path_prob": self.current}, step=trainer.global_step)

    @override
    def state_dict(self) -> dict[str, Any]:
        return {"current": self.current}

    @override
    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.current = float(state_dict["current"])
