"""Every log line of ``nsga-lightning fit`` and ``report`` is printed once (Lightning's records once reached both
its own console handler and the root logger's, so each came out twice)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

from training_helpers import TINY_MODEL, cifar_args


def _message(line: str) -> str:
    """A log line without its level / logger prefix (the two handlers formatted the same record differently)."""
    return line.split(": ", 1)[1] if line.startswith(("INFO", "WARNING")) and ": " in line else line


def test_fit_prints_each_lightning_line_once(cifar_root: Path, tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    done = subprocess.run(
        [sys.executable, "-m", "nsga_lightning.cli", "fit", *TINY_MODEL, *cifar_args(cifar_root, val_split=16),
         "--trainer.accelerator", "cpu", "--trainer.max_epochs", "1", "--trainer.limit_train_batches", "1",
         "--trainer.enable_progress_bar", "false", "--seed_everything", "0"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    lines = [line for line in (done.stdout + done.stderr).splitlines() if line.strip()]
    seeds = [line for line in lines if "Seed set to 0" in line]
    assert len(seeds) == 1, lines
    assert any("Total params" in line for line in lines)  # the model summary is printed, once
    repeated = {m: n for m, n in Counter(_message(line) for line in lines if line.startswith("INFO")).items() if n > 1}
    assert repeated == {}
