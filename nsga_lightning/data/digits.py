"""The scikit-learn digits set as a tiny 32x32 colour dataset: offline, no download, seconds to train on.

``sklearn.datasets.load_digits`` ships 1,797 grey 8x8 images (values 0..16, 10 classes) inside
scikit-learn. They are upsampled bilinearly to 32x32 (``align_corners=False``), scaled to 0..255, rounded to
uint8 and replicated to three channels, so every CIFAR network runs on them unchanged. A seeded split makes
train/validation/test sets. Normalisation uses this data's own statistics over all 1,797 upsampled images
(:data:`DIGITS_MEAN`, :data:`DIGITS_STD`, checked by a test). Horizontal flip is off by default: a mirrored
digit is a different shape.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor
from typing_extensions import override

from nsga_lightning.data.base import SplitSize, TensorImageDataModule, check_split, split_indices

__all__ = ["DIGITS_MEAN", "DIGITS_STD", "DigitsDataModule", "load_digits_images"]

DIGITS_MEAN: tuple[float, float, float] = (0.3052, 0.3052, 0.3052)
DIGITS_STD: tuple[float, float, float] = (0.3236, 0.3236, 0.3236)


def load_digits_images(image_size: int = 32) -> tuple[Tensor, Tensor]:
    """All 1,797 scikit-learn digits as square three-channel uint8 images.

    Args:
        image_size: side of the upsampled images (32 = CIFAR size).

    Returns:
        ``(images, labels)``: uint8 ``(1797, 3, S, S)`` and int64 ``(1797,)`` with labels 0..9.
    """
    from sklearn.datasets import load_digits  # heavy import, only when the data is needed

    digits = load_digits()
    small = torch.as_tensor(digits.images, dtype=torch.float32)[:, None]  # (N, 1, 8, 8), 0..16
    big = F.interpolate(small, size=(image_size, image_size), mode="bilinear", align_corners=False)  # (N, 1, S, S)
    grey = (big * (255.0 / 16.0)).round().clamp(0, 255).to(torch.uint8)
    images = grey.expand(-1, 3, -1, -1).contiguous()  # (N, 3, S, S)
    return images, torch.as_tensor(digits.target, dtype=torch.long)


class DigitsDataModule(TensorImageDataModule):
    """scikit-learn's 8x8 digits upsampled to 3x32x32, with seeded train/validation/test splits.

    The test set is ``test_split`` of all 1,797 images; the validation set is ``val_split`` of the rest; both
    come from ``split_seed``. Training batches get random crop, optional flip and cutout, and normalisation,
    on the device; evaluation batches get normalisation only.

    Args:
        batch_size: Training batch size.
        eval_batch_size: Batch size of the validation, test and predict loaders.
        val_split: Validation images held out of the non-test images: a count (int) or a fraction (float in
            [0, 1)); 0 = no validation loader.
        test_split: Test images held out of all images: a count (int >= 1) or a fraction (float in (0, 1)).
        split_seed: Seed of both splits.
        augment: Augment training batches (crop, flip, cutout); normalisation is always applied.
        cutout: Apply cutout to training batches.
        cutout_length: Side of the cutout square.
        hflip: Mirror training images left-right with probability 0.5 (off: digits are not mirror-symmetric).
        crop_padding: Zero padding of the random 32x32 crop; 0 disables cropping.
        num_workers: DataLoader worker processes (0 = main process).
        pin_memory: Pin loader batches in page-locked memory (useful with a GPU).
        image_size: Side of the upsampled images. 32 (default) is the CIFAR size; the 8x8 originals hold no
            more detail than 16x16, which trains about 4x faster (the quickstart uses it). The CLI links it
            to the model's ``image_size``: micro networks need a multiple of 4, and 32 to 40 for the CIFAR
            auxiliary head; parameters and MAdds are still reported at 32x32.

    Raises:
        ValueError: If a size is not positive or a split or augmentation setting is malformed.
    """

    def __init__(
        self,
        batch_size: int = 64,
        eval_batch_size: int = 256,
        val_split: SplitSize = 0.2,
        test_split: SplitSize = 0.2,
        split_seed: int = 0,
        augment: bool = True,
        cutout: bool = False,
        cutout_length: int = 16,
        hflip: bool = False,
        crop_padding: int = 4,
        num_workers: int = 0,
        pin_memory: bool = False,
        image_size: int = 32,
    ) -> None:
        super().__init__(
            batch_size=batch_size,
            eval_batch_size=eval_batch_size,
            val_split=val_split,
            split_seed=split_seed,
            augment=augment,
            hflip=hflip,
            crop_padding=crop_padding,
            cutout=cutout,
            cutout_length=cutout_length,
            num_workers=num_workers,
            pin_memory=pin_memory,
            mean=DIGITS_MEAN,
            std=DIGITS_STD,
        )
        if image_size < 8:
            raise ValueError(f"image_size must be >= 8 (the digits are 8x8), got {image_size}")
        self._image_size = image_size
        check_split(test_split, "test_split")
        if not test_split:
            raise ValueError("test_split must be a count >= 1 or a fraction in (0, 1), got 0")
        self.test_split = test_split
        self.save_hyperparameters(logger=False)
        self._parts: tuple[tuple[Tensor, Tensor], tuple[Tensor, Tensor]] | None = None

    @property
    @override
    def num_classes(self) -> int:
        """10 digit classes."""
        return 10

    @property
    @override
    def image_size(self) -> int:
        """The ``image_size`` argument: the side of the upsampled images."""
        return self._image_size

    def _split(self) -> tuple[tuple[Tensor, Tensor], tuple[Tensor, Tensor]]:
        """``((pool_images, pool_labels), (test_images, test_labels))``, computed once."""
        if self._parts is None:
            images, labels = load_digits_images(self._image_size)
            pool, test = split_indices(len(labels), self.test_split, self.split_seed, "test_split")
            self._parts = (images[pool], labels[pool]), (images[test], labels[test])
        return self._parts

    @override
    def load_fit_pool(self) -> tuple[Tensor, Tensor]:
        """The non-test images (the validation split is taken from these)."""
        return self._split()[0]

    @override
    def load_test(self) -> tuple[Tensor, Tensor]:
        """The held-out test images."""
        return self._split()[1]
