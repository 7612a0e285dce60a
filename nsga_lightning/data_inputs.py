"""What a network takes from its datamodule: ``num_classes``, ``in_channels`` and ``image_size``.

The contract: a datamodule exposes ``num_classes`` (int), ``image_size`` (int, the side of its square images)
and ``in_channels`` (int, the channels of its images). Every built-in datamodule does. For other datamodules:

* without ``num_classes`` nothing can be built: one line says to add the attribute (or where the caller allows
  it, to give the value, e.g. ``--model.num_classes``);
* without ``in_channels`` the channels are read from the first training batch: ``prepare_data()``,
  ``setup("fit")`` and one batch of ``train_dataloader()`` run at once (the global random state is left as it
  was), i.e. the data is loaded when the model is built, and Lightning calls ``setup`` again before training;
* without ``image_size``, 32 (the CIFAR size) is assumed, as before.

A value given by the user where the datamodule has its own must equal it (a model for 10 classes cannot train on
100). Used by the training commands and by the search; this module imports only torch and Lightning.
"""

from __future__ import annotations

import numbers
import random
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import numpy as np
import torch
from lightning.pytorch import LightningDataModule

FROM_DATA = ("num_classes", "in_channels", "image_size")  # model options that follow the data
WITHOUT_DATA = {"num_classes": 10, "in_channels": 3, "image_size": 32}  # when there is no datamodule at all


def _name(datamodule: Any) -> str:
    return type(datamodule).__name__


def _checked(datamodule: Any, name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{_name(datamodule)}.{name} must be a positive integer, got {value!r}")
    return int(value)


@contextmanager
def preserved_random_state() -> Iterator[None]:
    """Run the block without changing the global random state of torch (CPU), numpy and ``random``: reading
    what a datamodule states must not shift the seeded stream that training draws from."""
    python_state, numpy_state = random.getstate(), np.random.get_state()
    try:
        with torch.random.fork_rng(devices=[]):
            yield
    finally:
        random.setstate(python_state)
        np.random.set_state(numpy_state)


def channels_of_first_batch(datamodule: LightningDataModule) -> int:
    """The channels of the images of the datamodule's first training batch (``(N, C, H, W)``, or the first
    element of a tuple/list batch); prepares and sets up the datamodule for fitting, the global random state
    stays as it was.

    Raises:
        ValueError: if the batch holds no 4-dimensional image tensor (saying to add ``in_channels``).
    """
    with preserved_random_state():  # a shuffled loader draws from the global generator
        datamodule.prepare_data()
        datamodule.setup("fit")
        batch = next(iter(datamodule.train_dataloader()))
    images = batch[0] if isinstance(batch, (tuple, list)) else batch
    if not isinstance(images, torch.Tensor) or images.ndim != 4:
        shape = tuple(images.shape) if isinstance(images, torch.Tensor) else type(images).__name__
        raise ValueError(f"{_name(datamodule)} has no in_channels attribute and its first training batch holds no "
                         f"(N, C, H, W) images ({shape}): add an in_channels property (int) to it")
    return int(images.shape[1])


def inputs_from_data(datamodule: LightningDataModule | None, given: Mapping[str, Any] | None = None,
                     how_to_give: str | None = None) -> dict[str, int]:
    """``num_classes``, ``in_channels`` and ``image_size`` of a network for ``datamodule``.

    Args:
        datamodule: the data (``None``: no data at all; then the given values or 10 classes, 3 channels, 32x32).
        given: values the user gave (``None`` or absent: follow the data). Where the datamodule has the
            attribute they must equal it; where it has none they stand in for it.
        how_to_give: the option by which the user gives ``num_classes`` (e.g. ``"--model.num_classes"``), named
            in the error for a datamodule without it; ``None``: the caller takes no value, the error says to add
            the attribute only.

    Returns:
        ``{"num_classes": ..., "in_channels": ..., "image_size": ...}``.

    Raises:
        ValueError: one line: a given value that differs from the datamodule's, a datamodule without
            ``num_classes`` and none given, a non-positive attribute, or a first batch without images.
    """
    given = {name: value for name, value in (given or {}).items() if value is not None}
    unknown = sorted(set(given) - set(FROM_DATA))
    if unknown:
        raise ValueError(f"only {', '.join(FROM_DATA)} follow the data, not {', '.join(unknown)}")
    values = {}
    for name in FROM_DATA:
        own = getattr(datamodule, name, None) if datamodule is not None else None
        if own is not None:
            own = _checked(datamodule, name, own)
            if name in given and _checked(datamodule, name, given[name]) != own:
                raise ValueError(f"model.{name} {given[name]} differs from the {name} of {_name(datamodule)} ({own}): "
                                 f"leave model.{name} out, it follows the data")
            values[name] = own
        elif name in given:
            values[name] = _checked(datamodule, name, given[name])
        elif datamodule is None:
            values[name] = WITHOUT_DATA[name]
        elif name == "num_classes":
            give = f", or give {how_to_give} N" if how_to_give else ""
            raise ValueError(f"{_name(datamodule)} has no num_classes attribute: add one (an int property, the number "
                             f"of classes its labels count from 0){give}")
        elif name == "in_channels":
            values[name] = channels_of_first_batch(datamodule)
        else:
            values[name] = WITHOUT_DATA["image_size"]
    return values
