"""Fixtures of the callback tests: a fast search with analytic objectives (no training) to drive the search
callbacks through real runner hooks and a real archive."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import pytest

from nsga_lightning.search import FunctionEvaluator, SearchRunner
from nsga_lightning.spaces import make_space


def analytic(candidate) -> dict[str, float]:
    """Deterministic objectives from the genome (a few keys fail, to exercise failures)."""
    total = sum(candidate.genome)
    if total % 17 == 0:
        raise RuntimeError("analytic failure")
    return {"error": 5.0 + 90.0 * math.exp(-total / 40.0), "madds": 1000.0 + 37 * total, "params": 500.0 + 11 * total}


@pytest.fixture
def make_search(tmp_path: Path) -> Callable[..., SearchRunner]:
    """``make_search(callbacks, **settings)``: a micro-space runner in ``tmp_path/run``."""

    def make(callbacks=(), run_dir: Path | None = None, **settings) -> SearchRunner:
        options = {"pop_size": 6, "n_offspring": 3, "n_gens": 3, "seed": 0, **settings}
        return SearchRunner(make_space("micro"), FunctionEvaluator(analytic, {"kind": "analytic"}),
                            run_dir or tmp_path / "run", callbacks=list(callbacks), **options)

    return make
