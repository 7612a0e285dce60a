"""Helpers of the CLI tests: tensor datamodules of any channel count, named by class_path on the command line
(``--data cli_helpers.TensorDataModule``), and in-process CLI calls."""

from __future__ import annotations

import contextlib
import io
from dataclasses import dataclass

import torch
from lightning.pytorch import LightningDataModule
from torch.utils.data import DataLoader, TensorDataset

from nsga_lightning.cli import main


class PlainTensorDataModule(LightningDataModule):
    """Seeded random images held as tensors, each class with its own per-channel mean (so they can be learnt),
    and a validation split. States ``image_size`` but neither ``num_classes`` nor ``in_channels``, as a
    third-party datamodule might.

    Args:
        channels: channels of the images.
        image_size: side of the square images.
        classes: number of classes.
        n_train: training images.
        val_split: validation images (0: no validation split; what a Pareto config's final training sets).
        batch_size: batch size of every loader.
        seed: seed of the images.
    """

    def __init__(self, channels: int = 4, image_size: int = 16, classes: int = 3, n_train: int = 32,
                 val_split: int = 16, batch_size: int = 16, seed: int = 0) -> None:
        super().__init__()
        self.save_hyperparameters()
        generator = torch.Generator().manual_seed(seed)
        n = n_train + val_split
        labels = torch.arange(n) % classes  # (n,)
        means = torch.rand(classes, channels, 1, 1, generator=generator)  # (K, C, 1, 1)
        images = means[labels] + 0.2 * torch.randn(n, channels, image_size, image_size, generator=generator)
        self.train_set = TensorDataset(images[:n_train], labels[:n_train])
        self.val_set = TensorDataset(images[n_train:], labels[n_train:])

    @property
    def image_size(self) -> int:
        """Side of the images."""
        return self.hparams.image_size

    def train_dataloader(self) -> DataLoader:
        """Shuffled training batches ``(images (B, C, S, S), labels (B,))``."""
        return DataLoader(self.train_set, batch_size=self.hparams.batch_size, shuffle=True)

    def val_dataloader(self) -> DataLoader | list:
        """Validation batches, or none without a validation split."""
        if not self.hparams.val_split:
            return []
        return DataLoader(self.val_set, batch_size=self.hparams.batch_size)

    def test_dataloader(self) -> DataLoader:
        """The validation images again (these tests only need a loader)."""
        return DataLoader(self.val_set if self.hparams.val_split else self.train_set,
                          batch_size=self.hparams.batch_size)


class ClassesOnlyDataModule(PlainTensorDataModule):
    """States ``num_classes`` but not ``in_channels`` (read from a training batch)."""

    @property
    def num_classes(self) -> int:
        """Number of classes."""
        return self.hparams.classes


class TensorDataModule(ClassesOnlyDataModule):
    """States ``num_classes``, ``image_size`` and ``in_channels``, as the contract asks."""

    @property
    def in_channels(self) -> int:
        """Channels of the images."""
        return self.hparams.channels

    @property
    def has_validation(self) -> bool:
        """Whether a validation split is held out."""
        return bool(self.hparams.val_split)


@dataclass
class CliResult:
    """Exit code and captured output of one in-process ``nsga-lightning`` call."""

    code: int
    out: str
    err: str

    @property
    def error_line(self) -> str:
        """The one error line (asserts there is exactly one and no traceback)."""
        lines = [line for line in self.err.splitlines() if line.startswith("nsga-lightning: error:")]
        assert len(lines) == 1 and "Traceback" not in self.err, self.err
        return lines[0]


def run_cli(*args: str) -> CliResult:
    """Run ``nsga-lightning ARGS`` in this process."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(list(args))
        except SystemExit as exit_:
            code = 0 if exit_.code is None else int(exit_.code) if isinstance(exit_.code, int) else 1
    return CliResult(code, out.getvalue(), err.getvalue())
