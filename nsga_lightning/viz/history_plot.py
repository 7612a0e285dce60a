"""How a search converged: the hypervolume after every evaluation (and against the search's hours), with the
evaluations that reached 90/95/99% of the final value marked, and the Pareto fronts of every N-th generation
overlaid in one colour scale (Matplotlib on Agg, no pyplot)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from nsga_lightning.viz.pareto_plot import (
    AXIS_LABELS,
    EVALUATED_COLOR,
    HISTORY_COLOR,
    Row,
    check_objectives,
    evaluated_points,
)

REACH_COLORS = {0.9: "#2ca02c", 0.95: "#ff7f0e", 0.99: "#d62728"}


def convergence_figure(evaluations: Sequence[int], hypervolume: Sequence[float], hours: Sequence[float | None],
                       reach: Sequence[tuple[float, int]] = (), title: str | None = None) -> Figure:
    """The hypervolume after every evaluation (left) and against the search's hours (right, where recorded).

    Args:
        evaluations: the evaluation count of each point (0: only what a warm start imported).
        hypervolume: the normalised hypervolume at each point.
        hours: the search's hours at each point (``None`` where unrecorded).
        reach: ``(share, evaluations)`` marks, e.g. ``(0.9, 12)``: 90% of the final value after 12 evaluations.
        title: optional figure title.
    """
    figure = Figure(figsize=(9.0, 3.6), dpi=100, facecolor="white")
    FigureCanvasAgg(figure)
    by_evaluation, by_hour = figure.subplots(1, 2)
    values = [float(v) for v in hypervolume]
    if values:
        by_evaluation.step(list(evaluations), values, where="post", color=HISTORY_COLOR, lw=1.5)
        final = values[-1]
        for share, count in reach:
            color = REACH_COLORS.get(share, "#555555")
            by_evaluation.axhline(share * final, color=color, lw=0.8, ls=":")
            by_evaluation.axvline(count, color=color, lw=0.8, ls="--", label=f"{100 * share:g}% after {count}")
        if reach:
            by_evaluation.legend(loc="lower right", fontsize=8, framealpha=0.9)
    else:
        by_evaluation.text(0.5, 0.5, "nothing evaluated yet", ha="center", va="center",
                           transform=by_evaluation.transAxes)
    by_evaluation.set_xlabel("evaluations")
    by_evaluation.set_ylabel("hypervolume")
    timed = [(h, v) for h, v in zip(hours, values) if h is not None]
    if timed:
        xy = np.array(timed, dtype=float)
        by_hour.step(xy[:, 0], xy[:, 1], where="post", color=HISTORY_COLOR, lw=1.5)
    else:
        by_hour.text(0.5, 0.5, "no session times recorded", ha="center", va="center", transform=by_hour.transAxes)
    by_hour.set_xlabel("hours of search")
    for ax in (by_evaluation, by_hour):
        ax.grid(True, alpha=0.3)
    if title:
        figure.suptitle(title)
    figure.tight_layout()
    return figure


def fronts_figure(rows: Sequence[Row], fronts: Mapping[int, Sequence[str]], objectives: Sequence[str] = ("error",
                  "madds"), step: int = 1, title: str | None = None) -> Figure:
    """Every evaluated architecture, with the Pareto front after each generation in ``fronts`` overlaid (one
    colour per generation, from the colour map's start to its end).

    Args:
        rows: archive rows as ``ArchiveRow.as_dict()`` gives them.
        fronts: generation -> keys on the front after it (e.g. every ``step``-th generation and the last).
        objectives: the x and the y column.
        step: the N of "every N-th generation", for the legend title.
        title: optional axes title.
    """
    x_name, y_name = check_objectives(objectives)
    points = evaluated_points(rows, (x_name, y_name))
    figure = Figure(figsize=(7.0, 4.8), dpi=100, facecolor="white")
    FigureCanvasAgg(figure)
    ax = figure.add_subplot(1, 1, 1)
    if points:
        xy = np.array(list(points.values()))
        ax.scatter(xy[:, 0], xy[:, 1], s=10, color=EVALUATED_COLOR, alpha=0.35, linewidths=0, zorder=1)
    colours: Any = matplotlib.colormaps["viridis"]
    ordered = sorted(fronts)
    for index, generation in enumerate(ordered):
        front = sorted(points[k] for k in fronts[generation] if k in points)
        if not front:
            continue
        xs, ys = np.array(front).T
        colour = colours(index / max(1, len(ordered) - 1))
        ax.plot(xs, ys, drawstyle="steps-post", color=colour, lw=1.4, zorder=2)
        ax.scatter(xs, ys, s=18, color=colour, zorder=3, label=f"generation {generation}")
    if not points:
        ax.text(0.5, 0.5, "no evaluated architectures", ha="center", va="center", transform=ax.transAxes)
    else:
        ax.legend(loc="best", fontsize=8, framealpha=0.9,
                  title="front after" if step == 1 else f"front after every {step} generations", title_fontsize=8)
    ax.set_xlabel(AXIS_LABELS.get(x_name, x_name))
    ax.set_ylabel(AXIS_LABELS.get(y_name, y_name))
    if title:
        ax.set_title(title)
    ax.grid(True, alpha=0.3)
    figure.tight_layout()
    return figure
