"""The datamodules inside a real ``lightning.Trainer`` (CPU): fit, validate, test and predict."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import lightning as L
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from nsga_lightning.data import CIFAR10DataModule, DigitsDataModule, write_cifar_files


class TinyClassifier(L.LightningModule):
    """A linear classifier that records what the datamodule hands it."""

    def __init__(self, num_classes: int, lr: float = 0.05) -> None:
        super().__init__()
        self.head = nn.Linear(3 * 32 * 32, num_classes)
        self.lr = lr
        self.train_inputs: list[torch.Tensor] = []
        self.val_batches = 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(x.flatten(1))

    def training_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> torch.Tensor:
        x, y = batch
        self.train_inputs.append(x.detach())
        return F.cross_entropy(self(x), y)

    def validation_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> None:
        x, y = batch
        self.val_batches += 1
        self.log("val_acc", (self(x).argmax(1) == y).float().mean())

    def test_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> None:
        x, y = batch
        self.log("test_acc", (self(x).argmax(1) == y).float().mean())

    def predict_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> torch.Tensor:
        return self(batch[0]).argmax(1)

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.SGD(self.parameters(), lr=self.lr, momentum=0.9)


def _trainer(tmp_path: Path, **kwargs: Any) -> L.Trainer:
    return L.Trainer(
        accelerator="cpu",
        devices=1,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        default_root_dir=tmp_path,
        **kwargs,
    )


def test_fit_validate_test_predict_on_cifar10(tmp_path: Path) -> None:
    write_cifar_files(tmp_path / "data", "cifar10", n_train=100, n_test=30)
    L.seed_everything(0, verbose=False)
    dm = CIFAR10DataModule(data_dir=str(tmp_path / "data"), batch_size=16, val_split=20, cutout=True)
    model = TinyClassifier(dm.num_classes)
    trainer = _trainer(tmp_path, max_epochs=1, limit_train_batches=2, num_sanity_val_steps=0)
    trainer.fit(model, datamodule=dm)
    assert len(model.train_inputs) == 2
    first = model.train_inputs[0]
    assert first.dtype == torch.float32 and first.shape == (16, 3, 32, 32)
    assert float(first.min()) < -1.0  # normalised (cutout squares sit at -mean/std ~ -1.9)
    assert model.val_batches == 1 and "val_acc" in trainer.callback_metrics
    (result,) = trainer.test(model, datamodule=dm, verbose=False)
    assert 0.0 <= result["test_acc"] <= 1.0
    predictions = trainer.predict(model, datamodule=dm)
    assert predictions is not None and sum(len(p) for p in predictions) == 30  # type: ignore[arg-type]


@pytest.mark.filterwarnings("ignore:Total length of `list` across ranks is zero")  # the empty val loader
def test_fit_without_validation(tmp_path: Path) -> None:
    write_cifar_files(tmp_path / "data", "cifar10", n_train=50, n_test=10)
    dm = CIFAR10DataModule(data_dir=str(tmp_path / "data"), batch_size=25, val_split=0)
    model = TinyClassifier(dm.num_classes)
    trainer = _trainer(tmp_path, max_epochs=1)
    trainer.fit(model, datamodule=dm)
    assert len(model.train_inputs) == 2 and model.val_batches == 0
    assert trainer.state.finished


def test_a_linear_model_learns_the_digits(tmp_path: Path) -> None:
    L.seed_everything(0, verbose=False)
    dm = DigitsDataModule(batch_size=64)
    model = TinyClassifier(dm.num_classes, lr=0.01)
    trainer = _trainer(tmp_path, max_epochs=3, num_sanity_val_steps=0)
    trainer.fit(model, datamodule=dm)
    assert float(trainer.callback_metrics["val_acc"]) > 0.7
