"""Batched augmentation: crop, flip, cutout, normalisation and the composed train/eval transforms."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from nsga_lightning.data import (
    CIFAR10_MEAN,
    CIFAR10_STD,
    BatchAugment,
    crop_flip,
    cutout,
    normalize,
    random_crop,
    random_cutout,
    random_hflip,
)

MEAN = torch.tensor(CIFAR10_MEAN).view(1, 3, 1, 1)
STD = torch.tensor(CIFAR10_STD).view(1, 3, 1, 1)


def _batch(n: int = 8, seed: int = 0) -> torch.Tensor:
    return torch.randint(
        1, 256, (n, 3, 32, 32), dtype=torch.uint8, generator=torch.Generator().manual_seed(seed)
    )


def _reference_crop(x: torch.Tensor, oy: torch.Tensor, ox: torch.Tensor, flip: torch.Tensor) -> torch.Tensor:
    """One image at a time with torch.nn.functional.pad and slicing, as torchvision does it."""
    out = []
    for img, y, x0, f in zip(F.pad(x, (4, 4, 4, 4)), oy.tolist(), ox.tolist(), flip.tolist()):
        window = img[:, y : y + 32, x0 : x0 + 32]
        out.append(window.flip(2) if f else window)
    return torch.stack(out)


def test_crop_with_known_offsets_shifts_content() -> None:
    x = _batch(3)
    centre = torch.full((3,), 4)
    assert torch.equal(crop_flip(x, centre, centre), x)  # offset = padding: unchanged
    top_left = crop_flip(x, torch.zeros(3, dtype=torch.long), torch.zeros(3, dtype=torch.long))
    assert torch.equal(top_left[:, :, 4:, 4:], x[:, :, :28, :28])
    assert (top_left[:, :, :4] == 0).all() and (top_left[:, :, :, :4] == 0).all()
    bottom_right = crop_flip(x, torch.full((3,), 8), torch.full((3,), 8))
    assert torch.equal(bottom_right[:, :, :28, :28], x[:, :, 4:, 4:])
    assert (bottom_right[:, :, 28:] == 0).all()
    mixed = crop_flip(x, torch.tensor([4, 6, 2]), torch.tensor([4, 4, 7]))  # per-sample offsets
    assert torch.equal(mixed[0], x[0])
    assert torch.equal(mixed[1, :, :30], x[1, :, 2:])
    assert torch.equal(mixed[2, :, 2:, :29], x[2, :, :30, 3:])


def test_crop_flip_matches_a_per_image_reference() -> None:
    x = _batch(16)
    g = torch.Generator().manual_seed(1)
    oy, ox = torch.randint(0, 9, (2, 16), generator=g)
    flip = torch.rand(16, generator=g) < 0.5
    assert torch.equal(crop_flip(x, oy, ox, flip), _reference_crop(x, oy, ox, flip))
    assert torch.equal(crop_flip(x.float(), oy, ox, flip), _reference_crop(x, oy, ox, flip).float())


def test_crop_flip_rejects_bad_offsets_and_shapes() -> None:
    x = _batch(2)
    with pytest.raises(ValueError, match=r"values in 0..8"):
        crop_flip(x, torch.tensor([0, 9]), torch.tensor([0, 0]))
    with pytest.raises(ValueError, match=r"shape \(2,\)"):
        crop_flip(x, torch.tensor([0]), torch.tensor([0, 0]))
    with pytest.raises(ValueError, match="padding must be >= 0"):
        random_crop(x, padding=-1)
    with pytest.raises(ValueError, match=r"\(N, C, H, W\)"):
        random_crop(x[0])


def test_random_crop_is_seeded_and_draws_offsets_in_range() -> None:
    x = _batch(32)
    a = random_crop(x, generator=torch.Generator().manual_seed(5))
    b = random_crop(x, generator=torch.Generator().manual_seed(5))
    assert a.shape == x.shape and a.dtype == torch.uint8 and torch.equal(a, b)
    oy, ox = torch.randint(0, 9, (2, 32), generator=torch.Generator().manual_seed(5))
    assert torch.equal(a, _reference_crop(x, oy, ox, torch.zeros(32, dtype=torch.bool)))
    torch.manual_seed(0)  # the global RNG path (seed_everything)
    c = random_crop(x)
    torch.manual_seed(0)
    assert torch.equal(c, random_crop(x))


def test_hflip_per_sample() -> None:
    x = _batch(64)
    assert torch.equal(random_hflip(x, p=1.0), x.flip(3))
    assert torch.equal(random_hflip(x, p=0.0), x)
    out = random_hflip(x, generator=torch.Generator().manual_seed(0))
    flipped = torch.tensor([torch.equal(o, i.flip(2)) for o, i in zip(out, x)])
    kept = torch.tensor([torch.equal(o, i) for o, i in zip(out, x)])
    assert (flipped ^ kept).all() and 10 < int(flipped.sum()) < 54


def test_cutout_zeroes_one_clipped_square() -> None:
    x = torch.full((3, 3, 32, 32), 200, dtype=torch.uint8)
    out = cutout(x, 16, centre_y=torch.tensor([16, 0, 31]), centre_x=torch.tensor([10, 0, 20]))
    zero = out == 0  # (3, 3, 32, 32)
    assert (zero == zero[:, :1]).all()  # same square in every channel
    assert zero[0, 0, 8:24, 2:18].all() and int(zero[0, 0].sum()) == 16 * 16
    assert zero[1, 0, :8, :8].all() and int(zero[1, 0].sum()) == 8 * 8  # clipped at the top-left corner
    assert zero[2, 0, 23:, 12:28].all() and int(zero[2, 0].sum()) == 9 * 16  # clipped at the bottom


@pytest.mark.parametrize("length", [16, 8, 5])
def test_random_cutout_one_square_of_at_most_length(length: int) -> None:
    x = torch.full((200, 3, 32, 32), 255, dtype=torch.uint8)
    zero = random_cutout(x, length, generator=torch.Generator().manual_seed(0))[:, 0] == 0  # (N, H, W)
    side = 2 * (length // 2)
    rows, cols = zero.any(2), zero.any(1)  # (N, H), (N, W)
    for z, r, c in zip(zero, rows, cols):
        h, w = int(r.sum()), int(c.sum())
        assert 0 < h <= side and 0 < w <= side and int(z.sum()) == h * w  # one filled rectangle
        assert int(r.nonzero().max() - r.nonzero().min()) == h - 1  # contiguous rows
        assert int(c.nonzero().max() - c.nonzero().min()) == w - 1
    assert (rows.sum(1) == side).any() and (rows.sum(1) < side).any()  # some full, some clipped


def test_normalize_numbers() -> None:
    x = torch.zeros(2, 3, 4, 4, dtype=torch.uint8)
    x[1] = 255
    out = normalize(x, CIFAR10_MEAN, CIFAR10_STD)
    assert out.dtype == torch.float32
    torch.testing.assert_close(out[0], (-MEAN / STD)[0].expand(3, 4, 4))
    torch.testing.assert_close(out[1], ((1 - MEAN) / STD)[0].expand(3, 4, 4))
    half = torch.full((1, 3, 2, 2), 0.5)  # float input is taken as 0..1
    torch.testing.assert_close(normalize(half, CIFAR10_MEAN, CIFAR10_STD), (half - MEAN) / STD)
    images = _batch(4)
    torch.testing.assert_close(normalize(images, CIFAR10_MEAN, CIFAR10_STD), (images / 255.0 - MEAN) / STD)
    with pytest.raises(ValueError, match="need 3 entries"):
        normalize(x, (0.5,), (0.2,))


def test_train_transform_cuts_out_before_normalising() -> None:
    x = torch.full((4, 3, 32, 32), 128, dtype=torch.uint8)
    aug = BatchAugment(CIFAR10_MEAN, CIFAR10_STD, crop_padding=0, hflip=False, cutout_length=16)
    out = aug.train(x, generator=torch.Generator().manual_seed(0))
    cut = (-MEAN / STD).view(3)
    kept = ((128 / 255 - MEAN) / STD).view(3)
    for c in range(3):
        values = out[:, c].unique()
        assert len(values) == 2
        torch.testing.assert_close(values.sort().values, torch.stack([cut[c], kept[c]]).sort().values)


def test_train_and_eval_transforms() -> None:
    x = _batch(16)
    aug = BatchAugment(CIFAR10_MEAN, CIFAR10_STD, cutout_length=16)
    out = aug.train(x, generator=torch.Generator().manual_seed(3))
    assert out.shape == x.shape and out.dtype == torch.float32
    torch.testing.assert_close(out, aug.train(x, generator=torch.Generator().manual_seed(3)))
    assert not torch.allclose(out, aug.eval(x))
    torch.testing.assert_close(aug.eval(x), normalize(x, CIFAR10_MEAN, CIFAR10_STD))
    plain = BatchAugment(CIFAR10_MEAN, CIFAR10_STD, crop_padding=0, hflip=False)
    torch.testing.assert_close(plain.train(x), plain.eval(x))  # nothing random left
    torch.testing.assert_close(aug.train(x.float() / 255, generator=torch.Generator().manual_seed(3)), out)


def test_batch_augment_rejects_bad_settings() -> None:
    with pytest.raises(ValueError, match="must be >= 0"):
        BatchAugment(CIFAR10_MEAN, CIFAR10_STD, crop_padding=-1)
    with pytest.raises(ValueError, match="one entry per channel"):
        BatchAugment((0.5, 0.5), CIFAR10_STD)
    with pytest.raises(ValueError, match="std > 0"):
        BatchAugment(CIFAR10_MEAN, (0.2, 0.0, 0.2))


def test_cpu_thread_count_is_restored() -> None:
    threads = torch.get_num_threads()
    aug = BatchAugment(CIFAR10_MEAN, CIFAR10_STD, cutout_length=16)
    aug.train(_batch(4))
    aug.eval(_batch(4))
    assert torch.get_num_threads() == threads
