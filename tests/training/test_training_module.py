"""ArchitectureModule and DropPathSchedule inside a real Trainer: aux loss, drop path, lr, cutout, round trip."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import lightning as L
import pytest
import torch
import torch.nn.functional as F

from nsga_lightning.callbacks import DropPathSchedule
from nsga_lightning.data import CIFAR10_MEAN, CIFAR10_STD, CIFAR10DataModule, DigitsDataModule
from nsga_lightning.module import ArchitectureModule

TINY = {"init_channels": 4, "layers": 3}


class Recorder(L.Callback):
    """What each training batch saw: drop-path probability, learning rate, the augmented images."""

    def __init__(self) -> None:
        self.drop_path: dict[int, float] = {}
        self.lr: dict[int, float] = {}
        self.train_images: list[torch.Tensor] = []
        self.val_images: list[torch.Tensor] = []

    def on_train_batch_start(self, trainer: L.Trainer, pl_module: Any, batch: Any, batch_idx: int) -> None:
        self.drop_path[trainer.current_epoch] = pl_module.network.drop_path_prob
        self.lr[trainer.current_epoch] = trainer.optimizers[0].param_groups[0]["lr"]
        self.train_images.append(batch[0].clone())

    def on_validation_batch_start(self, trainer: L.Trainer, pl_module: Any, batch: Any, batch_idx: int,
                                  dataloader_idx: int = 0) -> None:
        self.val_images.append(batch[0].clone())


def _trainer(tmp_path: Path, **kwargs: Any) -> L.Trainer:
    return L.Trainer(accelerator="cpu", devices=1, logger=False, enable_checkpointing=False,
                     enable_progress_bar=False, enable_model_summary=False, default_root_dir=tmp_path,
                     gradient_clip_val=5.0, **kwargs)


def test_aux_loss_is_ce_plus_weighted_aux_ce_on_a_fixed_batch() -> None:
    torch.manual_seed(0)
    module = ArchitectureModule(**TINY, auxiliary=True).train()
    images, labels = torch.randn(6, 3, 32, 32), torch.arange(6) % 10
    logits, aux_logits = module.network(images)
    assert aux_logits is not None
    expected = F.cross_entropy(logits, labels) + 0.4 * F.cross_entropy(aux_logits, labels)
    loss = module._loss(images, labels)[0].detach()
    assert float(loss) == pytest.approx(float(expected.detach()), rel=1e-6)
    assert float(loss) > float(F.cross_entropy(logits, labels).detach())  # the aux term is really there
    module.eval()
    assert module.network(images)[1] is None  # the head only runs in training


def test_aux_weight_zero_and_no_aux_head_give_plain_cross_entropy() -> None:
    torch.manual_seed(0)
    images, labels = torch.randn(4, 3, 32, 32), torch.arange(4)
    for options in ({"auxiliary": True, "auxiliary_weight": 0.0}, {"auxiliary": False}):
        module = ArchitectureModule(**TINY, **options).train()
        loss, logits = (t.detach() for t in module._loss(images, labels))
        assert float(loss) == pytest.approx(float(F.cross_entropy(logits, labels)), rel=1e-6)


def test_drop_path_and_learning_rate_seen_by_every_epoch(tmp_path: Path, cifar_root: Path) -> None:
    epochs, drop = 4, 0.3
    L.seed_everything(0, verbose=False)
    module = ArchitectureModule(**TINY, drop_path_prob=drop, learning_rate=0.1, min_learning_rate=0.001)
    recorder = Recorder()
    dm = CIFAR10DataModule(data_dir=str(cifar_root), batch_size=8)
    _trainer(tmp_path, max_epochs=epochs, limit_train_batches=1,
             callbacks=[DropPathSchedule(), recorder]).fit(module, datamodule=dm)
    assert [recorder.drop_path[e] for e in range(epochs)] == pytest.approx([drop * e / epochs for e in range(epochs)])
    cosine = [0.001 + (0.1 - 0.001) * (1 + math.cos(math.pi * e / epochs)) / 2 for e in range(epochs)]
    assert [recorder.lr[e] for e in range(epochs)] == pytest.approx(cosine, rel=1e-6)
    assert recorder.lr[epochs - 1] > 0.001  # the last epoch still learns


def test_drop_path_schedule_override_and_state() -> None:
    callback = DropPathSchedule(drop_path_prob=0.5)
    callback.load_state_dict({"current": 0.25})
    assert callback.state_dict() == {"current": 0.25}
    with pytest.raises(ValueError, match="drop_path_prob"):
        DropPathSchedule(drop_path_prob=1.0)


def test_max_steps_only_runs_the_cosine_per_step(tmp_path: Path, cifar_root: Path) -> None:
    module = ArchitectureModule(**TINY)
    trainer = _trainer(tmp_path, max_steps=3, max_epochs=-1)
    trainer.fit(module, datamodule=CIFAR10DataModule(data_dir=str(cifar_root), batch_size=16))
    config = trainer.lr_scheduler_configs[0]
    assert config.interval == "step" and config.scheduler.T_max == 3


def test_cutout_squares_in_training_batches_only(tmp_path: Path, cifar_root: Path) -> None:
    L.seed_everything(0, verbose=False)
    recorder = Recorder()
    dm = CIFAR10DataModule(data_dir=str(cifar_root), batch_size=16, val_split=16, cutout=True,
                           cutout_length=16)
    _trainer(tmp_path, max_epochs=1, limit_train_batches=1, limit_val_batches=1, num_sanity_val_steps=0,
             callbacks=[recorder]).fit(ArchitectureModule(**TINY), datamodule=dm)
    cut_value = (-torch.tensor(CIFAR10_MEAN) / torch.tensor(CIFAR10_STD)).view(1, 3, 1, 1)

    def cut_fraction(images: torch.Tensor) -> torch.Tensor:  # (N,) share of pixels zeroed in every channel
        return torch.isclose(images, cut_value, atol=1e-5).all(dim=1).float().mean(dim=(1, 2))

    train = cut_fraction(recorder.train_images[0])
    # a 16x16 square clipped at the border covers between 64 and 256 of the 1024 pixels (crop padding adds
    # zero borders too, so allow more)
    assert bool((train >= 64 / 1024 - 1e-6).all())
    assert float(cut_fraction(recorder.val_images[0]).max()) < 0.02  # no cutout at evaluation


def test_has_validation_follows_val_split(cifar_root: Path) -> None:
    assert not CIFAR10DataModule(data_dir=str(cifar_root)).has_validation
    assert CIFAR10DataModule(data_dir=str(cifar_root), val_split=8).has_validation
    assert CIFAR10DataModule(data_dir=str(cifar_root), val_split=0.25).has_validation
    assert not DigitsDataModule(val_split=0).has_validation


@pytest.mark.parametrize(
    "options",
    [
        {"space": "micro", "genotype": "DARTS", **TINY, "auxiliary": True, "se": True, "filter_increment": 2},
        {"space": "macro", "genotype": "NSGANet", "init_channels": 4, "decoder": "dense", "channels": [4, 6, 8]},
    ],
    ids=["micro-pyramid-se-aux", "macro-dense"],
)
def test_checkpoint_round_trip_gives_identical_logits(tmp_path: Path, cifar_root: Path,
                                                      options: dict[str, Any]) -> None:
    L.seed_everything(0, verbose=False)
    module = ArchitectureModule(**options)
    trainer = _trainer(tmp_path, max_epochs=1, limit_train_batches=2)
    trainer.fit(module, datamodule=CIFAR10DataModule(data_dir=str(cifar_root), batch_size=8))
    path = tmp_path / "round.ckpt"
    trainer.save_checkpoint(path)
    loaded = ArchitectureModule.load_from_checkpoint(path).eval()
    module.eval()
    images = torch.randn(3, 3, 32, 32, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        assert torch.equal(loaded(images), module(images))
    assert dict(loaded.hparams) == dict(module.hparams)


@pytest.mark.parametrize(
    ("options", "match"),
    [({"drop_path_prob": 1.0}, "drop_path_prob"), ({"auxiliary_weight": -1.0}, "auxiliary_weight"),
     ({"learning_rate": 0.0}, "learning_rate"), ({"momentum": 1.0}, "momentum")],
)
def test_bad_hyperparameters_are_refused(options: dict[str, float], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        ArchitectureModule(**TINY, **options)
