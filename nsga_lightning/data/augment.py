"""Batched, on-device image augmentation: random crop, horizontal flip, cutout (normalisation: ``normalize``).

Every function takes a whole batch ``(N, C, H, W)`` on any device and uses vectorised tensor ops (no python
loop over images). Batches may be uint8 (0..255, as the datamodules deliver them) or float (0..1, like
torchvision's ``ToTensor`` output). Crop, flip and cutout keep the dtype; :func:`normalize` returns float32.
The training recipe is the original NSGA-Net/DARTS ``RandomCrop(32, padding=4) -> RandomHorizontalFlip ->
ToTensor -> Cutout(16) -> Normalize``: cutout zeroes pixels before normalisation (they end at -mean/std).

Randomness: each random function takes an optional ``torch.Generator``; if given, it must live on the batch's
device and alone drives the draws. If ``None`` (what the datamodules use), the global torch RNG of the batch's
device is used, which Lightning's ``seed_everything`` seeds (``torch.manual_seed`` seeds CPU and CUDA).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import torch
from torch import Tensor

from nsga_lightning.data.normalize import CIFAR10_MEAN, CIFAR10_STD, CIFAR100_MEAN, CIFAR100_STD, normalize

__all__ = [
    "CIFAR10_MEAN",
    "CIFAR10_STD",
    "CIFAR100_MEAN",
    "CIFAR100_STD",
    "BatchAugment",
    "crop_flip",
    "cutout",
    "normalize",
    "random_crop",
    "random_cutout",
    "random_hflip",
]

def _check_batch(images: Tensor) -> tuple[int, int, int, int]:
    if images.ndim != 4:
        raise ValueError(f"expected an image batch of shape (N, C, H, W), got shape {tuple(images.shape)}")
    n, c, h, w = images.shape
    return n, c, h, w


def crop_flip(
    images: Tensor, offset_y: Tensor, offset_x: Tensor, flip: Tensor | None = None, padding: int = 4
) -> Tensor:
    """Cut an ``H x W`` window per image out of the zero-padded batch, optionally mirrored left-right.

    Image ``i`` of the result is ``pad(images[i])[:, oy:oy + H, ox:ox + W]`` with ``oy = offset_y[i]`` and
    ``ox = offset_x[i]``, mirrored where ``flip[i]`` is true (crop first, then flip, like torchvision).
    Offsets equal to ``padding`` return the image unchanged. The whole batch is cropped by one indexing op.

    Args:
        images: ``(N, C, H, W)`` of any dtype.
        offset_y: ``(N,)`` integer row offsets in ``0..2*padding``.
        offset_x: ``(N,)`` integer column offsets in ``0..2*padding``.
        flip: Optional ``(N,)`` bool; true mirrors that image.
        padding: Zero padding added on every side before cropping.

    Returns:
        ``(N, C, H, W)`` with the dtype of ``images``.

    Raises:
        ValueError: If the batch is not 4-D, ``padding`` is negative or an offset is out of range.
    """
    n = _check_batch(images)[0]
    if padding < 0:
        raise ValueError(f"padding must be >= 0, got {padding}")
    for name, off in (("offset_y", offset_y), ("offset_x", offset_x)):
        if off.shape != (n,) or (n and (int(off.min()) < 0 or int(off.max()) > 2 * padding)):
            raise ValueError(f"{name} must have shape ({n},) and values in 0..{2 * padding}")
    return _crop_flip(images, offset_y, offset_x, flip, padding)


def _crop_flip(
    images: Tensor, offset_y: Tensor, offset_x: Tensor, flip: Tensor | None, padding: int
) -> Tensor:
    """:func:`crop_flip` without the checks (they would synchronise a GPU on every batch).

    Every output row is a run of W contiguous elements of the padded batch, so the crop is one
    ``index_select`` of N*C*H row starts from an overlapping ``unfold`` view (a memcpy per row, several
    times faster on CPU than a per-element gather). Mirrored images read from a mirrored padded copy: a
    flipped crop at column offset ``x`` equals a crop of the mirror at ``2 * padding - x``.
    """
    n, c, h, w = images.shape
    dev, p = images.device, padding
    hp, wp = h + 2 * p, w + 2 * p
    copies = 1 if flip is None else 2
    padded = images.new_zeros(copies, n, c, hp, wp)  # (F, N, C, H+2p, W+2p); copy 1 is the mirror
    padded[0, :, :, p : p + h, p : p + w] = images
    source = torch.arange(n, device=dev)  # (N,) which padded image each output reads
    offset_x = offset_x.to(dev).long()
    if flip is not None:
        flip = flip.to(dev)
        padded[1, :, :, p : p + h, p : p + w] = images.flip(3)
        offset_x = torch.where(flip, 2 * p - offset_x, offset_x)
        source = source + n * flip.long()
    rows = offset_y.to(dev).long()[:, None, None] + torch.arange(h, device=dev)  # (N, 1, H)
    planes = source[:, None, None] * c + torch.arange(c, device=dev)[:, None]  # (N, C, 1)
    starts = (planes * hp + rows) * wp + offset_x[:, None, None]  # (N, C, H) flat index of each row start
    windows = padded.view(-1).unfold(0, w, 1)  # (F*N*C*Hp*Wp - W + 1, W) view, row k = elements k..k+W-1
    return windows.index_select(0, starts.view(-1)).view(n, c, h, w)


def random_crop(images: Tensor, padding: int = 4, generator: torch.Generator | None = None) -> Tensor:
    """Random ``H x W`` crop of each zero-padded image (torchvision's ``RandomCrop(H, padding)``).

    Args:
        images: ``(N, C, H, W)``.
        padding: Zero padding on every side; offsets are uniform in ``0..2*padding`` per image and axis.
        generator: Optional generator on ``images.device``; ``None`` uses the global torch RNG.

    Returns:
        ``(N, C, H, W)``, same dtype.

    Raises:
        ValueError: If the batch is not 4-D or ``padding`` is negative.
    """
    n = _check_batch(images)[0]
    if padding < 0:
        raise ValueError(f"padding must be >= 0, got {padding}")
    offsets = torch.randint(0, 2 * padding + 1, (2, n), generator=generator, device=images.device)
    return _crop_flip(images, offsets[0], offsets[1], None, padding)


def random_hflip(images: Tensor, p: float = 0.5, generator: torch.Generator | None = None) -> Tensor:
    """Mirror each image left-right with probability ``p``.

    Args:
        images: ``(N, C, H, W)``.
        p: Flip probability per image, in 0..1.
        generator: Optional generator on ``images.device``; ``None`` uses the global torch RNG.

    Returns:
        ``(N, C, H, W)``, same dtype.
    """
    n = _check_batch(images)[0]
    flip = torch.rand(n, generator=generator, device=images.device) < p  # (N,)
    no_shift = torch.zeros(n, dtype=torch.long, device=images.device)
    return _crop_flip(images, no_shift, no_shift, flip, 0)


def cutout(images: Tensor, length: int, centre_y: Tensor, centre_x: Tensor) -> Tensor:
    """Zero one square per image (DARTS/NSGA-Net ``Cutout``), clipped at the borders.

    Image ``i`` gets rows ``clip(cy - length//2, 0, H) .. clip(cy + length//2, 0, H)`` (end exclusive) and the
    same for columns set to 0, so the square is at most ``2 * (length // 2)`` wide.

    Args:
        images: ``(N, C, H, W)``.
        length: Side of the square.
        centre_y: ``(N,)`` integer centre rows.
        centre_x: ``(N,)`` integer centre columns.

    Returns:
        ``(N, C, H, W)``, same dtype.
    """
    n, _, h, w = _check_batch(images)
    half, dev = length // 2, images.device
    # Pixel row y is cut when cy - half <= y < cy + half; clipping at the borders is implicit in 0 <= y < H.
    row_off = torch.arange(h, device=dev) - (centre_y.to(dev).long().view(n, 1) - half)  # (N, H)
    col_off = torch.arange(w, device=dev) - (centre_x.to(dev).long().view(n, 1) - half)  # (N, W)
    keep_row = (row_off < 0) | (row_off >= 2 * half)  # (N, H)
    keep_col = (col_off < 0) | (col_off >= 2 * half)  # (N, W)
    keep = keep_row.view(n, 1, h, 1) | keep_col.view(n, 1, 1, w)  # (N, 1, H, W)
    return images * keep  # a multiply: far faster than masked_fill with a broadcast mask on CPU


def random_cutout(images: Tensor, length: int = 16, generator: torch.Generator | None = None) -> Tensor:
    """:func:`cutout` with centres uniform over the image (row and column drawn independently).

    Args:
        images: ``(N, C, H, W)``.
        length: Side of the square.
        generator: Optional generator on ``images.device``; ``None`` uses the global torch RNG.

    Returns:
        ``(N, C, H, W)``, same dtype.
    """
    n, _, h, w = _check_batch(images)
    cy = torch.randint(0, h, (n,), generator=generator, device=images.device)
    cx = torch.randint(0, w, (n,), generator=generator, device=images.device)
    return cutout(images, length, cy, cx)


@contextlib.contextmanager
def _one_cpu_thread(device: torch.device) -> Iterator[None]:
    """Run CPU tensor ops single-threaded for the duration (a no-op on other devices).

    The per-batch ops are small and memory-bound: with several intra-op threads on a busy machine each op
    waits for descheduled OpenMP threads (measured 100x slower on a loaded 2-core machine; one thread loses
    little on an idle one). ``torch.set_num_threads`` is process-wide, so it is restored at once.
    """
    threads = torch.get_num_threads()
    torch.set_num_threads(1 if device.type == "cpu" else threads)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


@dataclass
class BatchAugment:
    """The training and evaluation transforms of one dataset, applied to whole batches.

    ``train`` = random crop (zero padding ``crop_padding``) and horizontal flip in one indexing op, then
    cutout, then normalisation; ``eval`` = normalisation only. Random draws, in order: row offsets, column
    offsets, flip decisions, cutout rows, cutout columns. On CPU both run with one intra-op thread.

    Args:
        mean: Per-channel means on the 0..1 scale.
        std: Per-channel standard deviations on the 0..1 scale.
        crop_padding: Zero padding for the random crop; 0 disables cropping.
        hflip: Mirror each image with probability 0.5.
        cutout_length: Side of the cutout square; 0 disables cutout.

    Raises:
        ValueError: If ``crop_padding`` or ``cutout_length`` is negative or mean/std are unusable.
    """

    mean: Sequence[float]
    std: Sequence[float]
    crop_padding: int = 4
    hflip: bool = True
    cutout_length: int = 0

    def __post_init__(self) -> None:
        if self.crop_padding < 0 or self.cutout_length < 0:
            raise ValueError(
                f"crop_padding and cutout_length must be >= 0 (0 = off), got {self.crop_padding}, "
                f"{self.cutout_length}"
            )
        if len(self.mean) != len(self.std) or min(self.std) <= 0:
            raise ValueError(
                f"mean and std need one entry per channel (std > 0), got {self.mean}, {self.std}"
            )
        self.mean, self.std = tuple(float(v) for v in self.mean), tuple(float(v) for v in self.std)

    def train(self, images: Tensor, generator: torch.Generator | None = None) -> Tensor:
        """Augment and normalise a training batch.

        Args:
            images: ``(N, C, H, W)`` uint8 (0..255) or float (0..1).
            generator: Optional generator on ``images.device``; ``None`` uses the global torch RNG.

        Returns:
            float32 ``(N, C, H, W)``.
        """
        n, _, _, _ = _check_batch(images)
        dev, pad = images.device, self.crop_padding
        with _one_cpu_thread(dev):
            if pad or self.hflip:
                offsets = torch.randint(0, 2 * pad + 1, (2, n), generator=generator, device=dev)
                flip = torch.rand(n, generator=generator, device=dev) < 0.5 if self.hflip else None
                images = _crop_flip(images, offsets[0], offsets[1], flip, pad)
            if self.cutout_length:
                images = random_cutout(images, self.cutout_length, generator=generator)
            return normalize(images, self.mean, self.std)

    def eval(self, images: Tensor) -> Tensor:
        """Normalise an evaluation batch (no randomness).

        Args:
            images: ``(N, C, H, W)`` uint8 (0..255) or float (0..1).

        Returns:
            float32 ``(N, C, H, W)``.
        """
        with _one_cpu_thread(images.device):
            return normalize(images, self.mean, self.std)
