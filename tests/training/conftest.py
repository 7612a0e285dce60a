"""Fixtures of the training tests: one intra-op thread, tiny CIFAR-format folders."""

from __future__ import annotations

from pathlib import Path

import pytest

from nsga_lightning.data import write_cifar_files


@pytest.fixture(autouse=True, scope="module")
def _one_intra_op_thread(one_intra_op_thread: None) -> None:
    """Every training test module runs on one intra-op thread (see ``tests/conftest.py``)."""


@pytest.fixture(scope="session")
def cifar_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data_dir holding a 48/16-image CIFAR-10 and a 40/20-image CIFAR-100 in the official on-disk format."""
    root = tmp_path_factory.mktemp("cifar")
    write_cifar_files(root, "cifar10", n_train=48, n_test=16, seed=0)
    write_cifar_files(root, "cifar100", n_train=40, n_test=20, seed=0)
    return root
