"""Tiny CIFAR-format files for tests and benchmarks, learnable by a small network.

``write_cifar_files`` writes the same folder layout, file names and pickled dict keys as the official
python-version archives, so that the real reader (:mod:`nsga_lightning.data.cifar_files`) and the datamodules
read them unchanged. Each class has its own mean colour and its own stripe pattern (orientation and
frequency), with Gaussian noise on top, so a linear model already beats chance.
"""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np

from nsga_lightning.data.cifar_files import CIFAR_SPECS, cifar_folder

__all__ = ["synthetic_cifar_arrays", "write_cifar_files"]


def synthetic_cifar_arrays(n: int, num_classes: int, seed: int) -> tuple[np.ndarray, list[int]]:
    """Make ``n`` class-dependent 32x32 colour images in the CIFAR row layout.

    Args:
        n: Number of images (>= 0).
        num_classes: Number of classes; labels cycle through all classes before shuffling.
        seed: Seed of the numpy generator (the class look and the noise both depend on it).

    Returns:
        ``(data, labels)``: uint8 ``(n, 3072)`` (red, green, blue planes in turn) and a list of ``n`` ints.
    """
    rng = np.random.default_rng(seed)
    # The class look depends only on the number of classes, so train and test files share it.
    look = np.random.default_rng(num_classes)
    colours = look.integers(48, 208, size=(num_classes, 3, 1, 1))  # (K, 3, 1, 1)
    angles = look.uniform(0.0, np.pi, size=num_classes)
    freqs = look.uniform(0.2, 0.9, size=num_classes)
    labels = rng.permutation(np.arange(n) % num_classes)  # (n,)
    yy, xx = np.mgrid[0:32, 0:32]  # (32, 32) each
    phase = (np.cos(angles)[:, None, None] * xx + np.sin(angles)[:, None, None] * yy) * freqs[:, None, None]
    stripes = 40.0 * np.sin(phase)[:, None]  # (K, 1, 32, 32)
    images = colours[labels] + stripes[labels] + rng.normal(0.0, 24.0, size=(n, 3, 32, 32))
    data = np.clip(np.rint(images), 0, 255).astype(np.uint8).reshape(n, 3072)
    return data, [int(v) for v in labels]


def _dump(path: Path, content: dict[bytes, object]) -> None:
    with path.open("wb") as handle:
        pickle.dump(content, handle, protocol=2)


def write_cifar_files(
    root: str | Path, kind: str = "cifar10", n_train: int = 50, n_test: int = 20, seed: int = 0
) -> Path:
    """Write a tiny CIFAR-10 or CIFAR-100 dataset in the official python-pickle format.

    CIFAR-10 gets ``data_batch_1..5`` (``n_train`` split as evenly as possible), ``test_batch`` and
    ``batches.meta``; CIFAR-100 gets ``train``, ``test`` and ``meta``. Keys are bytes, as in the originals.

    Args:
        root: The ``data_dir``; the variant's folder is created inside it.
        kind: ``"cifar10"`` or ``"cifar100"``.
        n_train: Number of training images (CIFAR-10: at least 5, one per batch file; CIFAR-100: at least 1).
        n_test: Number of test images (at least 1).
        seed: Seed for labels and noise (the test set uses ``seed + 1``).

    Returns:
        The folder written (``root/cifar-10-batches-py`` or ``root/cifar-100-python``).

    Raises:
        ValueError: If ``kind`` is unknown or a size is too small.
    """
    if kind not in CIFAR_SPECS:
        raise ValueError(f"unknown CIFAR kind {kind!r}; allowed: {sorted(CIFAR_SPECS)}")
    spec = CIFAR_SPECS[kind]
    min_train = len(spec.train_files)
    if n_train < min_train or n_test < 1:
        raise ValueError(
            f"{kind} needs n_train >= {min_train} and n_test >= 1, got n_train={n_train}, n_test={n_test}"
        )
    folder = cifar_folder(root, kind)
    folder.mkdir(parents=True, exist_ok=True)
    label_key = spec.label_key

    def content(data: np.ndarray, labels: list[int], batch_label: str) -> dict[bytes, object]:
        out: dict[bytes, object] = {
            b"batch_label": batch_label.encode(),
            label_key: labels,
            b"data": data,
            b"filenames": [f"synthetic_{i:05d}.png".encode() for i in range(len(labels))],
        }
        if kind == "cifar100":
            out[b"coarse_labels"] = [v // 5 for v in labels]
        return out

    train_data, train_labels = synthetic_cifar_arrays(n_train, spec.num_classes, seed)
    bounds = np.linspace(0, n_train, len(spec.train_files) + 1).round().astype(int)
    for i, name in enumerate(spec.train_files):
        lo, hi = bounds[i], bounds[i + 1]
        _dump(folder / name, content(train_data[lo:hi], train_labels[lo:hi], f"training batch {i + 1}"))
    test_data, test_labels = synthetic_cifar_arrays(n_test, spec.num_classes, seed + 1)
    _dump(folder / spec.test_files[0], content(test_data, test_labels, "testing batch 1"))

    names = [f"class_{i}".encode() for i in range(spec.num_classes)]
    meta: dict[bytes, object] = (
        {b"label_names": names, b"num_cases_per_batch": int(bounds[1]), b"num_vis": 3072}
        if kind == "cifar10"
        else {b"fine_label_names": names, b"coarse_label_names": [f"super_{i}".encode() for i in range(20)]}
    )
    _dump(folder / spec.meta_file, meta)
    return folder
