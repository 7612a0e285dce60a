"""Calibrating the table's sums against whole networks, and how well the prediction ranks measured latency.

A network's predicted latency is ``offset + sum over groups of weight[group] * (its table milliseconds in the
group)``, a group being a cell operation by name (``sep_conv_3x3``, ``max_pool_3x3``...) or any other kind of layer
group (``preprocess``, ``cat``, ``residual_node``...). A layer group timed alone does not cost what it costs inside a
network (warmer or colder caches, the glue between groups, allocations), and not by the same factor for every kind:
measured here on the micro proxies, a 3x3 max pool costs 1.6x its isolated time inside the network and a separable
convolution 0.8-0.9x, which one common scale cannot express (Kendall tau 0.67-0.72 against measurement, 0.87-0.92
with the group weights). The weights are fitted to ``fitted`` networks by non-negative least squares, shrunk towards
the common scale of the plain affine fit (``RIDGE``; groups the fitting networks never run keep it), the offset free.
The fit is then judged on other, ``held_out`` networks: Kendall tau between predicted and measured latency (what
ranking a search needs) and the relative error ``|predicted - measured| / measured`` (median and largest). MAdds'
Kendall tau on the same held-out networks is stored beside it for comparison.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
from scipy.optimize import nnls
from scipy.stats import kendalltau

# Shrinkage of the group weights towards the common scale, relative to each group's mean squared table sum: with 10
# fitting networks 0.01 gave the best held-out tau of 0, 0.01, 0.1, 1 and 100 (median over 20 splits: 0.75, 0.87,
# 0.83, 0.75, 0.67); with 20, 0.92 unshrunk and 0.90 at 0.01.
RIDGE = 0.01


@dataclass(frozen=True)
class Calibration:
    """The map from table sums to whole-network milliseconds, and its quality on held-out networks.

    Attributes:
        scale: the common scale (milliseconds of a network per millisecond of its table sum; groups without a
            weight of their own use it).
        offset: milliseconds added to every network.
        fitted: networks the map was fitted to.
        held_out: networks it was judged on.
        kendall_tau: Kendall tau between predicted and measured latency on the held-out networks.
        median_relative_error: median of ``|predicted - measured| / measured`` on them.
        max_relative_error: the largest such error.
        madds_kendall_tau: Kendall tau between MAdds and measured latency on them (``nan`` if not given).
        measured: the held-out networks' measured milliseconds.
        predicted: their predicted milliseconds.
        weights: group -> its own scale (empty: the plain affine map).
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
    weights: Mapping[str, float] = field(default_factory=dict)

    def apply(self, sums: Mapping[str, float] | float) -> float:
        """The predicted milliseconds of a network from its table milliseconds by group (or their total)."""
        if not isinstance(sums, Mapping):
            return self.scale * float(sums) + self.offset
        return self.offset + sum(self.weights.get(group, self.scale) * value for group, value in sums.items())

    def to_data(self) -> dict[str, Any]:
        """Plain data (JSON)."""
        data = asdict(self)
        data["measured"], data["predicted"] = list(self.measured), list(self.predicted)
        data["weights"] = dict(sorted(self.weights.items()))
        return data

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> Calibration:
        """Read :meth:`to_data` back."""
        values = dict(data)
        values["measured"] = tuple(values.get("measured", ()))
        values["predicted"] = tuple(values.get("predicted", ()))
        values["weights"] = dict(values.get("weights", {}))
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


def fit_groups(sums: Sequence[Mapping[str, float]], measured: Sequence[float],
               ridge: float = RIDGE) -> tuple[float, float, dict[str, float]]:
    """The common scale and offset (:func:`fit_affine` on the totals) and a non-negative weight per group, shrunk
    towards the common scale by ``ridge``, with a free offset.

    Returns:
        ``(scale, offset, weights)``.
    """
    scale, offset = fit_affine([sum(s.values()) for s in sums], measured)
    groups = sorted({group for s in sums for group in s})
    X = np.array([[s.get(group, 0.0) for group in groups] for s in sums], dtype=float).reshape(len(sums), len(groups))
    y = np.asarray(measured, dtype=float)
    if not groups:
        return scale, offset, {}
    strength = np.sqrt(ridge * (X ** 2).mean(axis=0) * len(y)) + 1e-12  # per group, relative to its size
    # columns: the weights, then +1 and -1 (a free offset out of two non-negative ones)
    A = np.vstack([np.column_stack([X, np.ones(len(y)), -np.ones(len(y))]),
                   np.column_stack([np.diag(strength), np.zeros((len(groups), 2))])])
    coefficients, _ = nnls(A, np.concatenate([y, strength * scale]))
    weights = dict(zip(groups, map(float, coefficients[:len(groups)])))
    return scale, float(coefficients[-2] - coefficients[-1]), weights


def tau(a: Sequence[float], b: Sequence[float]) -> float:
    """Kendall tau (tau-b) of two equally long sequences; ``nan`` for fewer than two items or a constant one."""
    if len(a) < 2 or np.ptp(a) == 0 or np.ptp(b) == 0:
        return float("nan")
    return float(kendalltau(a, b).statistic)


def relative_errors(predicted: Sequence[float], measured: Sequence[float]) -> np.ndarray:
    """``|predicted - measured| / measured`` element-wise."""
    p, m = np.asarray(predicted, dtype=float), np.asarray(measured, dtype=float)
    return np.abs(p - m) / m


def calibrate(fit_sums: Sequence[Mapping[str, float] | float], fit_measured: Sequence[float],
              held_sums: Sequence[Mapping[str, float] | float], held_measured: Sequence[float],
              held_madds: Sequence[float] | None = None, ridge: float = RIDGE) -> Calibration:
    """Fit on one set of networks, judge on another.

    Args:
        fit_sums: table milliseconds of the fitting networks by group (or their totals: the plain affine map).
        fit_measured: their measured milliseconds.
        held_sums: the same of the held-out networks.
        held_measured: their measured milliseconds.
        held_madds: their MAdds (for the comparison), optional.
        ridge: the group weights' shrinkage towards the common scale.
    """
    if fit_sums and isinstance(fit_sums[0], Mapping):
        scale, offset, weights = fit_groups(fit_sums, fit_measured, ridge)
    else:
        (scale, offset), weights = fit_affine(fit_sums, fit_measured), {}
    found = Calibration(scale, offset, len(fit_sums), len(held_sums), 0.0, 0.0, 0.0, weights=weights)
    predicted = [found.apply(s) for s in held_sums]
    errors = relative_errors(predicted, held_measured) if len(held_measured) else np.array([np.nan])
    madds_tau = tau(held_madds, held_measured) if held_madds is not None else float("nan")
    return Calibration(scale, offset, len(fit_sums), len(held_sums), tau(predicted, held_measured),
                       float(np.median(errors)), float(np.max(errors)), madds_tau, tuple(map(float, held_measured)),
                       tuple(map(float, predicted)), weights)
