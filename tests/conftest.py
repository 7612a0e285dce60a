"""Fixtures shared by every test directory."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import torch


@pytest.fixture(scope="module")
def one_intra_op_thread() -> Iterator[None]:
    """Tiny CPU networks run fastest on one thread (and far slower with two on a shared, busy 2-core box);
    torch's setting is restored after the module."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
