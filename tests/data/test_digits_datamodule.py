"""The scikit-learn digits datamodule: sizes, shapes, classes, statistics and splits."""

from __future__ import annotations

import pytest
import torch

from nsga_lightning.data import DigitsDataModule, load_digits_images
from nsga_lightning.data.digits import DIGITS_MEAN, DIGITS_STD


def test_images_are_three_channel_32x32_uint8() -> None:
    images, labels = load_digits_images()
    assert images.shape == (1797, 3, 32, 32) and images.dtype == torch.uint8
    assert torch.equal(images[:, 0], images[:, 1]) and torch.equal(images[:, 0], images[:, 2])
    assert labels.dtype == torch.int64 and sorted(labels.unique().tolist()) == list(range(10))
    assert int(images.min()) == 0 and 200 < int(images.max()) <= 255


def test_normalisation_constants_match_the_data() -> None:
    scaled = load_digits_images()[0].float() / 255
    assert abs(scaled.mean().item() - DIGITS_MEAN[0]) < 1e-3
    assert abs(scaled.std().item() - DIGITS_STD[0]) < 1e-3


def test_default_split_sizes_and_disjointness() -> None:
    dm = DigitsDataModule()
    dm.setup()
    assert dm.num_classes == 10
    assert dm.train_set is not None and dm.val_set is not None and dm.test_set is not None
    sizes = (len(dm.train_set), len(dm.val_set), len(dm.test_set))
    assert sizes == (1150, 288, 359) and sum(sizes) == 1797  # test 0.2 of all, val 0.2 of the rest
    keys = [{bytes(x.flatten().tolist()) + bytes([int(y)]) for x, y in zip(*s.tensors)}
            for s in (dm.train_set, dm.val_set, dm.test_set)]  # fmt: skip
    assert keys[0].isdisjoint(keys[1]) and keys[0].isdisjoint(keys[2]) and keys[1].isdisjoint(keys[2])
    assert sorted(dm.train_set.tensors[1].unique().tolist()) == list(range(10))


def test_split_forms_and_seed() -> None:
    dm = DigitsDataModule(val_split=100, test_split=0.5, split_seed=3)
    dm.setup()
    assert dm.test_set is not None and dm.val_set is not None
    assert (len(dm.test_set), len(dm.val_set)) == (898, 100)
    again = DigitsDataModule(val_split=100, test_split=0.5, split_seed=3)
    again.setup()
    assert again.test_set is not None and torch.equal(dm.test_set.tensors[1], again.test_set.tensors[1])
    no_val = DigitsDataModule(val_split=0)
    no_val.setup("fit")
    assert no_val.val_dataloader() == []


@pytest.mark.parametrize("test_split", [0, 1.0, -3, 0.0])
def test_bad_test_split(test_split: float) -> None:
    with pytest.raises(ValueError, match="test_split must be"):
        DigitsDataModule(test_split=test_split)


def test_batches_and_transforms() -> None:
    dm = DigitsDataModule(batch_size=32)
    images, labels = next(iter(dm.train_dataloader()))
    assert images.shape == (32, 3, 32, 32) and images.dtype == torch.uint8 and labels.shape == (32,)
    assert not dm.hflip and dm.transform.crop_padding == 4
    out = dm.transform.eval(images)
    assert abs(float(out.mean())) < 0.5 and 0.5 < float(out.std()) < 1.5  # roughly standardised
