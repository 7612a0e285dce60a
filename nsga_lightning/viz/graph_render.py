"""Render laid-out graphs with Matplotlib on an Agg canvas (never pyplot): nodes, curved edges, labels.

Every drawn axes maps one data unit to one inch, so sizes measured in inches by :class:`TextMeasurer` are the
sizes on the page. Artists carry a ``gid`` (``node:<id>``, ``node-label:<id>``, ``edge:<k>``,
``edge-label:<k>``, ``cluster:<g>``, ``cluster-label:<g>``) so tests and callers can find them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import pairwise

import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Circle, FancyArrowPatch, FancyBboxPatch
from matplotlib.path import Path

from nsga_lightning.viz.graph_layout import (
    DEFAULT_SPACING,
    GraphLayout,
    GraphSpec,
    NodeSpec,
    Size,
    Spacing,
    layout_graph,
)

NODE_FONTSIZE = 10.0
EDGE_FONTSIZE = 8.5
CLUSTER_FONTSIZE = 9.5
EDGE_COLOR = "#4a4a4a"
LINE_COLOR = "#333333"
SAMPLES_PER_SEGMENT = 24
LABEL_BOX = {"boxstyle": "round,pad=0.2", "fc": "white", "ec": "none", "alpha": 0.92}
Box = tuple[float, float, float, float]


class TextMeasurer:
    """Sizes of one-line texts in inches, as Matplotlib lays them out (measured once on a scratch canvas)."""

    def __init__(self) -> None:
        self._figure = Figure(dpi=100)
        FigureCanvasAgg(self._figure)
        self._renderer = self._figure.canvas.get_renderer()
        self._cache: dict[tuple[str, float, str], Size] = {}

    def size(self, text: str, fontsize: float, weight: str = "normal") -> Size:
        """``(width, height)`` in inches of ``text`` (multi-line allowed) at ``fontsize`` points."""
        key = (text, fontsize, weight)
        if key not in self._cache:
            artist = self._figure.text(0, 0, text, fontsize=fontsize, fontweight=weight)
            box = artist.get_window_extent(self._renderer)
            artist.remove()
            self._cache[key] = (box.width / self._figure.dpi, box.height / self._figure.dpi)
        return self._cache[key]


@dataclass
class Panel:
    """One laid-out graph ready to draw, with its bounds (inches) and an optional title."""

    spec: GraphSpec
    layout: GraphLayout
    node_sizes: dict[str, Size]
    label_sizes: dict[int, Size]
    bounds: tuple[float, float, float, float]
    title: str | None


def node_size(node: NodeSpec, measurer: TextMeasurer) -> Size:
    """Outer size of a node: a box around its label, or a circle whose diameter covers the label's box."""
    w, h = measurer.size(node.label or "0", NODE_FONTSIZE)
    if node.shape == "box":
        return max(w + 0.26, 0.55), h + 0.16
    diameter = max(float(np.hypot(w, h)) + 0.1, 0.34) + (0.09 if node.shape == "doublecircle" else 0.0)
    return diameter, diameter


def make_panel(
    spec: GraphSpec, title: str | None, measurer: TextMeasurer, spacing: Spacing = DEFAULT_SPACING
) -> Panel:
    """Measure labels, lay the graph out and compute the drawing's bounds (clusters and captions included)."""
    node_sizes = {n.id: node_size(n, measurer) for n in spec.nodes}
    label_sizes = {}
    for k, e in enumerate(spec.edges):
        if e.label:
            w, h = measurer.size(e.label, EDGE_FONTSIZE)
            label_sizes[k] = (w + 0.1, h + 0.06)
    layout = layout_graph(spec, node_sizes, label_sizes, spacing)
    boxes = [_box(layout.centers[i], node_sizes[i]) for i in layout.centers]
    boxes += [_box(layout.label_centers[k], label_sizes[k]) for k in layout.label_centers]
    captions = dict(spec.clusters)
    for group, rect in layout.clusters.items():
        boxes.append(rect)
        caption_size = measurer.size(captions[group], CLUSTER_FONTSIZE)
        boxes.append(_cluster_caption_box(rect, caption_size, spec.direction))
    array = np.array(boxes)
    bounds = (array[:, 0].min(), array[:, 1].min(), array[:, 2].max(), array[:, 3].max())
    return Panel(spec, layout, node_sizes, label_sizes, tuple(float(b) for b in bounds), title)


def draw_panel(ax: Axes, panel: Panel) -> None:
    """Draw clusters, edges, edge labels and nodes of a laid-out graph into ``ax`` (data units are inches)."""
    spec, layout = panel.spec, panel.layout
    captions = dict(spec.clusters)
    for group, (x0, y0, x1, y1) in layout.clusters.items():
        ax.add_artist(FancyBboxPatch((x0, y0), x1 - x0, y1 - y0, boxstyle="round,pad=0,rounding_size=0.08",
                                    fc="#efefef", ec="#bdbdbd", lw=0.8, zorder=0, gid=f"cluster:{group}"))
        x, y, ha, va = _cluster_caption_anchor((x0, y0, x1, y1), spec.direction)
        ax.text(x, y, captions[group], ha=ha, va=va, fontsize=CLUSTER_FONTSIZE, color="#555555",
                style="italic", zorder=1, gid=f"cluster-label:{group}")
    nodes = {n.id: n for n in spec.nodes}
    for k, (edge, route) in enumerate(zip(spec.edges, layout.routes, strict=True)):
        src, dst = nodes[edge.src], nodes[edge.dst]
        points = _curve(route, layout.axis)
        points = _clip(points, _inside_test(src, layout.centers[src.id], panel.node_sizes[src.id]))
        points = _clip(points[::-1], _inside_test(dst, layout.centers[dst.id], panel.node_sizes[dst.id]))
        ax.add_artist(FancyArrowPatch(path=Path(points[::-1]), arrowstyle="-|>", mutation_scale=11, lw=1.1,
                                     color=EDGE_COLOR, linestyle="--" if edge.dashed else "-", zorder=1,
                                     clip_on=False, gid=f"edge:{k}"))
        if k in layout.label_centers and edge.label:
            x, y = layout.label_centers[k]
            ax.text(x, y, edge.label, ha="center", va="center", fontsize=EDGE_FONTSIZE, zorder=3,
                    clip_on=False, bbox=LABEL_BOX, gid=f"edge-label:{k}")
    for node in spec.nodes:
        _draw_node(ax, node, layout.centers[node.id], panel.node_sizes[node.id])


def _draw_node(ax: Axes, node: NodeSpec, center: tuple[float, float], size: Size) -> None:
    x, y = center
    w, h = size
    style = {"fc": node.facecolor, "ec": LINE_COLOR, "lw": 1.0, "zorder": 2, "clip_on": False,
             "gid": f"node:{node.id}"}
    if node.shape == "box":
        corner = (x - w / 2, y - h / 2)
        ax.add_artist(FancyBboxPatch(corner, w, h, boxstyle="round,pad=0,rounding_size=0.06", **style))
    else:
        ax.add_artist(Circle((x, y), w / 2, **style))
        if node.shape == "doublecircle":
            ax.add_artist(Circle((x, y), w / 2 - 0.045, fill=False, ec=LINE_COLOR, lw=1.0, zorder=2,
                                gid=f"node-inner:{node.id}"))
    if node.label:
        ax.text(x, y, node.label, ha="center", va="center", fontsize=NODE_FONTSIZE, color=node.textcolor,
                zorder=4, clip_on=False, gid=f"node-label:{node.id}")


def _box(center: tuple[float, float], size: Size) -> tuple[float, float, float, float]:
    (x, y), (w, h) = center, size
    return x - w / 2, y - h / 2, x + w / 2, y + h / 2


def _cluster_caption_anchor(rect: Box, direction: str) -> tuple[float, float, str, str]:
    """Anchor ``(x, y, ha, va)`` of a cluster caption: left of the cluster (TB) or above it (LR)."""
    x0, y0, x1, y1 = rect
    if direction == "TB":
        return x0 - 0.08, (y0 + y1) / 2, "right", "center"
    return (x0 + x1) / 2, y1 + 0.05, "center", "bottom"


def _cluster_caption_box(rect: Box, size: Size, direction: str) -> Box:
    """The box a cluster caption of ``size`` occupies."""
    x, y, ha, va = _cluster_caption_anchor(rect, direction)
    w, h = size
    left = {"right": x - w, "center": x - w / 2, "left": x}[ha]
    bottom = {"center": y - h / 2, "bottom": y, "top": y - h}[va]
    return left, bottom, left + w, bottom + h


def _curve(route: Sequence[tuple[float, float]], axis: tuple[float, float]) -> np.ndarray:
    """Cubic S-curves through the route's points, entering and leaving every point along the rank axis."""
    direction = np.asarray(axis)
    t = np.linspace(0.0, 1.0, SAMPLES_PER_SEGMENT)[:, None]
    pieces = []
    for a, b in pairwise(route):
        p0, p3 = np.asarray(a), np.asarray(b)
        reach = abs(float(np.dot(p3 - p0, direction))) / 2
        p1, p2 = p0 + reach * direction, p3 - reach * direction
        seg = (1 - t) ** 3 * p0 + 3 * (1 - t) ** 2 * t * p1 + 3 * (1 - t) * t**2 * p2 + t**3 * p3
        pieces.append(seg if not pieces else seg[1:])
    return np.concatenate(pieces)


def _clip(points: np.ndarray, inside: Callable[[np.ndarray], bool]) -> np.ndarray:
    """Drop the leading points inside a shape and start exactly on its boundary (bisection)."""
    first = next((i for i, p in enumerate(points) if not inside(p)), len(points) - 1)
    if first == 0:
        return points
    lo, hi = points[first - 1], points[first]
    for _ in range(30):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if inside(mid) else (lo, mid)
    return np.concatenate([hi[None, :], points[first:]])


def _inside_test(node: NodeSpec, center: tuple[float, float], size: Size) -> Callable[[np.ndarray], bool]:
    """A predicate telling whether a point lies inside the node's outline (box or circle)."""

    def inside(point: np.ndarray) -> bool:
        dx, dy = point[0] - center[0], point[1] - center[1]
        if node.shape == "box":
            return abs(dx) <= size[0] / 2 and abs(dy) <= size[1] / 2
        return float(np.hypot(dx, dy)) <= size[0] / 2

    return inside
