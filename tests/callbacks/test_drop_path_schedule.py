"""DropPathSchedule: the linear ramp of the original, logged, resumable."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from nsga_lightning.callbacks import DropPathSchedule


def _fake(epoch: int, max_epochs: int = 4, prob: float = 0.2):
    logged = []
    logger = SimpleNamespace(log_metrics=lambda metrics, step: logged.append((metrics, step)))
    trainer = SimpleNamespace(max_epochs=max_epochs, current_epoch=epoch, loggers=[logger], global_step=10 * epoch)
    module = SimpleNamespace(hparams=SimpleNamespace(drop_path_prob=prob), network=SimpleNamespace(drop_path_prob=None))
    return trainer, module, logged


@pytest.mark.parametrize(("epoch", "expected"), [(0, 0.0), (1, 0.05), (3, 0.15)])
def test_the_probability_ramps_from_zero_over_the_epochs(epoch, expected):
    trainer, module, logged = _fake(epoch)
    schedule = DropPathSchedule()
    schedule.on_train_epoch_start(trainer, module)
    assert module.network.drop_path_prob == pytest.approx(expected)
    assert logged == [({"train/drop_path_prob": pytest.approx(expected)}, 10 * epoch)]


def test_an_override_replaces_the_module_probability_and_the_state_round_trips():
    trainer, module, _ = _fake(2, prob=0.9)
    schedule = DropPathSchedule(drop_path_prob=0.4)
    schedule.on_train_epoch_start(trainer, module)
    assert module.network.drop_path_prob == pytest.approx(0.2)
    restored = DropPathSchedule()
    restored.load_state_dict(schedule.state_dict())
    assert restored.current == pytest.approx(0.2)


def test_a_probability_outside_zero_to_one_is_refused():
    with pytest.raises(ValueError, match=r"drop_path_prob must be in \[0, 1\)"):
        DropPathSchedule(1.0)
