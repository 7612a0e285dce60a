"""The python-pickle CIFAR reader and the synthetic file writer."""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from nsga_lightning.data import read_cifar, read_cifar_file, write_cifar_files
from nsga_lightning.data.cifar_files import CIFAR_SPECS

N_TRAIN, N_TEST = 100, 30  # the sizes the conftest fixtures write


def _load(path: Path) -> dict[bytes, Any]:
    with path.open("rb") as handle:
        return pickle.load(handle, encoding="bytes")


def _dump(path: Path, content: Any) -> None:
    with path.open("wb") as handle:
        pickle.dump(content, handle)


def test_layout_matches_the_official_archives(tmp_path: Path) -> None:
    write_cifar_files(tmp_path, "cifar10", 10, 5)
    write_cifar_files(tmp_path, "cifar100", 10, 5)
    assert sorted(p.name for p in (tmp_path / "cifar-10-batches-py").iterdir()) == [
        "batches.meta", "data_batch_1", "data_batch_2", "data_batch_3", "data_batch_4", "data_batch_5",
        "test_batch",
    ]  # fmt: skip
    assert sorted(p.name for p in (tmp_path / "cifar-100-python").iterdir()) == ["meta", "test", "train"]
    content = _load(tmp_path / "cifar-100-python" / "train")
    assert {b"data", b"fine_labels", b"coarse_labels", b"filenames"} <= set(content)


@pytest.mark.parametrize("kind", ["cifar10", "cifar100"])
def test_read_tiny_files(tmp_path: Path, kind: str) -> None:
    write_cifar_files(tmp_path, kind, n_train=N_TRAIN, n_test=N_TEST, seed=3)
    images, labels = read_cifar(tmp_path, kind, train=True)
    assert images.shape == (N_TRAIN, 3, 32, 32) and images.dtype == torch.uint8
    assert labels.shape == (N_TRAIN,) and labels.dtype == torch.int64
    num_classes = CIFAR_SPECS[kind].num_classes
    assert 0 <= int(labels.min()) and int(labels.max()) < num_classes
    test_images, test_labels = read_cifar(tmp_path, kind, train=False)
    assert test_images.shape == (N_TEST, 3, 32, 32) and test_labels.shape == (N_TEST,)


def test_cifar10_batches_are_concatenated_in_order_and_rows_are_rgb_planes(cifar10_dir: Path) -> None:
    images, labels = read_cifar(cifar10_dir, "cifar10", train=True)
    folder = cifar10_dir / "cifar-10-batches-py"
    first, last = _load(folder / "data_batch_1"), _load(folder / "data_batch_5")
    row = torch.from_numpy(first[b"data"][0])
    assert torch.equal(images[0, 0], row[:1024].view(32, 32))  # red plane
    assert torch.equal(images[0, 2], row[2048:].view(32, 32))  # blue plane
    assert labels[: len(first[b"labels"])].tolist() == first[b"labels"]
    assert labels[-len(last[b"labels"]) :].tolist() == last[b"labels"]


def test_str_keys_are_accepted(tmp_path: Path) -> None:
    data = np.zeros((2, 3072), dtype=np.uint8)
    _dump(tmp_path / "batch", {"data": data, "labels": [0, 9]})
    images, labels = read_cifar_file(tmp_path / "batch", "cifar10")
    assert images.shape == (2, 3, 32, 32) and labels.tolist() == [0, 9]


def test_missing_folder_names_it_and_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="cifar-10-batches-py") as info:
        read_cifar(tmp_path, "cifar10", train=True)
    assert "download=true" in str(info.value) and "cifar-10-python.tar.gz" in str(info.value)
    with pytest.raises(FileNotFoundError, match="cifar-100-python"):
        read_cifar(tmp_path, "cifar100", train=False)


def test_missing_batch_file_is_named(cifar10_dir: Path) -> None:
    (cifar10_dir / "cifar-10-batches-py" / "data_batch_3").unlink()
    with pytest.raises(FileNotFoundError, match=r"cifar-10-batches-py/data_batch_3") as info:
        read_cifar(cifar10_dir, "cifar10", train=True)
    assert "download=true" in str(info.value)
    read_cifar(cifar10_dir, "cifar10", train=False)  # the test file is still fine


def _with(content: dict[bytes, Any], key: bytes, value: Any) -> dict[bytes, Any]:
    out = dict(content)
    if value is None:
        del out[key]
    else:
        out[key] = value
    return out


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (
            lambda c: _with(c, b"data", c[b"data"][:, :3071]),
            r"\(N, 3072\) uint8 array, got shape \(\d+, 3071\)",
        ),
        (lambda c: _with(c, b"data", c[b"data"].reshape(-1, 3, 32, 32)), "got shape"),
        (lambda c: _with(c, b"data", c[b"data"].astype(np.float32)), "dtype uint8, got float32"),
        (lambda c: _with(c, b"data", None), r"lacks the key\(s\) \['data'\]"),
        (lambda c: _with(c, b"labels", None), r"lacks the key\(s\) \['labels'\]"),
        (lambda c: _with(c, b"labels", [10] + c[b"labels"][1:]), r"labels must lie in 0..9, found \d+..10"),
        (lambda c: _with(c, b"labels", [-1] + c[b"labels"][1:]), "labels must lie in 0..9"),
        (lambda c: _with(c, b"labels", c[b"labels"][:-1]), "images but"),
        (lambda c: _with(c, b"labels", ["cat"] * len(c[b"labels"])), "list of integers"),
        (lambda c: [c[b"data"]], "holds a list, expected a dict"),
    ],
)
def test_malformed_file_is_named_with_the_problem(cifar10_dir: Path, mutate: Any, message: str) -> None:
    path = cifar10_dir / "cifar-10-batches-py" / "data_batch_2"
    _dump(path, mutate(_load(path)))
    with pytest.raises(ValueError, match=message) as info:
        read_cifar(cifar10_dir, "cifar10", train=True)
    assert "data_batch_2" in str(info.value) and "download=true" in str(info.value)


def test_truncated_file_is_not_a_pickle(cifar10_dir: Path) -> None:
    path = cifar10_dir / "cifar-10-batches-py" / "test_batch"
    path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(ValueError, match="test_batch is not a readable python-pickle CIFAR file"):
        read_cifar(cifar10_dir, "cifar10", train=False)


def test_cifar100_reads_fine_labels_up_to_99_and_needs_them(cifar100_dir: Path) -> None:
    path = cifar100_dir / "cifar-100-python" / "train"
    content = _load(path)
    content[b"fine_labels"] = [99] * len(content[b"fine_labels"])
    _dump(path, content)
    assert int(read_cifar(cifar100_dir, "cifar100", train=True)[1].max()) == 99
    del content[b"fine_labels"]
    _dump(path, content)
    with pytest.raises(ValueError, match=r"lacks the key\(s\) \['fine_labels'\]"):
        read_cifar(cifar100_dir, "cifar100", train=True)


def test_unknown_kind_lists_the_allowed_ones(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"allowed: \['cifar10', 'cifar100'\]"):
        read_cifar(tmp_path, "svhn", train=True)
    with pytest.raises(ValueError, match="allowed"):
        write_cifar_files(tmp_path, "svhn")


def test_writer_rejects_too_few_images(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="n_train >= 5"):
        write_cifar_files(tmp_path, "cifar10", n_train=4, n_test=1)
    with pytest.raises(ValueError, match="n_test >= 1"):
        write_cifar_files(tmp_path, "cifar100", n_train=1, n_test=0)


def test_writer_is_seeded(tmp_path: Path) -> None:
    a = read_cifar(write_cifar_files(tmp_path / "a", "cifar10", 20, 5, seed=1).parent, "cifar10", True)
    b = read_cifar(write_cifar_files(tmp_path / "b", "cifar10", 20, 5, seed=1).parent, "cifar10", True)
    c = read_cifar(write_cifar_files(tmp_path / "c", "cifar10", 20, 5, seed=2).parent, "cifar10", True)
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    assert not torch.equal(a[0], c[0])


def test_synthetic_classes_are_learnable(tmp_path: Path) -> None:
    """A nearest-class-mean classifier fitted on the training files beats chance by far on the test file."""
    write_cifar_files(tmp_path, "cifar10", n_train=500, n_test=200, seed=0)
    images, labels = read_cifar(tmp_path, "cifar10", train=True)
    test_images, test_labels = read_cifar(tmp_path, "cifar10", train=False)
    features = images.float().flatten(1)
    means = torch.stack([features[labels == k].mean(0) for k in range(10)])  # (10, 3072)
    predicted = torch.cdist(test_images.float().flatten(1), means).argmin(1)
    assert (predicted == test_labels).float().mean() > 0.8
