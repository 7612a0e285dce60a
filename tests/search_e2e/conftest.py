"""Fixtures of the end-to-end search tests (helpers in ``e2e_helpers``; never ``import conftest``)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from e2e_helpers import N_VAL, SPACES, SearchRun, run_cli, write_search

from nsga_lightning.data import CIFAR10DataModule


@pytest.fixture(scope="module", params=sorted(SPACES))
def finished_search(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[SearchRun]:
    """One complete two-generation search per space, shared by the read-only checks of a module."""
    folder = tmp_path_factory.mktemp(f"search-{request.param}")
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(folder)
        config = write_search(folder, request.param)
        first = run_cli("search", "--config", str(config))
        assert first.code == 0, first.err
        yield SearchRun(request.param, folder, config, folder / "run", first)


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty working directory for one test (everything the commands write stays in it)."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def datamodule(workdir: Path) -> CIFAR10DataModule:
    """A tiny CIFAR-10 (written to ./data) with a held-out validation split, as a search would use it."""
    write_search(workdir, "micro")  # writes ./data
    return CIFAR10DataModule(data_dir="data", batch_size=16, eval_batch_size=32, val_split=N_VAL)
