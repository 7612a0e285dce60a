"""The ``search.budget`` and ``search.stop_when`` settings, checked: when a search ends before ``n_gens``.

A budget (``hours``, ``evaluations``, ``epochs``; any of them) is counted across sessions, in the archive; the
first one reached ends the search (``recording/run_control.py``). ``stop_when`` ends it once the hypervolume of
the front (fixed reference point: ``store/history.py``) has grown by less than ``hv_gain_below`` over the last
``generations`` generations. Neither is part of the run fingerprint: like ``n_gens`` they say how far a search
goes, not what it trains, so a search stopped by either continues when run again with a larger one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

__all__ = ["Budget", "StopWhen", "make_budget", "make_stop_when"]


@dataclass(frozen=True)
class Budget:
    """A checked ``search.budget`` block; ``None``: no limit of that kind.

    Attributes:
        hours: wall-clock hours of the search's sessions together (not deterministic: where it stopped is
            recorded, so that a resume replays it).
        evaluations: architectures trained by this search (each counted once, at its first result; imported
            ones are not counted). Exact: never more are trained.
        epochs: training epochs of this search's candidates (each candidate's ``max_epochs``, or with rungs the
            epochs of every rung it reached). Exact, as ``evaluations``.
        hard: ``hours`` stops at once instead of after the generation in flight (what is in flight is dropped and
            trained again when the search continues); the count budgets are exact either way.
    """

    hours: float | None = None
    evaluations: int | None = None
    epochs: int | None = None
    hard: bool = False

    @property
    def enabled(self) -> bool:
        """Whether any limit is set."""
        return any(v is not None for v in (self.hours, self.evaluations, self.epochs))

    @property
    def seconds(self) -> float | None:
        """``hours`` in seconds."""
        return None if self.hours is None else self.hours * 3600.0

    def describe(self) -> dict[str, Any]:
        """The limits that are set (for logs and the archive's stop record)."""
        return {k: v for k, v in (("hours", self.hours), ("evaluations", self.evaluations),
                                  ("epochs", self.epochs)) if v is not None} | ({"hard": True} if self.hard else {})


@dataclass(frozen=True)
class StopWhen:
    """A checked ``search.stop_when`` block.

    Attributes:
        hv_gain_below: stop once the normalised hypervolume (in [0, 1]) gained less than this over the last
            ``generations`` generations; ``None``: off.
        generations: the window of that comparison.
    """

    hv_gain_below: float | None = None
    generations: int = 5

    @property
    def enabled(self) -> bool:
        """Whether the rule is on."""
        return self.hv_gain_below is not None


def _positive(name: str, value: Any, integer: bool) -> Any:
    kinds = (int,) if integer else (int, float)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, kinds) or not math.isfinite(value) or value <= 0:
        kind = "an integer >= 1" if integer else "a number > 0"
        raise ValueError(f"search.budget.{name} must be {kind} (or null: no limit), got {value!r}")
    return int(value) if integer else float(value)


def make_budget(hours: Any = None, evaluations: Any = None, epochs: Any = None, hard: Any = False) -> Budget:
    """Check the ``search.budget`` settings.

    Raises:
        ValueError: one line naming the bad setting and what is allowed.
    """
    if not isinstance(hard, bool):
        raise ValueError(f"search.budget.hard must be true or false, got {hard!r}")
    return Budget(_positive("hours", hours, False), _positive("evaluations", evaluations, True),
                  _positive("epochs", epochs, True), hard)


def make_stop_when(hv_gain_below: Any = None, generations: Any = 5) -> StopWhen:
    """Check the ``search.stop_when`` settings.

    Raises:
        ValueError: one line naming the bad setting and what is allowed.
    """
    if hv_gain_below is not None and (isinstance(hv_gain_below, bool) or not isinstance(hv_gain_below, (int, float))
                                      or not math.isfinite(hv_gain_below) or hv_gain_below < 0):
        raise ValueError(f"search.stop_when.hv_gain_below must be a number >= 0 (a gain of the hypervolume, which "
                         f"lies in [0, 1]) or null (off), got {hv_gain_below!r}")
    if isinstance(generations, bool) or not isinstance(generations, int) or generations < 1:
        raise ValueError(f"search.stop_when.generations must be an integer >= 1, got {generations!r}")
    return StopWhen(None if hv_gain_below is None else float(hv_gain_below), int(generations))
