"""RungStop: train to a rung of a multi-fidelity schedule so that continuing later is exact."""

from __future__ import annotations

import random
from typing import Any

import numpy as np
import torch
from lightning.pytorch import Callback, LightningModule, Trainer
from typing_extensions import override


def rng_state() -> dict[str, Any]:
    """Every global random state training draws from: torch (CPU and CUDA), numpy and Python, as plain values
    (a checkpoint holding them still loads with ``weights_only=True``)."""
    kind, keys, pos, has_gauss, gauss = np.random.get_state()
    state: dict[str, Any] = {"torch": torch.get_rng_state(), "numpy": [kind, keys.tolist(), pos, has_gauss, gauss],
                             "python": random.getstate()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    """Restore what :func:`rng_state` returned."""
    torch.set_rng_state(state["torch"])
    kind, keys, pos, has_gauss, gauss = state["numpy"]
    np.random.set_state((kind, np.asarray(keys, dtype=np.uint32), pos, has_gauss, gauss))
    version, internal, gauss_next = state["python"]
    random.setstate((version, tuple(internal), gauss_next))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


class RungStop(Callback):
    """Stop ``fit`` after ``stop_epoch`` epochs of a run scheduled over ``trainer.max_epochs``, validated there,
    and make a checkpoint saved then continue exactly: training to ``e1``, saving, and fitting again from that
    checkpoint (with a ``RungStop`` of a later epoch) gives the weights and the error of training straight on.

    What makes it exact: the learning-rate and drop-path schedules stay defined over ``max_epochs`` (the
    Trainer's); Lightning's checkpoint restores the model, optimizer, scheduler, loop counters and callback
    states; this callback adds the global random states (torch, CUDA, numpy, Python: the sampler's shuffle
    and the augmentation draw from them) to the checkpoint and restores them before the first continued
    epoch; and validation draws nothing from the training stream (its random states are put back after it),
    so validating at a rung or not changes no later epoch.

    Validation runs after epoch ``stop_epoch`` and after the last epoch only.

    Args:
        stop_epoch: the epochs to reach in this ``fit`` (``>= 1``; at most ``max_epochs``).

    Raises:
        ValueError: if ``stop_epoch`` is below 1.
    """

    def __init__(self, stop_epoch: int) -> None:
        if isinstance(stop_epoch, bool) or not isinstance(stop_epoch, int) or stop_epoch < 1:
            raise ValueError(f"stop_epoch must be an integer >= 1, got {stop_epoch!r}")
        self.stop_epoch = stop_epoch
        self._before_validation: dict[str, Any] | None = None
        self._loaded: dict[str, Any] | None = None

    @override
    def on_train_epoch_start(self, trainer: Trainer, pl_module: LightningModule) -> None:
        done = trainer.current_epoch + 1  # epochs done at the end of this one
        trainer.check_val_every_n_epoch = 1 if done in (self.stop_epoch, trainer.max_epochs) else 2**31 - 1

    @override
    def on_validation_start(self, trainer: Trainer, pl_module: LightningModule) -> None:
        self._before_validation = rng_state()

    @override
    def on_validation_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        if self._before_validation is not None:
            set_rng_state(self._before_validation)
            self._before_validation = None

    @override
    def on_train_epoch_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        if trainer.current_epoch + 1 >= self.stop_epoch:
            trainer.should_stop = True

    @override
    def on_save_checkpoint(self, trainer: Trainer, pl_module: LightningModule, checkpoint: dict[str, Any]) -> None:
        checkpoint["rng_state"] = rng_state()

    @override
    def on_load_checkpoint(self, trainer: Trainer, pl_module: LightningModule, checkpoint: dict[str, Any]) -> None:
        self._loaded = checkpoint.get("rng_state")

    @override
    def on_train_start(self, trainer: Trainer, pl_module: LightningModule) -> None:
        # after everything is restored and before the first continued epoch draws its shuffle
        if self._loaded is not None:
            set_rng_state(self._loaded)
            self._loaded = None
