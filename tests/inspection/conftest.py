"""Fixtures of the inspection tests: one small finished search run, and the CLI run in-process."""

from __future__ import annotations

from pathlib import Path

import pytest
from inspection_helpers import run_small_search


@pytest.fixture(scope="session")
def search_run(tmp_path_factory) -> tuple[Path, list[str]]:
    """``(run_dir, pareto_keys)`` of one small finished micro search (shared; tests must not modify it)."""
    run_dir = tmp_path_factory.mktemp("inspection") / "run"
    return run_dir, run_small_search(run_dir)


@pytest.fixture
def cli(capsys):
    """Run ``nsga-lightning ARGS`` in-process; returns ``(exit code, stdout, stderr)``."""
    from nsga_lightning.cli import main

    def run(*args: str) -> tuple[int, str, str]:
        capsys.readouterr()
        code = main([str(a) for a in args])
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return run
