"""Shared checks for the viz tests: real image files and non-overlapping text."""

from __future__ import annotations

import struct
import xml.etree.ElementTree as ET
from collections.abc import Callable
from itertools import combinations
from pathlib import Path

import pytest
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.text import Text
from matplotlib.transforms import Bbox

MIN_PX, MAX_PX = 300, 6000
TOLERANCE_PX = 0.5


def _check_image(path: Path) -> tuple[int, int] | None:
    """Assert ``path`` is a real PNG/SVG/PDF; returns the PNG size in pixels."""
    data = path.read_bytes()
    suffix = path.suffix.lower()
    if suffix == ".png":
        assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
        assert data[12:16] == b"IHDR"
        width, height = struct.unpack(">II", data[16:24])
        assert MIN_PX <= width <= MAX_PX and MIN_PX <= height <= MAX_PX, (width, height)
        return width, height
    if suffix == ".svg":
        root = ET.fromstring(data)
        assert root.tag.split("}")[-1] == "svg"
        assert len(data) > 1000
        return None
    assert suffix == ".pdf"
    assert data.startswith(b"%PDF") and len(data) > 1000
    return None


@pytest.fixture
def check_image() -> Callable[[Path], tuple[int, int] | None]:
    """Assert a file is a real image of sensible size (PNG magic + IHDR size, SVG root, PDF header)."""
    return _check_image


def _overlap(a: Bbox, b: Bbox) -> bool:
    width = min(a.x1, b.x1) - max(a.x0, b.x0)
    height = min(a.y1, b.y1) - max(a.y0, b.y0)
    return width > TOLERANCE_PX and height > TOLERANCE_PX


def _collisions(figure: Figure) -> list[str]:
    """Rendered texts overlapping each other or a node they do not belong to; node labels outside nodes."""
    figure.canvas.draw()
    renderer = figure.canvas.get_renderer()
    texts = [t for t in figure.findobj(Text) if t.get_gid() and t.get_text().strip() and t.get_visible()]
    patches = [p for p in figure.findobj(Patch) if (p.get_gid() or "").startswith("node:")]
    nodes = {p.get_gid()[len("node:"):]: p for p in patches}
    boxes = {t: t.get_window_extent(renderer) for t in texts}
    node_boxes = {n: p.get_window_extent(renderer) for n, p in nodes.items()}
    problems = [] if len(nodes) == len(patches) else ["node ids repeat within the figure"]
    for a, b in combinations(texts, 2):
        if _overlap(boxes[a], boxes[b]):
            problems.append(f"{a.get_text()!r} ({a.get_gid()}) overlaps {b.get_text()!r} ({b.get_gid()})")
    for t in texts:
        own = t.get_gid()[len("node-label:"):] if t.get_gid().startswith("node-label:") else None
        for node, box in node_boxes.items():
            if node != own and _overlap(boxes[t], box):
                problems.append(f"text {t.get_text()!r} ({t.get_gid()}) overlaps node {node}")
        if own is not None:
            box, text = node_boxes[own], boxes[t]
            inside = box.x0 - 1 <= text.x0 and text.x1 <= box.x1 + 1 and box.y0 - 1 <= text.y0
            inside = inside and text.y1 <= box.y1 + 1
            if not inside:
                problems.append(f"node label {t.get_text()!r} sticks out of node {own}")
    return problems


@pytest.fixture
def collisions() -> Callable[[Figure], list[str]]:
    """List every overlap among a figure's labelled texts and node patches (empty when legible)."""
    return _collisions
