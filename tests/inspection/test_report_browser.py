"""The report as a browser shows it: headless Chromium renders the page of a real small search to a PNG, and
image analysis finds the Pareto front (its red), the hypervolume line and the Pareto table (its header band)
in the expected places. Skipped only where no Chromium/Chrome binary is installed."""

from __future__ import annotations

import numpy as np
import pytest
from inspection_helpers import find_chromium, screenshot
from matplotlib.colors import to_rgb
from PIL import Image

from nsga_lightning.viz.pareto_plot import FRONT_COLOR, HISTORY_COLOR
from nsga_lightning.viz.report import TABLE_HEADER_COLOR

BROWSER = find_chromium()
WIDTH, HEIGHT = 1280, 2000
ARCH_ROW_COLOR = "#eef3f8"  # background of a table row with an architecture's numbers (viz/report.py STYLE)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(BROWSER is None, reason="no Chromium or Chrome binary installed"),
]


def near(image: np.ndarray, color: str, tolerance: int) -> np.ndarray:
    """Mask of the pixels within ``tolerance`` (per channel, 0-255) of ``color``."""
    rgb = np.round(np.array(to_rgb(color)) * 255).astype(int)
    return np.abs(image - rgb).max(axis=2) <= tolerance


def bands(rows: np.ndarray) -> list[tuple[int, int]]:
    """Runs of consecutive true rows as ``(first, last)``."""
    indices = np.flatnonzero(rows)
    if indices.size == 0:
        return []
    splits = np.flatnonzero(np.diff(indices) > 1) + 1
    return [(int(run[0]), int(run[-1])) for run in np.split(indices, splits)]


def test_report_renders_front_and_table(cli, search_run, tmp_path) -> None:
    run_dir, pareto_keys = search_run
    page = tmp_path / "report.html"
    code, _, stderr = cli("report", run_dir, "-o", page)
    assert code == 0, stderr
    png = tmp_path / "report.png"
    screenshot(BROWSER, page, png, (WIDTH, HEIGHT))

    with Image.open(png) as opened:
        assert opened.format == "PNG" and opened.size == (WIDTH, HEIGHT)
        image = np.asarray(opened.convert("RGB"), dtype=int)  # (H, W, 3)
    assert (image.min(axis=2) < 230).mean() > 0.04, "the page looks blank"

    header = [b for b in bands(near(image, TABLE_HEADER_COLOR, 12).mean(axis=1) > 0.5) if b[1] - b[0] >= 15]
    assert len(header) == 1, f"expected one table-header band across the page, found {header}"
    header_top, header_bottom = header[0]

    front = near(image, FRONT_COLOR, 40)
    ys, xs = np.nonzero(front)
    assert ys.size >= 100, f"only {ys.size} pixels of the front colour {FRONT_COLOR}"
    assert ys.max() < header_top, "front-coloured pixels below the table header: the plot is not above it"
    assert np.median(xs) < 0.6 * WIDTH, "the front plot is not in the wide left column"

    ys, xs = np.nonzero(near(image, HISTORY_COLOR, 30)[:header_top, WIDTH // 2:])
    assert ys.size >= 50, "no hypervolume line in the right column"

    rows = bands(near(image, ARCH_ROW_COLOR, 3)[header_bottom:].mean(axis=1) > 0.5)
    rows = [b for b in rows if b[1] - b[0] >= 15]
    assert 1 <= len(rows) <= len(pareto_keys), f"architecture rows under the header: {rows}"
