"""Calibrating the table's sums against whole networks, and how well the prediction ranks measured latency.

A network's predicted latency is ``scale * (sum of its layer groups' table entries) + offset``: the sum misses
what runs between the layer groups (the cells' and phases' Python glue, the allocations of their outputs) and a
layer group timed alone runs with warmer caches than inside a network. ``scale`` and ``offset`` are the least-squares
fit of measured whole-network latency on the table sum over ``fitted`` networks; the fit is then judged on other,
``held_out`` networks: Kendall tau between predicted and measured latency (what ranking a search needs) and the
relative error ``|predicted - measured| / measured`` (median and largest). MAdds' Kendall tau on the same held-out
networks is stored beside it for comparison.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from scipy.stats import kendalltau


@dataclass(frozen=True)
class Calibration:
    """The affine map from table sums to whole-network milliseconds, and its quality on held-out networks.

    Attributes:
        scale: milliseconds of a network per millisecond of its table sum.
        offset: milliseconds added to every network.
        fitted: networks the map was fitted to.
        held_out: networks it was judged on.
        kendall_tau: Kendall tau between predicted and measured latency on the held-out networks.
        median_relative_error: median of ``|predicted - measured| / measured`` on them.
        max_relative_error: the largest such error.
        madds_kendall_tau: Kendall tau between MAdds and measured latency on them (``nan`` if not given).
        measured: the held-out networks' measured milliseconds.
        predicted: their predicted milliseconds.
    """

    scale: float
    offset: float
    fitted: int
    held_out: int
    kendall_tau: float
    median_relative_error: float
    max_relative_error: float
    madds_kendall_tau: float = float("nan")
    measured: tuple[float, ...] = ()
    predicted: tuple[float, ...] = ()

    def apply(self, table_sum: float) -> float:
        """The predicted milliseconds of a network whose table sum is ``table_sum``."""
        return self.scale * table_sum + self.offset

    def to_data(self) -> dict[str, Any]:
        """Plain data (JSON)."""
        data = asdict(self)
        data["measured"], data["predicted"] = list(self.measured), list(self.predicted)
        return data

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> Calibration:
        """Read :meth:`to_data` back."""
        values = dict(data)
        values["measured"] = tuple(values.get("measured", ()))
        values["predicted"] = tuple(values.get("predicted", ()))
        return cls(**values)


def fit_affine(sums: Sequence[float], measured: Sequence[float]) -> tuple[float, float]:
    """Least-squares ``measured ~ scale * sums + offset``; with fewer than two distinct sums, or a fit whose scale
    is not positive (the sums carry no ordering), the scale is 1 and the offset the median difference.

    Raises:
        ValueError: for empty or unequal inputs.
    """
    x, y = np.asarray(sums, dtype=float), np.asarray(measured, dtype=float)
    if x.size == 0 or x.shape != y.shape:
        raise ValueError(f"a calibration needs equal, non-empty lists, got {x.size} sums and {y.size} measurements")
    if np.unique(x).size >= 2:
        scale, offset = np.polyfit(x, y, 1)
        if scale > 0:
            return float(scale), float(offset)
    return 1.0, float(np.median(y - x))


def tau(a: Sequence[float], b: Sequence[float]) -> float:
    """Kendall tau (tau-b) of two equally long sequences; ``nan`` for fewer than two items or a constant one."""
    if len(a) < 2 or np.ptp(a) == 0 or np.ptp(b) == 0:
        return float("nan")
    return float(kendalltau(a, b).statistic)


def relative_errors(predicted: Sequence[float], measured: Sequence[float]) -> np.ndarray:
    """``|predicted - measured| / measured`` element-wise."""
    p, m = np.asarray(predicted, dtype=float), np.asarray(measured, dtype=float)
    return np.abs(p - m) / m


def calibrate(fit_sums: Sequence[float], fit_measured: Sequence[float], held_sums: Sequence[float],
              held_measured: Sequence[float], held_madds: Sequence[float] | None = None) -> Calibration:
    """Fit on one set of networks, judge on another.

    Args:
        fit_sums: table sums of the fitting networks.
        fit_measured: their measured milliseconds.
        held_sums: table sums of the held-out networks.
        held_measured: their measured milliseconds.
        held_madds: their MAdds (for the comparison), optional.
    """
    scale, offset = fit_affine(fit_sums, fit_measured)
    predicted = [scale * s + offset for s in held_sums]
    errors = relative_errors(predicted, held_measured) if len(held_measured) else np.array([np.nan])
    madds_tau = tau(held_madds, held_measured) if held_madds is not None else float("nan")
    return Calibration(scale, offset, len(fit_sums), len(held_sums), tau(predicted, held_measured),
                       float(np.median(errors)), float(np.max(errors)), madds_tau, tuple(map(float, held_measured)),
                       tuple(map(float, predicted)))
