"""Pareto helpers: non-dominated sorting, the Pareto front of archive rows, hypervolume and a CSV export.

All objectives are minimised. Failed rows are infeasible and never on a front.

Hypervolume uses a fixed reference point chosen by the caller (so values are comparable across generations
and runs), e.g. ``{"error": 100.0, "madds": <MAdds of the largest network in the space>}``. With
``normalize=True`` (default) each objective is divided by its reference value first, so the reference point
becomes ``(1, ..., 1)``, the ideal is the origin and the hypervolume lies in ``[0, 1]``. Points that do not
dominate the reference point contribute nothing.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
from pymoo.indicators.hv import HV
from pymoo.util.nds.non_dominated_sorting import NonDominatedSorting

from nsga_lightning.search.core.evaluator import OBJECTIVES
from nsga_lightning.search.core.limits import within
from nsga_lightning.search.core.records import ArchiveRow


def objective_matrix(rows: Sequence[ArchiveRow], objectives: Sequence[str]) -> np.ndarray:
    """``(len(rows), len(objectives))`` float array; failed rows get ``inf``.

    Raises:
        KeyError: if an ok row lacks one of ``objectives``.
    """
    F = np.full((len(rows), len(objectives)), np.inf)
    for i, row in enumerate(rows):
        if row.is_ok:
            missing = [name for name in objectives if name not in row.objectives]
            if missing:
                raise KeyError(
                    f"row {row.key} has no objective(s) {missing}; it has {sorted(row.objectives)}"
                )
            F[i] = [float(row.objectives[name]) for name in objectives]
    return F


def non_dominated_ranks(F: np.ndarray) -> np.ndarray:
    """Front index of every point (0 = non-dominated), by pymoo's ``NonDominatedSorting``."""
    F = np.asarray(F, dtype=float)
    ranks = np.full(len(F), -1, dtype=int)
    for k, front in enumerate(NonDominatedSorting().do(F)):
        ranks[front] = k
    return ranks


def pareto_front(
    rows: Sequence[ArchiveRow], objectives: Sequence[str] = ("error", "madds"),
    limits: Mapping[str, float] | None = None,
) -> list[ArchiveRow]:
    """The non-dominated ok rows trained to the full epochs (children stopped at a rung never are) and within
    ``limits`` (``search.constraints``; ``None``: no limits), sorted by the objectives then key. Rows with equal
    objectives all stay; no row within the limits gives an empty front."""
    ok = [row for row in rows if row.is_ok and not row.stopped_early and within(row, limits)]
    if not ok:
        return []
    front = np.flatnonzero(non_dominated_ranks(objective_matrix(ok, objectives)) == 0)
    chosen = [ok[i] for i in front]
    return sorted(chosen, key=lambda r: (*[float(r.objectives[name]) for name in objectives], r.key))


def hypervolume(
    F: np.ndarray,
    ref_point: Sequence[float] | Mapping[str, float],
    objectives: Sequence[str] | None = None,
    normalize: bool = True,
) -> float:
    """Hypervolume of the points ``F`` (``(n, m)``, minimised) against a fixed reference point.

    Args:
        F: objective values; rows holding a non-finite value (failed candidates) are ignored.
        ref_point: the reference point, as ``m`` numbers or a mapping from objective name to value.
        objectives: the column names of ``F``; needed when ``ref_point`` is a mapping.
        normalize: divide each objective by its reference value first (result in ``[0, 1]``).

    Raises:
        ValueError: if the reference point does not fit ``F``, or holds a non-positive value when
            ``normalize``.
    """
    ref = _reference(ref_point, objectives)
    F = np.asarray(F, dtype=float)
    if F.size == 0:
        return 0.0
    F = np.atleast_2d(F)
    if F.shape[1] != ref.size:
        raise ValueError(f"ref_point has {ref.size} values but the points have {F.shape[1]} objectives")
    F = F[np.all(np.isfinite(F), axis=1)]
    if normalize:
        if np.any(ref <= 0):
            raise ValueError(f"normalising needs a positive reference point, got {ref.tolist()}")
        F, ref = F / ref, np.ones_like(ref)
    if len(F) == 0:
        return 0.0
    return float(HV(ref_point=ref)(F))


def _reference(
    ref_point: Sequence[float] | Mapping[str, float], objectives: Sequence[str] | None
) -> np.ndarray:
    if isinstance(ref_point, Mapping):
        if objectives is None:
            raise ValueError("a ref_point mapping needs the objective names (objectives=...)")
        missing = [name for name in objectives if name not in ref_point]
        if missing:
            raise ValueError(f"ref_point has no value for {missing}; it has {sorted(ref_point)}")
        return np.array([float(ref_point[name]) for name in objectives])
    return np.asarray(ref_point, dtype=float).ravel()


def format_objective(name: str, value: float) -> str:
    """An objective for people: error as ``"2.51%"``, MAdds and params in millions (``"81.79M"``), any other
    objective with 4 significant digits."""
    if name == "error":
        return f"{value:.2f}%"
    return f"{value / 1e6:.2f}M" if name in ("madds", "params") else f"{value:.4g}"


def write_pareto_csv(rows: Sequence[ArchiveRow], path: str | Path) -> Path:
    """Write rows (e.g. :func:`pareto_front`) as CSV: key, generation, seed, the objectives, seconds, genome.

    Objective columns are ``error, madds, params`` (those present in any row) followed by any extra ones.
    """
    present = {name for row in rows for name in row.objectives}
    columns = [name for name in OBJECTIVES if name in present] + sorted(present - set(OBJECTIVES))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["key", "generation", "seed", *columns, "seconds", "genome"])
        for row in rows:
            writer.writerow(
                [
                    row.key,
                    row.generation,
                    row.seed,
                    *[row.objectives.get(c, "") for c in columns],
                    f"{row.seconds:.3f}",
                    json.dumps(row.genome),
                ]
            )
    return path
