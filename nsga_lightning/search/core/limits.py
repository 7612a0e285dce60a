"""Hard limits on objectives (``search.constraints``): upper bounds, how far a row is over them, and the checks.

``{latency: 5.0, params: 3.0e6}`` bounds any name the evaluator computes, searched or not. How far a result is over
its limits is the sum of its relative excesses, ``sum(max(0, value / limit - 1))`` (0: feasible), the constraint
violation NSGA-II ranks infeasible results by (``evolution/limits.py``); a name a result lacks is not judged. The run
fingerprint holds the limits (the operators' block: the operators apply them), from which readers of a run (the
report, TensorBoard, the Pareto outputs) take them back with :func:`stored_limits`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

LIMIT_RULE = ("feasible first (rank and crowding), then by violation sum(max(0, value / limit - 1)), failed last; "
              "known before training: never trained, mated again")


def check_limits(limits: Any, computed: Sequence[str]) -> dict[str, float]:
    """``search.constraints``, checked.

    Args:
        limits: name -> upper bound (``None`` or empty: no limits).
        computed: the names the evaluator computes.

    Returns:
        The limits as plain floats, by name.

    Raises:
        ValueError: one line for a limit on a name nothing computes, or a bound that is not a positive number.
    """
    if limits is None:
        return {}
    if not isinstance(limits, Mapping):
        raise ValueError(f"search.constraints maps objective names to upper bounds, e.g. {{latency: 5.0, params: "
                         f"3.0e6}}; got {limits!r}")
    checked = {}
    for name, bound in limits.items():
        if name not in computed:
            raise ValueError(f"search.constraints has a limit on {name!r}, which nothing computes: the evaluator "
                             f"returns {', '.join(computed)}")
        value = float(bound) if isinstance(bound, (int, float)) and not isinstance(bound, bool) else math.nan
        if not (math.isfinite(value) and value > 0):
            raise ValueError(f"search.constraints.{name} must be a positive number (an upper bound), got {bound!r}")
        checked[str(name)] = value
    return dict(sorted(checked.items()))


def violation(values: Mapping[str, float], limits: Mapping[str, float]) -> float:
    """How far ``values`` are over ``limits``: the sum of the relative excesses (0 within them)."""
    return float(sum(max(0.0, float(values[name]) / bound - 1.0) for name, bound in limits.items()
                     if name in values))


def broken(values: Mapping[str, float], limits: Mapping[str, float]) -> list[str]:
    """The limits ``values`` break, as ``"latency 6.1 > 5"`` texts."""
    return [f"{name} {float(values[name]):.4g} > {bound:.4g}" for name, bound in limits.items()
            if name in values and float(values[name]) > bound]


def within(row: Any, limits: Mapping[str, float] | None) -> bool:
    """Whether an archive row's objectives are within ``limits`` (``None`` or empty: always)."""
    return not limits or violation(row.objectives, limits) == 0.0


def stored_limits(config: Mapping[str, Any] | None) -> dict[str, float]:
    """The limits a run fingerprint (``Archive.config()``) holds; ``{}`` for a run without."""
    block = ((config or {}).get("operators") or {}).get("limits") or {}
    return {k: float(v) for k, v in block.get("limits", {}).items()}


def describe_limits(limits: Mapping[str, float], known: Sequence[str]) -> dict[str, Any]:
    """The fingerprint's ``limits`` block: the limits, which are checked before training, and the rule."""
    return {"limits": dict(sorted(limits.items())), "before_training": sorted(known), "rule": LIMIT_RULE}
