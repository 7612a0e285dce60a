"""Fixtures of the search tests."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture
def folder(tmp_path: Path) -> Iterator[Path]:
    """Where the soak runs go: a tmpfs folder where there is one (removed afterwards), else ``tmp_path``. The
    archive syncs each commit to disk (what a killed search relies on; not what the soak tests): a few ms each on
    a busy disk, some 650 a run, which would double the soak's time."""
    shm = Path("/dev/shm")
    if not (shm.is_dir() and os.access(shm, os.W_OK)):
        yield tmp_path
        return
    with tempfile.TemporaryDirectory(dir=shm, prefix="nsga-soak-") as name:
        yield Path(name)
