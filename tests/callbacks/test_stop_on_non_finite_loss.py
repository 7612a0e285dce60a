"""StopOnNonFiniteLoss: every step checked on the CPU; a deferred device flag read every ``every`` steps."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch

from nsga_lightning.callbacks import NonFiniteLossError, StopOnNonFiniteLoss

TRAINER = SimpleNamespace(current_epoch=3)


def test_a_finite_loss_passes_and_a_nan_stops_at_once_on_the_cpu():
    guard = StopOnNonFiniteLoss()
    guard.on_train_batch_end(TRAINER, None, {"loss": torch.tensor(1.5)}, None, 0)
    guard.on_train_batch_end(TRAINER, None, None, None, 1)  # a step that returned nothing
    with pytest.raises(NonFiniteLossError, match="non-finite training loss nan at epoch 3, batch 2"):
        guard.on_train_batch_end(TRAINER, None, torch.tensor(float("nan")), None, 2)


def test_the_deferred_flag_is_read_every_n_steps_and_at_the_epoch_end():
    guard = StopOnNonFiniteLoss(every=3, check_every_step=False)
    guard.on_train_batch_end(TRAINER, None, torch.tensor(float("inf")), None, 0)  # flagged, not read yet
    guard.on_train_batch_end(TRAINER, None, torch.tensor(1.0), None, 1)
    with pytest.raises(NonFiniteLossError, match="checked every 3 batches"):
        guard.on_train_batch_end(TRAINER, None, torch.tensor(1.0), None, 2)
    late = StopOnNonFiniteLoss(every=50, check_every_step=False)
    late.on_train_batch_end(TRAINER, None, torch.tensor(float("nan")), None, 0)
    with pytest.raises(NonFiniteLossError):
        late.on_train_epoch_end(TRAINER, None)
    clean = StopOnNonFiniteLoss(every=50, check_every_step=False)
    clean.on_train_batch_end(TRAINER, None, torch.tensor(1.0), None, 0)
    clean.on_train_epoch_end(TRAINER, None)
    assert clean.flag is None


def test_every_below_one_is_refused():
    with pytest.raises(ValueError, match="every must be >= 1"):
        StopOnNonFiniteLoss(every=0)
