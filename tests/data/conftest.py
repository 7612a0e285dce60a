"""Fixtures of the data tests: tiny CIFAR-format folders written to ``tmp_path``."""

from __future__ import annotations

from pathlib import Path

import pytest

from nsga_lightning.data import write_cifar_files

N_TRAIN, N_TEST = 100, 30  # repeated in the test modules (never `import conftest`: names clash across dirs)


@pytest.fixture
def cifar10_dir(tmp_path: Path) -> Path:
    """A data_dir holding a 100/30-image CIFAR-10 in the official python-pickle layout."""
    write_cifar_files(tmp_path, "cifar10", n_train=N_TRAIN, n_test=N_TEST, seed=0)
    return tmp_path


@pytest.fixture
def cifar100_dir(tmp_path: Path) -> Path:
    """A data_dir holding a 200/50-image CIFAR-100 in the official python-pickle layout."""
    write_cifar_files(tmp_path, "cifar100", n_train=200, n_test=50, seed=0)
    return tmp_path
