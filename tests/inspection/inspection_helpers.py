"""Helpers of the inspection tests: a small real search run, an image-file check and headless screenshots.

The search is NSGA-Net on the micro space with the real runner, archive, generation records and run outputs;
only training is replaced by a deterministic function of the genome, so its 20 architectures take seconds.
"""

from __future__ import annotations

import hashlib
import math
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from nsga_lightning.callbacks import ParetoOutputs
from nsga_lightning.search import Candidate, FunctionEvaluator, SearchRunner
from nsga_lightning.search.assemble.retrain import RetrainSettings
from nsga_lightning.spaces import make_space

OBJECTIVES = ("error", "madds")
SEARCH = {"pop_size": 8, "n_offspring": 4, "n_gens": 4, "seed": 0}
DATA = {"class_path": "nsga_lightning.data.DigitsDataModule", "init_args": {"batch_size": 64, "val_split": 0.2}}
CONFIG_YAML = """\
search:
  pop_size: 8
  n_offspring: 4
  n_gens: 4
  seed: 0
  objectives: [error, madds]
  reference_point: {}
space:
  name: micro
  n_blocks: 5
"""


def analytic_objectives(candidate: Candidate) -> dict[str, float]:
    """Error falls and MAdds/params grow with a weighted genome sum (a trade-off), with keyed noise; one
    key in sixteen fails, as a real candidate can."""
    digest = int(hashlib.sha1(candidate.key.encode()).hexdigest(), 16)
    if digest % 16 == 0:
        raise RuntimeError(f"analytic failure for {candidate.key}")
    genome = np.asarray(candidate.genome, dtype=float)
    size = float((genome * (1.0 + np.arange(genome.size) % 5)).sum())
    noise = (digest % 1000) / 1000.0
    return {
        "error": 4.0 + 40.0 * math.exp(-size / 300.0) + 3.0 * noise,
        "madds": 20e6 + size * 1.2e6 + noise * 15e6,
        "params": 1e5 + size * 2.5e3 + noise * 5e4,
    }


def run_small_search(run_dir: Path) -> list[str]:
    """Run the search into ``run_dir`` (archive, pareto.csv/png, pareto/<key>.yaml, config.yaml); returns the
    keys of the final Pareto front."""
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "config.yaml").write_text(CONFIG_YAML)
    outputs = ParetoOutputs(OBJECTIVES, RetrainSettings(model={"init_channels": 16, "layers": 8},
                                                        trainer={"max_epochs": 1}), DATA)
    evaluator = FunctionEvaluator(analytic_objectives, fingerprint={"kind": "analytic-inspection", "version": 1})
    with SearchRunner(make_space("micro", n_blocks=5), evaluator, run_dir, objectives=OBJECTIVES,
                      callbacks=[outputs], **SEARCH) as runner:
        result = runner.run()
    assert result.status == "completed" and result.pareto
    return [row.key for row in result.pareto]


def check_image(path: Path) -> None:
    """Assert ``path`` is a real, non-trivial PNG, SVG or PDF file."""
    data = path.read_bytes()
    suffix = path.suffix.lower()
    assert len(data) > 2000, f"{path} is suspiciously small ({len(data)} bytes)"
    if suffix == ".png":
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    elif suffix == ".svg":
        assert b"<svg" in data[:2000] and data.rstrip().endswith(b"</svg>")
    else:
        assert suffix == ".pdf" and data.startswith(b"%PDF") and b"%%EOF" in data[-1024:]


BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
HEADLESS_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--hide-scrollbars", "--force-device-scale-factor=1")


def find_chromium() -> str | None:
    """Path of an installed Chromium or Chrome binary, or ``None``."""
    return next((path for path in map(shutil.which, BROWSERS) if path), None)


def screenshot(browser: str, page: Path, png: Path, size: tuple[int, int], timeout: float = 60.0) -> None:
    """Render ``page`` headless into ``png`` (the top ``size`` = (width, height) pixels of the page).

    Raises:
        AssertionError: if the browser fails or writes no screenshot (with its output).
    """
    with tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile:
        command = [browser, *HEADLESS_FLAGS, f"--user-data-dir={profile}", f"--screenshot={png}",
                   f"--window-size={size[0]},{size[1]}", page.resolve().as_uri()]
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
    assert done.returncode == 0 and png.is_file(), f"{browser} failed ({done.returncode}):\n{done.stderr[-2000:]}"
