"""Shared machinery of the image datamodules: uint8 tensors, index-batched loaders, on-device augmentation.

Every dataset is held as one uint8 tensor ``(N, 3, H, W)`` plus int64 labels. A loader fetches a whole batch
with one tensor index (``images[indices]``) instead of collating ``batch_size`` single items, and the batch
travels to the device as uint8 (4x smaller than float). Augmentation and normalisation then run batched on the
device in ``on_after_batch_transfer``: the training transform while the trainer is training, the evaluation
transform (normalisation only) otherwise.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any, cast

import numpy as np
import torch
from lightning.pytorch import LightningDataModule
from torch import Tensor
from torch.utils.data import DataLoader, TensorDataset
from typing_extensions import override

from nsga_lightning.data.augment import BatchAugment

__all__ = ["IndexBatchDataset", "SplitSize", "TensorImageDataModule", "check_split", "split_indices"]

log = logging.getLogger(__name__)

SplitSize = int | float
"""A held-out size: an int is a count, a float a fraction. ``int`` comes first so that a config's ``10000``
stays a count when jsonargparse tries the union members in order (``float`` alone would make it 10000.0)."""


class IndexBatchDataset(TensorDataset):
    """A ``TensorDataset`` that hands out a whole batch per fetch (``DataLoader`` calls ``__getitems__``).

    Used with :func:`pass_batch` as ``collate_fn``: one fancy-indexing copy per tensor and batch instead of
    ``batch_size`` item lookups and a stack. The copy goes through numpy views of the (CPU) tensors: a
    single-threaded row memcpy, where ``index_select`` would start intra-op threads that stall on a busy
    machine (measured 8 ms instead of 0.1 ms per batch of 96 on a loaded 2-core machine).

    Args:
        *tensors: CPU tensors with the same first dimension (images, labels).
    """

    def __init__(self, *tensors: Tensor) -> None:
        super().__init__(*tensors)
        self._arrays = [t.numpy() for t in self.tensors]  # views sharing the tensors' memory

    def __getitems__(self, indices: list[int]) -> tuple[Tensor, ...]:
        index = np.asarray(indices, dtype=np.int64)  # (B,)
        return tuple(torch.from_numpy(a[index]) for a in self._arrays)


def pass_batch(batch: tuple[Tensor, ...]) -> tuple[Tensor, ...]:
    """``collate_fn`` for :class:`IndexBatchDataset`: the batch is already stacked."""
    return batch


def check_split(value: SplitSize, name: str) -> None:
    """Check the form of a split argument: a count (int >= 0) or a fraction (float in [0, 1)).

    Args:
        value: The split value.
        name: Argument name, for the message.

    Raises:
        ValueError: If the value has neither form.
    """
    allowed = "an integer count >= 0 or a float fraction in [0, 1) (0 = no split)"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{name} must be {allowed}, got {value!r}")
    if isinstance(value, int) and value < 0:
        raise ValueError(f"{name} must be {allowed}, got the negative count {value}")
    if isinstance(value, float) and not 0.0 <= value < 1.0:
        raise ValueError(f"{name} must be {allowed}, got {value!r} (give counts as integers, e.g. 5000)")


def split_indices(n: int, value: SplitSize, seed: int, name: str = "val_split") -> tuple[Tensor, Tensor]:
    """Split ``range(n)`` into a kept part and a held-out part of a seeded random permutation.

    Args:
        n: Number of items.
        value: Held-out size: an int count or a float fraction of ``n`` (rounded); 0 holds nothing out.
        seed: Seed of the permutation (same seed and ``n`` = same split).
        name: Argument name, for the message.

    Returns:
        ``(kept, held_out)``: sorted int64 index tensors, disjoint, together ``range(n)``.

    Raises:
        ValueError: If the value is malformed, or rounds to 0 items (fraction > 0), or leaves nothing kept.
    """
    check_split(value, name)
    count = round(value * n) if isinstance(value, float) else value
    if value and not 0 < count < n:
        raise ValueError(
            f"{name}={value!r} of {n} items holds out {count}; allowed: a count in 1..{n - 1} or a fraction "
            f"that leaves at least one item on each side (or 0 for no split)"
        )
    perm = torch.randperm(n, generator=torch.Generator().manual_seed(seed))  # (n,)
    return perm[count:].sort().values, perm[:count].sort().values


class TensorImageDataModule(LightningDataModule, ABC):
    """Base class: images held in memory as uint8 tensors, augmented batched on the device.

    Subclasses load the data (:meth:`load_fit_pool`, :meth:`load_test`) and define :attr:`num_classes` (and
    :attr:`image_size` when their images are not 32x32); the validation set is a seeded split of the fit pool,
    never the test set.

    Args:
        batch_size: Training batch size.
        eval_batch_size: Batch size of the validation, test and predict loaders.
        val_split: Validation images held out of the fit pool: a count (int) or a fraction (float in
            [0, 1)); 0 = no validation loader.
        split_seed: Seed of the validation split (independent of the training seed).
        augment: Apply the training augmentation (crop, flip, cutout) to training batches; normalisation is
            always applied.
        hflip: Mirror training images left-right with probability 0.5.
        crop_padding: Zero padding of the random crop; 0 disables cropping.
        cutout: Apply cutout to training batches.
        cutout_length: Side of the cutout square.
        num_workers: DataLoader worker processes (0 = load in the main process, usually fastest here).
        pin_memory: Pin loader batches in page-locked memory (useful with a GPU).
        mean: Per-channel normalisation means on the 0..1 scale.
        std: Per-channel normalisation standard deviations on the 0..1 scale.

    Raises:
        ValueError: If a size is not positive, a split is malformed or the augmentation settings are invalid.
    """

    def __init__(
        self,
        batch_size: int,
        eval_batch_size: int,
        val_split: SplitSize,
        split_seed: int,
        augment: bool,
        hflip: bool,
        crop_padding: int,
        cutout: bool,
        cutout_length: int,
        num_workers: int,
        pin_memory: bool,
        mean: Sequence[float],
        std: Sequence[float],
    ) -> None:
        super().__init__()
        if batch_size < 1 or eval_batch_size < 1:
            raise ValueError(
                f"batch_size and eval_batch_size must be >= 1, got {batch_size}, {eval_batch_size}"
            )
        if num_workers < 0:
            raise ValueError(f"num_workers must be >= 0, got {num_workers}")
        if cutout and cutout_length < 1:
            raise ValueError(f"cutout_length must be >= 1 when cutout is on, got {cutout_length}")
        if crop_padding < 0:
            raise ValueError(f"crop_padding must be >= 0 (0 = no crop), got {crop_padding}")
        check_split(val_split, "val_split")
        self.batch_size, self.eval_batch_size = batch_size, eval_batch_size
        self.val_split, self.split_seed = val_split, split_seed
        self.augment, self.hflip, self.crop_padding = augment, hflip, crop_padding
        self.cutout, self.cutout_length = cutout, cutout_length
        self.num_workers, self.pin_memory = num_workers, pin_memory
        self.mean, self.std = tuple(mean), tuple(std)
        _ = self.transform  # built once here so that bad mean/std fail now, not at the first batch
        self.train_set: IndexBatchDataset | None = None
        self.val_set: IndexBatchDataset | None = None
        self.test_set: IndexBatchDataset | None = None

    @property
    def transform(self) -> BatchAugment:
        """The batch transforms for the current settings (``train`` for training, ``eval`` otherwise)."""
        cutout_length = self.cutout_length if self.cutout else 0
        return BatchAugment(self.mean, self.std, self.crop_padding, self.hflip, cutout_length)

    @property
    def has_validation(self) -> bool:
        """Whether a validation split is held out (``val_split != 0``); without one ``val_dataloader`` is
        ``[]`` and nothing can be monitored on validation metrics."""
        return self.val_split != 0

    @property
    @abstractmethod
    def num_classes(self) -> int:
        """Number of classes (labels lie in ``0..num_classes-1``)."""

    @property
    def image_size(self) -> int:
        """Side of the square images served: 32 (CIFAR's); a subclass serving another size overrides it. The
        CLI links it to the model's ``image_size``, so a network that cannot process it is refused when built."""
        return 32

    @property
    def in_channels(self) -> int:
        """Channels of the images served: 3 (the sets are held as RGB ``(N, 3, H, W)``; the digits repeat their
        grey channel); a subclass serving other images overrides it. The CLI and the search give it to the
        model's ``in_channels``."""
        return 3

    @abstractmethod
    def load_fit_pool(self) -> tuple[Tensor, Tensor]:
        """Return the images (uint8 ``(N, 3, H, W)``) and labels (int64 ``(N,)``) to train and validate on."""

    @abstractmethod
    def load_test(self) -> tuple[Tensor, Tensor]:
        """Return the test images (uint8 ``(N, 3, H, W)``) and labels (int64 ``(N,)``)."""

    @override
    def setup(self, stage: str | None = None) -> None:
        """Load what ``stage`` needs (once; later calls reuse it).

        Args:
            stage: ``"fit"``/``"validate"`` (train and validation sets), ``"test"``/``"predict"`` (test set)
                or ``None`` (all).
        """
        if stage in (None, "fit", "validate") and self.train_set is None:
            images, labels = self.load_fit_pool()
            train_idx, val_idx = split_indices(len(labels), self.val_split, self.split_seed)
            self.train_set = IndexBatchDataset(images[train_idx], labels[train_idx])
            self.val_set = IndexBatchDataset(images[val_idx], labels[val_idx]) if len(val_idx) else None
            log.info(
                "%s: %d training and %d validation images", type(self).__name__, len(train_idx), len(val_idx)
            )
        if stage in (None, "test", "predict") and self.test_set is None:
            self.test_set = IndexBatchDataset(*self.load_test())
            log.info("%s: %d test images", type(self).__name__, len(self.test_set))

    def _loader(self, dataset: IndexBatchDataset, batch_size: int, shuffle: bool) -> DataLoader:
        return DataLoader(
            dataset,
            batch_size=batch_size,
            shuffle=shuffle,  # the sampler's permutation comes from the global torch RNG
            num_workers=self.num_workers,
            pin_memory=self.pin_memory,
            collate_fn=pass_batch,
        )

    @override
    def train_dataloader(self) -> DataLoader:
        """Shuffled uint8 training batches ``(images, labels)``."""
        if self.train_set is None:
            self.setup("fit")
        return self._loader(cast(IndexBatchDataset, self.train_set), self.batch_size, shuffle=True)

    @override
    def val_dataloader(self) -> DataLoader | list[DataLoader]:
        """Validation batches, or ``[]`` (Lightning then skips validation) when ``val_split`` is 0."""
        if self.train_set is None:
            self.setup("fit")
        return [] if self.val_set is None else self._loader(self.val_set, self.eval_batch_size, shuffle=False)

    @override
    def test_dataloader(self) -> DataLoader:
        """Test batches (the official test set for CIFAR)."""
        if self.test_set is None:
            self.setup("test")
        return self._loader(cast(IndexBatchDataset, self.test_set), self.eval_batch_size, shuffle=False)

    @override
    def predict_dataloader(self) -> DataLoader:
        """The test images, batched like :meth:`test_dataloader`."""
        return self.test_dataloader()

    @override
    def on_after_batch_transfer(self, batch: Any, dataloader_idx: int) -> tuple[Tensor, Tensor]:
        """Turn a uint8 batch on the device into a float32 network input.

        While the attached trainer is training and ``augment`` is on: crop, flip, cutout (as configured) and
        normalisation; otherwise normalisation only.

        Args:
            batch: ``(images, labels)`` with uint8 images ``(B, 3, H, W)``.
            dataloader_idx: Index of the loader (unused).

        Returns:
            ``(images, labels)`` with float32 images ``(B, 3, H, W)``.
        """
        images, labels = batch
        transform = self.transform
        if self.augment and self.trainer is not None and self.trainer.training:
            return transform.train(images), labels
        return transform.eval(images), labels
