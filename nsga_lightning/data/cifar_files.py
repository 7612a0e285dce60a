"""Reader for the python-pickle CIFAR-10/100 format, straight into uint8 tensors.

The official "python version" archives unpack to::

    data_dir/cifar-10-batches-py/{data_batch_1..5, test_batch, batches.meta}
    data_dir/cifar-100-python/{train, test, meta}

Every data file is a pickled dict with ``b"data"`` (an ``(N, 3072)`` uint8 array, rows holding the red, green
and blue 32x32 planes in turn) and the labels (``b"labels"`` for CIFAR-10, ``b"fine_labels"`` for CIFAR-100).
Instead of comparing checksums (which would reject the small synthetic files the tests write), the reader
checks the structure: keys present, data shape and dtype, label count and label range. Anything wrong raises
one ``FileNotFoundError``/``ValueError`` naming the file and what belongs there.

Only read files you trust: like torchvision, this unpickles them.
"""

from __future__ import annotations

import pickle
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

__all__ = ["CIFAR_SPECS", "CifarSpec", "cifar_folder", "read_cifar", "read_cifar_file"]

IMAGE_SHAPE: tuple[int, int, int] = (3, 32, 32)
_ROW_LENGTH = 3 * 32 * 32


@dataclass(frozen=True)
class CifarSpec:
    """Where one CIFAR variant lives on disk and how its files are keyed.

    Attributes:
        kind: ``"cifar10"`` or ``"cifar100"``.
        folder: Folder name inside ``data_dir``.
        archive: Name of the official python-version archive that unpacks into ``folder``.
        train_files: Data files of the official training set, in order.
        test_files: Data files of the official test set.
        meta_file: Name of the metadata file (class names); written, not needed for reading.
        label_key: Dict key of the labels.
        num_classes: Number of classes; labels lie in ``0..num_classes-1``.
    """

    kind: str
    folder: str
    archive: str
    train_files: tuple[str, ...]
    test_files: tuple[str, ...]
    meta_file: str
    label_key: bytes
    num_classes: int


CIFAR_SPECS: dict[str, CifarSpec] = {
    "cifar10": CifarSpec(
        kind="cifar10",
        folder="cifar-10-batches-py",
        archive="cifar-10-python.tar.gz",
        train_files=tuple(f"data_batch_{i}" for i in range(1, 6)),
        test_files=("test_batch",),
        meta_file="batches.meta",
        label_key=b"labels",
        num_classes=10,
    ),
    "cifar100": CifarSpec(
        kind="cifar100",
        folder="cifar-100-python",
        archive="cifar-100-python.tar.gz",
        train_files=("train",),
        test_files=("test",),
        meta_file="meta",
        label_key=b"fine_labels",
        num_classes=100,
    ),
}


def _spec(kind: str) -> CifarSpec:
    if kind not in CIFAR_SPECS:
        raise ValueError(f"unknown CIFAR kind {kind!r}; allowed: {sorted(CIFAR_SPECS)}")
    return CIFAR_SPECS[kind]


def cifar_folder(root: str | Path, kind: str) -> Path:
    """Return the folder that holds one CIFAR variant's files under ``root``.

    Args:
        root: The ``data_dir`` (the folder the archive was extracted into).
        kind: ``"cifar10"`` or ``"cifar100"``.

    Returns:
        ``root/cifar-10-batches-py`` or ``root/cifar-100-python``.

    Raises:
        ValueError: If ``kind`` is unknown.
    """
    return Path(root) / _spec(kind).folder


def cifar_files_present(root: str | Path, kind: str) -> bool:
    """Whether every training and test data file of ``kind`` is under ``root`` (existence only; the reader
    checks the content).

    Raises:
        ValueError: If ``kind`` is unknown.
    """
    spec, folder = _spec(kind), cifar_folder(root, kind)
    return all((folder / name).is_file() for name in (*spec.train_files, *spec.test_files))


def _lookup(content: dict[Any, Any], key: bytes) -> Any:
    """Return ``content[key]``, accepting the ``str`` form of a bytes key (files re-saved by python 3)."""
    if key in content:
        return content[key]
    return content.get(key.decode())


def read_cifar_file(path: str | Path, kind: str) -> tuple[Tensor, Tensor]:
    """Read one CIFAR data file and check its structure.

    Args:
        path: Path of one data file (e.g. ``.../cifar-10-batches-py/data_batch_1``).
        kind: ``"cifar10"`` or ``"cifar100"`` (selects the label key and the label range).

    Returns:
        ``(images, labels)``: uint8 ``(N, 3, 32, 32)`` and int64 ``(N,)``.

    Raises:
        FileNotFoundError: If the file does not exist.
        ValueError: If ``kind`` is unknown or the file is not a well-formed CIFAR data file.
    """
    spec = _spec(kind)
    path = Path(path)
    hint = f"pass download=true or place the official python-version archive ({spec.archive}) extracted there"
    if not path.is_file():
        raise FileNotFoundError(f"expected the {spec.kind} data file {path}; {hint}")
    try:
        with path.open("rb") as handle:
            content = pickle.load(handle, encoding="bytes")
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, ImportError) as err:
        raise ValueError(f"{path} is not a readable python-pickle CIFAR file ({err}); {hint}") from err
    if not isinstance(content, dict):
        raise ValueError(f"{path} holds a {type(content).__name__}, expected a dict; {hint}")

    label_key = spec.label_key
    data, labels = _lookup(content, b"data"), _lookup(content, label_key)
    missing = [key.decode() for key, value in ((b"data", data), (label_key, labels)) if value is None]
    if missing:
        found = sorted(k.decode() if isinstance(k, bytes) else str(k) for k in content)
        raise ValueError(f"{path} lacks the key(s) {missing} (found {found}); {hint}")

    if not isinstance(data, np.ndarray) or data.ndim != 2 or data.shape[1] != _ROW_LENGTH:
        shape = getattr(data, "shape", type(data).__name__)
        raise ValueError(
            f"{path}: 'data' must be an (N, {_ROW_LENGTH}) uint8 array, got shape {shape}; {hint}"
        )
    if data.dtype != np.uint8:
        raise ValueError(f"{path}: 'data' must have dtype uint8, got {data.dtype}; {hint}")
    try:
        label_array = np.asarray(labels, dtype=np.int64).reshape(-1)
    except (TypeError, ValueError) as err:
        raise ValueError(
            f"{path}: {label_key.decode()!r} must be a list of integers ({err}); {hint}"
        ) from err
    if len(label_array) != len(data):
        raise ValueError(
            f"{path}: {len(data)} images but {len(label_array)} {label_key.decode()!r} entries; {hint}"
        )
    if len(label_array) and (label_array.min() < 0 or label_array.max() >= spec.num_classes):
        raise ValueError(
            f"{path}: labels must lie in 0..{spec.num_classes - 1}, found "
            f"{label_array.min()}..{label_array.max()}; {hint}"
        )
    images = torch.from_numpy(np.ascontiguousarray(data)).view(-1, *IMAGE_SHAPE)  # (N, 3, 32, 32) uint8
    return images, torch.from_numpy(label_array)


def read_cifar(root: str | Path, kind: str, train: bool) -> tuple[Tensor, Tensor]:
    """Read the official training or test set of CIFAR-10/100 from ``root``.

    Args:
        root: The ``data_dir`` holding ``cifar-10-batches-py/`` or ``cifar-100-python/``.
        kind: ``"cifar10"`` or ``"cifar100"``.
        train: ``True`` for the training files (all five batches for CIFAR-10), ``False`` for the test file.

    Returns:
        ``(images, labels)``: uint8 ``(N, 3, 32, 32)`` and int64 ``(N,)``, files concatenated in order.

    Raises:
        FileNotFoundError: If the folder or one of its data files is missing.
        ValueError: If ``kind`` is unknown or a file is malformed.
    """
    spec = _spec(kind)
    folder = cifar_folder(root, kind)
    names = spec.train_files if train else spec.test_files
    if not folder.is_dir():
        raise FileNotFoundError(
            f"expected the folder {folder} holding {', '.join(names)} (data_dir={str(root)!r}); pass "
            f"download=true or place the official python-version archive ({spec.archive}) extracted there"
        )
    parts = [read_cifar_file(folder / name, kind) for name in names]
    if len(parts) == 1:
        return parts[0]
    return torch.cat([p[0] for p in parts]), torch.cat([p[1] for p in parts])
