"""Assemble laid-out graph panels into one Matplotlib figure: side by side or stacked, title and caption.

Each panel gets its own axes whose data unit is one inch, placed by hand (no pyplot, no tight layout), so the
drawing's sizes on the page are exactly those the layout planned. Figure-level artists carry the ``gid``
``title``, ``panel-title``, ``caption`` or ``connector:<i>``.
"""

from __future__ import annotations

from collections.abc import Sequence

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch
from matplotlib.path import Path

from nsga_lightning.viz.graph_render import EDGE_COLOR, Panel, TextMeasurer, draw_panel

PANEL_FONTSIZE = 11.5
TITLE_FONTSIZE = 13.0
CAPTION_FONTSIZE = 9.0
MARGIN = 0.15  # inches of white around each panel's drawing
PAD = 0.2  # inches around the whole figure
MIN_WIDTH, MIN_HEIGHT = 3.0, 2.2  # inches of content at least, so tiny graphs still make a sensible image
PANEL_GAP = 0.45  # inches between side-by-side panels
ROW_GAP = 0.3  # inches between stacked rows


def compose_figure(
    panels: Sequence[Panel],
    measurer: TextMeasurer,
    title: str | None = None,
    caption: Sequence[str] = (),
    stacked: bool = False,
    connectors: Sequence[tuple[str, str]] = (),
) -> Figure:
    """Place panels side by side (or stacked in left-aligned rows) under a title, above a caption.

    Args:
        panels: laid-out graphs, each drawn in its own axes at one inch per data unit.
        measurer: the text measurer the panels were made with.
        title: optional bold heading.
        caption: optional lines of small print under the drawing.
        stacked: rows top to bottom instead of side by side.
        connectors: for stacked rows, ``(node in row i, node in row i+1)`` pairs joined by an elbow arrow
            through the gap between the rows.

    Returns:
        A figure on an Agg canvas.
    """
    title_w, title_h = measurer.size(title, TITLE_FONTSIZE, "bold") if title else (0.0, 0.0)
    caption_text = "\n".join(caption)
    caption_w, caption_h = measurer.size(caption_text, CAPTION_FONTSIZE) if caption_text else (0.0, 0.0)
    title_h, caption_h = (title_h + 0.15 if title else 0.0), (caption_h + 0.12 if caption_text else 0.0)
    strips = [measurer.size(p.title, PANEL_FONTSIZE)[1] + 0.08 if p.title else 0.0 for p in panels]
    widths = [
        max(p.bounds[2] - p.bounds[0] + 2 * MARGIN, measurer.size(p.title or "", PANEL_FONTSIZE)[0] + 0.2)
        for p in panels
    ]
    heights = [p.bounds[3] - p.bounds[1] + 2 * MARGIN for p in panels]
    if stacked:
        body_w, body_h = max(widths), sum(heights) + sum(strips) + ROW_GAP * (len(panels) - 1)
    else:
        body_w, body_h = sum(widths) + PANEL_GAP * (len(panels) - 1), max(heights) + max(strips)
    width = max(body_w, title_w, caption_w, MIN_WIDTH) + 2 * PAD
    pad_y = PAD + max(0.0, MIN_HEIGHT - body_h - title_h - caption_h) / 2
    height = body_h + title_h + caption_h + 2 * pad_y
    figure = Figure(figsize=(width, height), dpi=100, facecolor="white")
    FigureCanvasAgg(figure)
    # (left, bottom) of every panel's axes and the baseline of its title, in inches
    left, top, bottom_of_body = (width - body_w) / 2, height - pad_y - title_h, pad_y + caption_h
    slots, title_lines = [], []
    for w, h, strip in zip(widths, heights, strips, strict=True):
        if stacked:
            slots.append((left, top - strip - h))
            title_lines.append(top - strip + 0.04)
            top -= strip + h + ROW_GAP
        else:
            slots.append((left, bottom_of_body + (body_h - max(strips) - h) / 2))
            title_lines.append(bottom_of_body + body_h - max(strips) + 0.04)
            left += w + PANEL_GAP
    origins = []  # data -> figure-inch offset of each panel
    for panel, (x, y), w, h, line in zip(panels, slots, widths, heights, title_lines, strict=True):
        ax = figure.add_axes((x / width, y / height, w / width, h / height))
        x0, y0 = (panel.bounds[0] + panel.bounds[2] - w) / 2, (panel.bounds[1] + panel.bounds[3] - h) / 2
        ax.set_xlim(x0, x0 + w)
        ax.set_ylim(y0, y0 + h)
        ax.set_axis_off()
        draw_panel(ax, panel)
        origins.append((x - x0, y - y0))
        if panel.title:
            figure.text((x + w / 2) / width, line / height, panel.title, ha="center", va="bottom",
                        fontsize=PANEL_FONTSIZE, gid="panel-title")
    if stacked:
        for i, (a, b) in enumerate(connectors[: len(panels) - 1]):
            gap_middle = (slots[i][1] + title_lines[i + 1] + strips[i + 1] - 0.04) / 2
            upper, lower = (panels[i], origins[i], a), (panels[i + 1], origins[i + 1], b)
            _connect(figure, upper, lower, gap_middle, f"connector:{i}")
    if title:
        figure.text(0.5, (height - pad_y) / height, title, ha="center", va="top", fontsize=TITLE_FONTSIZE,
                    fontweight="bold", gid="title")
    if caption_text:
        figure.text(PAD / width, pad_y / height, caption_text, ha="left", va="bottom",
                    fontsize=CAPTION_FONTSIZE, color="#444444", gid="caption")
    return figure


Anchor = tuple[Panel, tuple[float, float], str]  # panel, its data -> figure-inch offset, node id


def _connect(figure: Figure, upper: Anchor, lower: Anchor, y_gap: float, gid: str) -> None:
    """An elbow arrow from the bottom of a node in the upper row to the top of a node in the lower row."""
    (panel_a, (dxa, dya), a), (panel_b, (dxb, dyb), b) = upper, lower
    ax_, ay = panel_a.layout.centers[a]
    bx, by = panel_b.layout.centers[b]
    ax_, ay = ax_ + dxa, ay + dya - panel_a.node_sizes[a][1] / 2
    bx, by = bx + dxb, by + dyb + panel_b.node_sizes[b][1] / 2
    path = Path([(ax_, ay), (ax_, y_gap), (bx, y_gap), (bx, by)])
    figure.add_artist(FancyArrowPatch(path=path, arrowstyle="-|>", mutation_scale=11, lw=1.1,
                                      color=EDGE_COLOR, transform=figure.dpi_scale_trans, gid=gid))
