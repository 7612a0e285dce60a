"""Helpers of the end-to-end search tests: tiny CIFAR-format data, search configs, in-process CLI calls.

Every search here runs the real ``nsga-lightning search`` code path in this process (``cli.main``): tiny
proxy networks, one epoch on 40 images, validation on 20 held-out training images.
"""

from __future__ import annotations

import contextlib
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from nsga_lightning.cli import main
from nsga_lightning.data import write_cifar_files
from nsga_lightning.search import Candidate, derive_seed
from nsga_lightning.spaces import make_space

N_TRAIN, N_TEST, N_VAL = 60, 10, 20
POP_SIZE, N_OFFSPRING, N_GENS = 4, 2, 2
N_CANDIDATES = POP_SIZE + (N_GENS - 1) * N_OFFSPRING

SPACES: dict[str, dict[str, Any]] = {
    "micro": {
        "space": {"name": "micro", "n_blocks": 5},
        "model": {"init_channels": 4, "layers": 3, "learning_rate": 0.05},
        "retrain": {"model": {"init_channels": 4, "layers": 3, "filter_increment": 2, "auxiliary": True,
                              "drop_path_prob": 0.1},
                    "trainer": {"max_epochs": 1}},
    },
    "macro": {
        "space": {"name": "macro", "n_nodes": 4},  # not the default 6: the genotype must carry it
        "model": {"init_channels": 4, "decoder": "residual", "learning_rate": 0.05},
        "retrain": {"model": {"decoder": "dense", "channels": [8, 8, 8]}, "trainer": {"max_epochs": 1}},
    },
}


def search_config(space: str, run_dir: str = "run") -> dict[str, Any]:
    """A tiny two-generation search config of ``space`` on the CIFAR-10 files in ``./data``."""
    blocks = SPACES[space]
    return {
        "search": {"pop_size": POP_SIZE, "n_offspring": N_OFFSPRING, "n_gens": N_GENS, "seed": 0,
                   "objectives": ["error", "madds"], "run_dir": run_dir},
        "space": blocks["space"],
        "model": blocks["model"],
        "data": {"class_path": "nsga_lightning.data.CIFAR10DataModule",
                 "init_args": {"data_dir": "data", "batch_size": 16, "eval_batch_size": 32, "val_split": N_VAL,
                               "download": False}},
        "trainer": {"max_epochs": 1, "accelerator": "cpu"},
        "retrain": blocks["retrain"],
        "progress_bar": False,
        "num_threads": 1,
    }


@dataclass
class CliResult:
    """Exit code and captured output of one in-process ``nsga-lightning`` call."""

    code: int
    out: str
    err: str


def run_cli(*args: str) -> CliResult:
    """Run ``nsga-lightning ARGS`` in this process; ``SystemExit`` (e.g. from ``--print_config``) is an exit code."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(list(args))
        except SystemExit as exit_:
            code = 0 if exit_.code is None else int(exit_.code) if isinstance(exit_.code, int) else 1
    return CliResult(code, out.getvalue(), err.getvalue())


def write_search(folder: Path, space: str, name: str = "search.yaml", **changes: Any) -> Path:
    """Write CIFAR-10 files to ``folder/data`` (once) and a search config; returns the config path."""
    if not (folder / "data").exists():
        write_cifar_files(folder / "data", "cifar10", n_train=N_TRAIN, n_test=N_TEST, seed=0)
    config = search_config(space)
    for key, value in changes.items():
        config[key] = value
    path = folder / name
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


@dataclass
class SearchRun:
    """A finished search: its folder (the working directory of its commands), config and first output."""

    space: str
    folder: Path
    config: Path
    run_dir: Path
    first: CliResult


def sample_candidates(space_name: str, n: int, seed: int = 0, **space_options: Any) -> list[Candidate]:
    """``n`` seeded random candidates of a space, as the runner would ask for them in generation 0."""
    space = make_space(space_name, **space_options)
    out = []
    for genome in space.sample(np.random.default_rng(seed), n):
        genome = [int(g) for g in genome]
        key = space.key(genome)
        out.append(Candidate(key, genome, 0, derive_seed(0, key), space.decode(genome)))
    return out


# the proxy network of the evaluator tests: 4 channels, 3 cells (trains in well under a second)
TINY_PROXY = {"init_channels": 4, "layers": 3, "learning_rate": 0.05}
