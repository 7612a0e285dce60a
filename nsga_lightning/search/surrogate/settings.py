"""The ``search.surrogate`` setting, checked: which predictor, when it takes over, its inner search and how the
children to train are chosen (see ``proposers/surrogate.py``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from nsga_lightning.search.surrogate.models import MODELS
from nsga_lightning.search.surrogate.selection import SELECTIONS

__all__ = ["SURROGATE_MODELS", "Surrogate", "make_surrogate"]

SURROGATE_MODELS = ("none", *sorted(MODELS))


@dataclass(frozen=True)
class Surrogate:
    """A checked ``search.surrogate`` block.

    Attributes:
        model: ``none`` (off), ``rbf``, ``gp``, ``trees``, ``mlp``, ``auto`` or ``ensemble``.
        start: the first generation whose children the surrogate proposes (generation 0 is always sampled and
            trained).
        inner_pop: population of the inner NSGA-II on predicted error (NSGANetV2: 40).
        inner_gens: its generations (NSGANetV2: 20).
        selection: ``hv_gain`` (greedy predicted hypervolume gain) or ``spread`` (NSGANetV2: even along the
            complexity axis).
        explore: the predicted error is ``mean - explore * std`` (an optimistic bound for the models with a
            std: gp, trees); 0: the mean.
        mated_share: guard rail: this share of every surrogate generation's children (rounded) comes from plain
            mating, the rest from the surrogate; 0: all from the surrogate.
        min_trained: guard rail, the initial design: the surrogate proposes only once this many architectures
            trained fully (earlier generations mate); at least 4 rows with a warm start's prior data.
        min_tau: guard rail: when the Kendall tau of the last surrogate generation's predictions against the errors
            its children reached is below this, the next generation mates instead (then the surrogate tries again);
            ``None``: never.
    """

    model: str = "none"
    start: int = 1
    inner_pop: int = 40
    inner_gens: int = 20
    selection: str = "hv_gain"
    explore: float = 1.0
    mated_share: float = 0.0
    min_trained: int = 0
    min_tau: float | None = None

    @property
    def enabled(self) -> bool:
        """Whether the surrogate proposes children."""
        return self.model != "none"

    def describe(self) -> dict[str, Any]:
        """The fingerprint entry (what changes results)."""
        guards = {name: value for name, value, off in (("mated_share", self.mated_share, 0.0),
                                                      ("min_trained", self.min_trained, 0),
                                                      ("min_tau", self.min_tau, None)) if value != off}
        return {"model": self.model, "start": self.start, "inner_pop": self.inner_pop,
                "inner_gens": self.inner_gens, "selection": self.selection, "explore": self.explore,
                "target": "log error", "features": "one-hot by bounds"} | guards  # guards only where on: old runs resume


def make_surrogate(model: str | None = None, start: int = 1, inner_pop: int = 40, inner_gens: int = 20,
                   selection: str = "hv_gain", explore: float = 1.0, mated_share: float = 0.0, min_trained: int = 0,
                   min_tau: float | None = None) -> Surrogate:
    """Check the ``search.surrogate`` settings.

    Raises:
        ValueError: one line naming the bad setting and what is allowed (``start`` against ``n_gens`` is a mode
            rule: ``assemble/modes.py``).
    """
    model = "none" if model is None else model
    if model not in SURROGATE_MODELS:
        raise ValueError(f"unknown search.surrogate.model {model!r}; allowed: {', '.join(SURROGATE_MODELS)}")
    for name, value, low in (("start", start, 1), ("inner_pop", inner_pop, 2), ("inner_gens", inner_gens, 1)):
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise ValueError(f"search.surrogate.{name} must be an integer >= {low}, got {value!r}")
    if selection not in SELECTIONS:
        raise ValueError(f"unknown search.surrogate.selection {selection!r}; allowed: {', '.join(SELECTIONS)}")
    if isinstance(explore, bool) or not isinstance(explore, (int, float)) or explore < 0:
        raise ValueError(f"search.surrogate.explore must be a number >= 0, got {explore!r}")
    if isinstance(mated_share, bool) or not isinstance(mated_share, (int, float)) or not 0 <= mated_share < 1:
        raise ValueError(f"search.surrogate.mated_share must be a number in [0, 1), got {mated_share!r}")
    if isinstance(min_trained, bool) or not isinstance(min_trained, int) or min_trained < 0:
        raise ValueError(f"search.surrogate.min_trained must be an integer >= 0, got {min_trained!r}")
    if min_tau is not None and (isinstance(min_tau, bool) or not isinstance(min_tau, (int, float))
                                or not -1 <= min_tau <= 1):
        raise ValueError(f"search.surrogate.min_tau must be a number in [-1, 1] or null, got {min_tau!r}")
    return Surrogate(model, int(start), int(inner_pop), int(inner_gens), selection, float(explore),
                     float(mated_share), int(min_trained), None if min_tau is None else float(min_tau))
