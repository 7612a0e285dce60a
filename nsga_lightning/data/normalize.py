"""Per-channel normalisation of image batches on their device, and the datasets' channel statistics."""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence

import torch
from torch import Tensor

__all__ = ["CIFAR10_MEAN", "CIFAR10_STD", "CIFAR100_MEAN", "CIFAR100_STD", "channel_statistics", "normalize"]

CIFAR10_MEAN: tuple[float, float, float] = (0.49139968, 0.48215827, 0.44653124)
CIFAR10_STD: tuple[float, float, float] = (0.24703233, 0.24348505, 0.26158768)
CIFAR100_MEAN: tuple[float, float, float] = (0.5071, 0.4865, 0.4409)
CIFAR100_STD: tuple[float, float, float] = (0.2673, 0.2564, 0.2762)


def normalize(images: Tensor, mean: Sequence[float], std: Sequence[float]) -> Tensor:
    """Scale to 0..1 (uint8 input only) and normalise per channel: ``(x - mean) / std``.

    Args:
        images: ``(N, C, H, W)`` uint8 (0..255) or float (0..1).
        mean: Per-channel means on the 0..1 scale (length C).
        std: Per-channel standard deviations on the 0..1 scale (length C, all > 0).

    Returns:
        float32 ``(N, C, H, W)``.

    Raises:
        ValueError: If the batch is not 4-D or ``mean``/``std`` do not have one positive entry per channel.
    """
    if images.ndim != 4:
        raise ValueError(f"expected an image batch of shape (N, C, H, W), got shape {tuple(images.shape)}")
    c = images.shape[1]
    if len(mean) != c or len(std) != c or min(std) <= 0:
        raise ValueError(f"mean and std need {c} entries (std > 0), got mean={mean}, std={std}")
    scale = 255.0 if images.dtype == torch.uint8 else 1.0
    shift, factor = _norm_coeffs(tuple(mean), tuple(std), scale, images.device)
    # In place on a fresh float copy: several times faster on CPU than an out-of-place broadcast op.
    return images.to(torch.float32, copy=True).mul_(factor).add_(shift)


@functools.lru_cache(maxsize=32)
def _norm_coeffs(
    mean: tuple[float, ...], std: tuple[float, ...], scale: float, device: torch.device
) -> tuple[Tensor, Tensor]:
    """``(-mean / std, 1 / (scale * std))`` as ``(1, C, 1, 1)`` tensors, made once per device (caching keeps a
    host-to-device copy, which would stall a GPU stream, out of every batch)."""
    mean_t = torch.tensor(mean, dtype=torch.float64).view(1, -1, 1, 1)
    std_t = torch.tensor(std, dtype=torch.float64).view(1, -1, 1, 1)
    shift, factor = -mean_t / std_t, 1.0 / (scale * std_t)
    return shift.to(device, torch.float32), factor.to(device, torch.float32)


def channel_statistics(batches: Iterable[Tensor]) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Per-channel mean and (population) standard deviation of uint8 images, on the 0..1 scale.

    Sums are kept as exact integers, so the result does not depend on how the images are batched or ordered
    (the in-memory and the streamed sets give identical statistics).

    Args:
        batches: uint8 ``(B, C, H, W)`` batches, all with the same ``C``.

    Returns:
        ``(mean, std)``, one entry per channel each.

    Raises:
        ValueError: If there are no pixels, or a channel is constant (its std would be 0).
    """
    sums: list[int] | None = None
    squares: list[int] = []
    count = 0
    for batch in batches:
        wide = batch.to(torch.int64)  # (B, C, H, W)
        batch_sums = wide.sum(dim=(0, 2, 3)).tolist()
        batch_squares = (wide * wide).sum(dim=(0, 2, 3)).tolist()
        if sums is None:
            sums, squares = [0] * len(batch_sums), [0] * len(batch_sums)
        sums = [a + b for a, b in zip(sums, batch_sums, strict=True)]
        squares = [a + b for a, b in zip(squares, batch_squares, strict=True)]
        count += wide.shape[0] * wide.shape[2] * wide.shape[3]
    if sums is None or count == 0:
        raise ValueError("no training pixels to compute normalisation statistics from")
    mean = tuple(s / (255 * count) for s in sums)
    # exact integer variance numerator: count * sum(x^2) - sum(x)^2
    std = tuple(((count * q - s * s) ** 0.5) / (255 * count) for s, q in zip(sums, squares, strict=True))
    constant = [c for c, value in enumerate(std) if value == 0]
    if constant:
        raise ValueError(f"channel {constant[0]} of the training images is constant (standard deviation 0); "
                         "give mean and std explicitly")
    return mean, std
