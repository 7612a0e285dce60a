"""The front's history by evaluation: the hypervolume after every result, the evaluations and hours it took to
reach a share of the final hypervolume, and which generations' fronts to overlay.

The hypervolume is the normalised one of ``store/history.py``, against the same fixed reference point (error 100,
every other objective 1.1 x its largest value in generation 0, or ``search.reference_point``), over the search's
results in the order they were committed; the architectures a warm start imported are the starting front
(evaluation 0). Hours are the search's own time (``store/spending.py``: the sessions together, gaps between them
left out).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from nsga_lightning.search.core.limits import stored_limits, within
from nsga_lightning.search.core.pareto import hypervolume, objective_matrix
from nsga_lightning.search.core.records import ArchiveRow
from nsga_lightning.search.store.archive import Archive
from nsga_lightning.search.store.history import reference_point
from nsga_lightning.search.store.spending import duration, elapsed_at, sessions_of

REACH = (0.9, 0.95, 0.99)
MOST_FRONTS = 8  # fronts overlaid at most (every N-th generation)


@dataclass(frozen=True)
class HistoryPoint:
    """The front after one result.

    Attributes:
        evaluations: this search's results so far (0: only what a warm start imported).
        hypervolume: normalised hypervolume of the front over them (and the imported ones).
        seconds: the search's time when the result was committed (``None`` where unrecorded).
        key: the architecture of the result (``None`` for the starting point).
    """

    evaluations: int
    hypervolume: float
    seconds: float | None
    key: str | None = None


@dataclass(frozen=True)
class Reach:
    """When the front first reached a share of the final hypervolume."""

    share: float
    evaluations: int
    seconds: float | None


def evaluation_history(archive: Archive, objectives: Sequence[str],
                       overrides: Mapping[str, float] | None = None) -> list[HistoryPoint]:
    """The hypervolume after every result, oldest first (the starting point included); with limits
    (``search.constraints``), of the front of feasible architectures."""
    limits = stored_limits(archive.config()) or None
    rows = archive.rows(order="completion")
    reference = reference_point(rows, objectives, overrides)
    sessions = sessions_of(archive)
    front = _Front(objectives, reference, limits)
    points = []
    start = [r for r in rows if r.generation < 0]
    for row in start:
        front.add(row)
    points.append(HistoryPoint(0, front.volume, 0.0 if sessions else None))
    for count, row in enumerate((r for r in rows if r.generation >= 0), start=1):
        front.add(row)
        points.append(HistoryPoint(count, front.volume, elapsed_at(sessions, row.created), row.key))
    return points


def reach(points: Sequence[HistoryPoint], shares: Sequence[float] = REACH) -> list[Reach]:
    """For each share, the first point at or above that share of the final hypervolume (none when it is 0)."""
    if not points or points[-1].hypervolume <= 0:
        return []
    final = points[-1].hypervolume
    found = []
    for share in shares:
        point = next(p for p in points if p.hypervolume >= share * final - 1e-12)
        found.append(Reach(share, point.evaluations, point.seconds))
    return found


def reach_line(found: Sequence[Reach]) -> str:
    """``90% after 6 evaluations (42 s), ...`` (empty without a hypervolume)."""
    def hours(seconds: float | None) -> str:
        return "" if seconds is None else f" ({duration(seconds)})"

    return ", ".join(f"{100 * r.share:g}% after {r.evaluations} evaluations{hours(r.seconds)}" for r in found)


def every_nth(generations: int, most: int = MOST_FRONTS) -> tuple[int, list[int]]:
    """``(N, the generations 0, N, 2N, ... and the last)``: at most about ``most`` fronts to overlay."""
    if generations <= 0:
        return 1, []
    step = max(1, math.ceil(generations / most))
    chosen = list(range(0, generations, step))
    if chosen[-1] != generations - 1:
        chosen.append(generations - 1)
    return step, chosen


def reference_text(reference: Mapping[str, float]) -> str:
    """``error 100, madds 3.12e+06``: the fixed reference point, stated."""
    return ", ".join(f"{name} {value:.4g}" for name, value in reference.items())


@dataclass(frozen=True)
class Convergence:
    """How a search converged, for the report, TensorBoard and the closing summary.

    Attributes:
        points: the hypervolume after every result (:func:`evaluation_history`).
        reach: when it reached 90/95/99% of the final value.
        reference: the fixed reference point.
        step: the N of the overlaid fronts of every N-th generation.
        fronts: generation -> the keys on the front after it, for those generations.
    """

    points: list[HistoryPoint]
    reach: list[Reach]
    reference: dict[str, float]
    step: int
    fronts: dict[int, list[str]]

    def as_report(self) -> dict[str, object]:
        """Plain values for :func:`~nsga_lightning.viz.report.build_report`'s ``convergence``."""
        return {"evaluations": [p.evaluations for p in self.points],
                "hypervolume": [p.hypervolume for p in self.points],
                "hours": [None if p.seconds is None else p.seconds / 3600 for p in self.points],
                "reach": [(r.share, r.evaluations, None if r.seconds is None else r.seconds / 3600)
                          for r in self.reach],
                "reference": reference_text(self.reference), "step": self.step, "fronts": self.fronts}


def convergence(archive: Archive, objectives: Sequence[str], overrides: Mapping[str, float] | None = None,
                fronts: Sequence[Sequence[str]] = ()) -> Convergence:
    """The :class:`Convergence` of a search (``fronts``: the front after each generation, from
    :func:`~nsga_lightning.search.store.history.summarize`)."""
    points = evaluation_history(archive, objectives, overrides)
    step, chosen = every_nth(len(fronts))
    return Convergence(points, reach(points), reference_point(archive.rows(), objectives, overrides), step,
                       {g: list(fronts[g]) for g in chosen})


class _Front:
    """The non-dominated successful full rows so far, with their hypervolume (recomputed when the front moves)."""

    def __init__(self, objectives: Sequence[str], reference: Mapping[str, float],
                 limits: Mapping[str, float] | None = None) -> None:
        self.objectives, self.reference, self.limits = list(objectives), dict(reference), limits
        self.points = np.zeros((0, len(self.objectives)))
        self.volume = 0.0

    def add(self, row: ArchiveRow) -> None:
        if not row.is_ok or row.stopped_early or not within(row, self.limits):
            return
        point = objective_matrix([row], self.objectives)[0]
        if np.any(np.all(self.points <= point, axis=1)):
            return  # dominated by (or equal to) a point of the front
        keep = ~np.all(point <= self.points, axis=1)
        self.points = np.vstack([self.points[keep], point])
        self.volume = hypervolume(self.points, self.reference, self.objectives)
