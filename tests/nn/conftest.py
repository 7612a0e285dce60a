"""Fixtures of the nn tests."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True, scope="module")
def _one_intra_op_thread(one_intra_op_thread: None) -> None:
    """Every nn test module runs on one intra-op thread (see ``tests/conftest.py``)."""
