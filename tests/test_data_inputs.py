"""What a network takes from its datamodule (``nsga_lightning.data_inputs``): the attributes, a value given for a
missing one, the channels of a training batch (the random state untouched), one-line errors."""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch
from lightning.pytorch import LightningDataModule
from torch.utils.data import DataLoader, TensorDataset

from nsga_lightning.data import DigitsDataModule
from nsga_lightning.data_inputs import (
    WITHOUT_DATA,
    channels_of_first_batch,
    inputs_from_data,
    preserved_random_state,
)


class Images(LightningDataModule):
    """Six random ``channels``-channel 8x8 images; states what it is given as attributes."""

    def __init__(self, channels: int = 2, batch: str = "tuple", **attributes: object) -> None:
        super().__init__()
        self.channels, self.batch, self.prepared = channels, batch, 0
        for name, value in attributes.items():
            setattr(self, name, value)

    def prepare_data(self) -> None:
        self.prepared += 1

    def train_dataloader(self) -> DataLoader:
        images, labels = torch.rand(6, self.channels, 8, 8), torch.zeros(6, dtype=torch.long)
        if self.batch == "flat":
            return DataLoader(images.flatten(1), batch_size=3, shuffle=True)
        return DataLoader(TensorDataset(images, labels), batch_size=3, shuffle=True)


def test_the_attributes_are_taken_and_a_given_value_must_equal_them():
    data = Images(num_classes=4, in_channels=2, image_size=8)
    assert inputs_from_data(data) == {"num_classes": 4, "in_channels": 2, "image_size": 8}
    assert inputs_from_data(data, {"num_classes": 4, "in_channels": None}) == inputs_from_data(data)
    assert data.prepared == 0  # nothing was loaded
    with pytest.raises(ValueError, match=r"model.in_channels 3 differs from the in_channels of Images \(2\): leave "
                                         r"model.in_channels out, it follows the data"):
        inputs_from_data(data, {"in_channels": 3})


def test_the_built_in_datamodules_state_three_channels():
    assert inputs_from_data(DigitsDataModule(image_size=16)) == {"num_classes": 10, "in_channels": 3, "image_size": 16}


def test_channels_come_from_one_training_batch_with_the_random_state_untouched():
    data = Images(channels=5, num_classes=2)
    torch.manual_seed(1)
    state = torch.get_rng_state()
    assert inputs_from_data(data) == {"num_classes": 2, "in_channels": 5, "image_size": 32}  # 32: not stated
    assert torch.equal(torch.get_rng_state(), state) and data.prepared == 1
    assert inputs_from_data(data, {"in_channels": 7, "image_size": 8})["in_channels"] == 7
    assert data.prepared == 1  # given: no batch read


def _seed_all() -> None:
    random.seed(1)
    np.random.seed(1)
    torch.manual_seed(1)


def _draw() -> tuple[float, float, float]:
    return random.random(), float(np.random.rand()), float(torch.rand(1))


def test_the_random_state_is_preserved_whatever_the_block_draws():
    _seed_all()
    expected = _draw()
    _seed_all()
    with preserved_random_state():
        _draw()
        _draw()
    assert _draw() == expected


def test_without_num_classes_or_images_in_the_batch_one_line_says_what_to_add():
    with pytest.raises(ValueError, match=r"^Images has no num_classes attribute: add one \(an int property, the "
                                         r"number of classes its labels count from 0\), or give --x N$"):
        inputs_from_data(Images(), how_to_give="--x")
    assert inputs_from_data(Images(), {"num_classes": 3})["num_classes"] == 3
    with pytest.raises(ValueError, match=r"first training batch holds no \(N, C, H, W\) images \(\(3, 128\)\): add an "
                                         r"in_channels property"):
        channels_of_first_batch(Images(batch="flat"))


@pytest.mark.parametrize("value", [0, -1, True, 2.5, "3"])
def test_an_attribute_must_be_a_positive_integer(value):
    with pytest.raises(ValueError, match=r"Images.num_classes must be a positive integer"):
        inputs_from_data(Images(num_classes=value, in_channels=1))


def test_without_data_the_given_values_or_the_cifar_defaults():
    assert inputs_from_data(None) == WITHOUT_DATA == {"num_classes": 10, "in_channels": 3, "image_size": 32}
    assert inputs_from_data(None, {"in_channels": 4, "image_size": 96})["in_channels"] == 4
    with pytest.raises(ValueError, match="only num_classes, in_channels, image_size follow the data, not stem"):
        inputs_from_data(None, {"stem": "cifar"})
