"""Pareto-front and hypervolume plots from plain data (archive rows, per-generation fronts, a list of values).

A *row* is a flat mapping as ``ArchiveRow.as_dict()`` gives it: ``key``, ``generation``, ``status`` and the
objective columns as the archive stores them (``error`` in %, ``madds`` as multiply-accumulates, ``params`` as
a count); other keys are ignored here. MAdds and params are plotted in millions (:data:`SCALES`). Rows without
finite values for both plotted objectives (failed candidates have none) are left out and counted as failed.
*Fronts* are the keys of the Pareto front after each generation, oldest first; the last is the final front.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from nsga_lightning.viz.figure_io import DEFAULT_DPI, figure_format, save_figure

log = logging.getLogger(__name__)

AXIS_LABELS: dict[str, str] = {
    "error": "validation error (%)",
    "madds": "MAdds (M)",
    "params": "params (M)",
    "seconds": "train time (s)",
}
SCALES: dict[str, float] = {"madds": 1e-6, "params": 1e-6}  # stored as counts, shown in millions
Row = Mapping[str, Any]
EVALUATED_COLOR = "#8c8c8c"
HISTORY_COLOR = "#1f77b4"
FRONT_COLOR = "#d62728"


def _finite(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def evaluated_points(rows: Sequence[Row], objectives: tuple[str, str]) -> dict[str, tuple[float, float]]:
    """Objective pairs (as plotted: MAdds and params in millions) of the rows where both are finite, by key.

    Raises:
        ValueError: if a row has no ``key``, naming the row.
    """
    points = {}
    for i, row in enumerate(rows):
        if "key" not in row:
            raise ValueError(f"row {i} has no 'key'; rows need 'key' and the columns {list(objectives)}")
        a, b = _finite(row.get(objectives[0])), _finite(row.get(objectives[1]))
        if a is not None and b is not None:
            points[str(row["key"])] = (a * SCALES.get(objectives[0], 1.0), b * SCALES.get(objectives[1], 1.0))
    return points


def non_dominated(points: Mapping[str, tuple[float, float]]) -> list[str]:
    """Keys of the points that no other point dominates (both objectives minimised), sorted by the first."""
    ordered = sorted(points, key=lambda k: points[k])
    front, best = [], math.inf
    for key in ordered:
        if points[key][1] < best:
            front.append(key)
            best = points[key][1]
    return front


def _step(points: Sequence[tuple[float, float]]) -> tuple[np.ndarray, np.ndarray]:
    """The attainment staircase through mutually non-dominated points (sorted by x), for ``steps-post``."""
    xy = np.array(sorted(points), dtype=float).reshape(-1, 2)
    return xy[:, 0], xy[:, 1]


def check_objectives(objectives: Sequence[str]) -> tuple[str, str]:
    """Return the two objective column names.

    Raises:
        ValueError: unless there are exactly two different names.
    """
    if len(objectives) != 2 or objectives[0] == objectives[1]:
        raise ValueError(f"objectives must be two different columns such as error, madds; got {objectives}")
    return str(objectives[0]), str(objectives[1])


def pareto_figure(
    rows: Sequence[Row],
    fronts: Sequence[Sequence[str]] | None = None,
    objectives: Sequence[str] = ("error", "madds"),
    title: str | None = None,
) -> Figure:
    """Scatter of every evaluated architecture with the Pareto fronts over the generations.

    The final front is highlighted and joined by its staircase; the fronts of earlier generations are drawn
    as thin staircases that fade with age.

    Args:
        rows: archive rows (see the module docstring).
        fronts: keys on the front after each generation, oldest first; ``None`` computes the final front
            from ``rows`` and draws no history.
        objectives: the x and the y column.
        title: optional axes title.

    Returns:
        A figure on an Agg canvas (not registered with pyplot).

    Raises:
        ValueError: for malformed rows or objectives.
    """
    x_name, y_name = check_objectives(objectives)
    points = evaluated_points(rows, (x_name, y_name))
    history = [list(f) for f in fronts] if fronts else [non_dominated(points)]
    unknown = sorted({k for front in history for k in front} - set(points))
    if unknown:
        log.warning("front keys without finite objectives are not drawn: %s", unknown[:5])
    figure = Figure(figsize=(7.0, 4.8), dpi=100, facecolor="white")
    FigureCanvasAgg(figure)
    ax = figure.add_subplot(1, 1, 1)
    if points:
        # children stopped at a lower rung (multi-fidelity): hollow, their error is a rung error
        stopped = {str(r.get("key")) for r in rows if r.get("stopped_early")} & set(points)
        full = [v for k, v in points.items() if k not in stopped]
        failed = f"; {len(rows) - len(points)} failed" if len(rows) > len(points) else ""
        if full:
            xy = np.array(full)
            ax.scatter(xy[:, 0], xy[:, 1], s=14, color=EVALUATED_COLOR, alpha=0.5, linewidths=0,
                       label=f"evaluated ({len(full)}{failed})", zorder=1)
        if stopped:
            xy = np.array([points[k] for k in sorted(stopped)])
            ax.scatter(xy[:, 0], xy[:, 1], s=14, facecolors="none", edgecolors=EVALUATED_COLOR, alpha=0.7,
                       linewidths=0.8, label=f"stopped early at a lower rung ({len(stopped)}; rung error)", zorder=1)
    older = history[:-1]
    for age, front in enumerate(older):
        xs, ys = _step([points[k] for k in front if k in points])
        alpha = 0.1 + 0.5 * (age + 1) / len(older)
        ax.plot(xs, ys, drawstyle="steps-post", color=HISTORY_COLOR, alpha=alpha, lw=1.0, zorder=2,
                label="earlier fronts (older = fainter)" if age == len(older) - 1 else None)
    final = [points[k] for k in history[-1] if k in points]
    if final:
        xs, ys = _step(final)
        ax.plot(xs, ys, drawstyle="steps-post", color=FRONT_COLOR, lw=1.6, zorder=3)
        ax.scatter(xs, ys, s=40, color=FRONT_COLOR, edgecolors="black", linewidths=0.7, zorder=4,
                   label=f"final front ({len(final)})")
    else:
        ax.text(0.5, 0.5, "no evaluated architectures", ha="center", va="center", transform=ax.transAxes)
    ax.set_xlabel(AXIS_LABELS.get(x_name, x_name))
    ax.set_ylabel(AXIS_LABELS.get(y_name, y_name))
    if title:
        ax.set_title(title)
    ax.grid(True, alpha=0.3)
    if points:
        ax.legend(loc="best", fontsize=9, framealpha=0.9)
    figure.tight_layout()
    return figure


def plot_pareto(
    rows: Sequence[Row],
    path: str | Path,
    fronts: Sequence[Sequence[str]] | None = None,
    objectives: Sequence[str] = ("error", "madds"),
    title: str | None = None,
    dpi: int = DEFAULT_DPI,
) -> Path:
    """Write :func:`pareto_figure` to ``path`` (``.png``, ``.svg`` or ``.pdf``).

    Raises:
        ValueError: for an unsupported extension, malformed rows or objectives.
    """
    figure_format(path)
    return save_figure(pareto_figure(rows, fronts, objectives, title), path, dpi)


def hypervolume_figure(
    values: Sequence[float], generations: Sequence[int] | None = None, title: str | None = None
) -> Figure:
    """Line plot of the hypervolume after each generation.

    Args:
        values: hypervolume per generation, oldest first.
        generations: the generation numbers (default ``0, 1, ...``).
        title: optional axes title.

    Raises:
        ValueError: if ``generations`` and ``values`` differ in length.
    """
    gens = list(range(len(values))) if generations is None else list(generations)
    if len(gens) != len(values):
        raise ValueError(f"got {len(values)} hypervolume values but {len(gens)} generation numbers")
    figure = Figure(figsize=(6.0, 3.6), dpi=100, facecolor="white")
    FigureCanvasAgg(figure)
    ax = figure.add_subplot(1, 1, 1)
    if len(values):
        ax.plot(gens, [float(v) for v in values], marker="o", ms=3.5, color=HISTORY_COLOR, lw=1.5)
    else:
        ax.text(0.5, 0.5, "no hypervolume recorded", ha="center", va="center", transform=ax.transAxes)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("generation")
    ax.set_ylabel("hypervolume")
    if title:
        ax.set_title(title)
    ax.grid(True, alpha=0.3)
    figure.tight_layout()
    return figure


def plot_hypervolume(
    values: Sequence[float],
    path: str | Path,
    generations: Sequence[int] | None = None,
    title: str | None = None,
    dpi: int = DEFAULT_DPI,
) -> Path:
    """Write :func:`hypervolume_figure` to ``path`` (``.png``, ``.svg`` or ``.pdf``).

    Raises:
        ValueError: for an unsupported extension or mismatched lengths.
    """
    figure_format(path)
    return save_figure(hypervolume_figure(values, generations, title), path, dpi)
