"""Multi-fidelity settings and rules: the rungs of successive halving, who is promoted, and where a child that
stopped early stands in survival.

Promotion (MO-ASHA's rule, Schmucker et al. 2021, within one generation): the children that reached rung ``r``
are ordered by non-dominated rank on (error at rung ``r``, the complexity objectives), then by crowding distance
(larger first), then by key, and the first ``max(1, ceil(keep * n))`` go on to the next rung. The order uses no
random numbers, so it follows from the archive alone: a resumed generation promotes the same children.

Survival of a child stopped early: it keeps its rung error but ranks behind every child trained to the full
epochs; stopped children rank among themselves by the rung they reached (higher first), then by rank and
crowding on their rung errors; failed children come last. Why: an error after 1 of 9 epochs is biased upwards
by an amount that differs between architectures (small networks learn faster early), so comparing it with full
errors would let an under-trained network take a front place it never earned (or push out a fully trained
one); ranked behind, a stopped child only fills the population where there are too few full children (the
first generations) and there still takes part in mating by how good it was at its rung. This is encoded as the
constraint violation ``1 - epochs / max_epochs`` (0 for full children, 1 for failed ones), which the survival
and tournament of ``operators.py`` read. A result over a limit of ``search.constraints`` (``core/limits.py``) is
infeasible as in pymoo's NSGA-II: its violation lies in ``(OVER_LIMIT, 1)``, closer to 1 the further it is over, so it
ranks behind every feasible child (stopped ones included), by how far it is over, and before failed ones.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from pymoo.operators.survival.rank_and_crowding.metrics import calc_crowding_distance

from nsga_lightning.search.core.limits import violation as limit_violation
from nsga_lightning.search.core.pareto import non_dominated_ranks
from nsga_lightning.search.core.records import ArchiveRow

PROMOTION = "non-dominated rank on (rung error, complexity), then crowding (larger first), then key"
STOPPED = "behind every full-fidelity child; by rung reached, then rank and crowding on the rung error"
LIMIT_BAND = 1e-6  # results over a limit lie in (1 - LIMIT_BAND, 1): behind any stopped child (<= 1 - 1/max_epochs)
OVER_LIMIT = 1.0 - LIMIT_BAND
ASYNCHRONOUS = "MO-ASHA: promote among the best floor(keep * n) reached so far; a closed rung tops up to the count"


@dataclass(frozen=True)
class Fidelity:
    """The rungs of a search (epochs, increasing, the last one the full training) and the share promoted.

    Attributes:
        rungs: e.g. ``(1, 3, 9)``; one rung (the full epochs) means every child trains fully.
        keep: share of a rung's children promoted to the next one, in (0, 1).
        asynchronous: promote as results arrive (MO-ASHA, ``async_halving.py``) instead of at rung barriers;
            the promotions then depend on the order of completion.
    """

    rungs: tuple[int, ...]
    keep: float = 1 / 3
    asynchronous: bool = False

    @property
    def enabled(self) -> bool:
        """Whether children are trained in rungs (more than one)."""
        return len(self.rungs) > 1

    @property
    def max_epochs(self) -> int:
        """The full training's epochs (the last rung)."""
        return self.rungs[-1]

    def promoted(self, n: int) -> int:
        """How many of ``n`` children at a rung go on to the next: ``max(1, ceil(keep * n))`` (0 of 0)."""
        return 0 if n <= 0 else max(1, math.ceil(self.keep * n - 1e-9))

    def describe(self) -> dict[str, object]:
        """The fingerprint entry (what changes results)."""
        entry: dict[str, object] = {"rung_epochs": list(self.rungs), "keep": self.keep, "promotion": PROMOTION,
                                    "stopped": STOPPED}
        if self.asynchronous:  # only when on: the fingerprints of synchronous runs stay as they were
            entry["asynchronous"] = ASYNCHRONOUS
        return entry


def make_fidelity(rungs: Sequence[int] | None, keep: float | None, eta: float | None, max_epochs: int,
                  asynchronous: bool = False) -> Fidelity:
    """Check the ``search.fidelity`` settings against the trainer's ``max_epochs``.

    Args:
        rungs: epochs of each rung, increasing, the last equal to ``max_epochs``; empty or ``None``: off.
        keep: share promoted at each rung, in (0, 1); default ``1 / eta``, or 1/3.
        eta: the reduction factor (``keep = 1 / eta``), > 1; give ``keep`` or ``eta``, not both.
        max_epochs: ``trainer.max_epochs`` of every candidate.
        asynchronous: MO-ASHA's asynchronous promotions (``true``/``false``).

    Raises:
        ValueError: one line naming the bad setting and what is allowed.
    """
    rungs = list(rungs or [max_epochs])
    if any(isinstance(e, bool) or not isinstance(e, int) or e < 1 for e in rungs):
        raise ValueError(f"search.fidelity.rungs must be epochs (integers >= 1), got {rungs}")
    if any(b <= a for a, b in itertools.pairwise(rungs)):
        raise ValueError(f"search.fidelity.rungs must be strictly increasing, got {rungs}")
    if rungs[-1] != max_epochs:
        raise ValueError(f"the last of search.fidelity.rungs ({rungs[-1]}) must equal trainer.max_epochs "
                         f"({max_epochs}): the learning-rate schedule runs over the full epochs from the start")
    if keep is not None and eta is not None:
        raise ValueError("give search.fidelity.keep or search.fidelity.eta (keep = 1 / eta), not both")
    if eta is not None:
        if isinstance(eta, bool) or not isinstance(eta, (int, float)) or not eta > 1:
            raise ValueError(f"search.fidelity.eta must be a number > 1, got {eta!r}")
        keep = 1 / eta
    if keep is None:
        keep = 1 / 3
    if isinstance(keep, bool) or not isinstance(keep, (int, float)) or not 0 < keep < 1:
        raise ValueError(f"search.fidelity.keep must be a share in (0, 1), got {keep!r}")
    if not isinstance(asynchronous, bool):
        raise ValueError(f"search.fidelity.asynchronous must be true or false, got {asynchronous!r}")
    return Fidelity(tuple(rungs), float(keep), asynchronous)


def promotion_order(F: np.ndarray, keys: Sequence[str]) -> list[int]:
    """Indices of the rows of ``F`` (rung error, complexity objectives; all minimised) best first: non-dominated
    rank, then crowding distance within the rank (larger first), then key."""
    if len(keys) == 0:
        return []
    F = np.asarray(F, dtype=float).reshape(len(keys), -1)
    ranks = non_dominated_ranks(F)
    crowding = np.zeros(len(keys))
    for rank in np.unique(ranks):
        members = np.flatnonzero(ranks == rank)
        crowding[members] = calc_crowding_distance(F[members])
    return sorted(range(len(keys)), key=lambda i: (ranks[i], -crowding[i], keys[i]))


def violation(row: ArchiveRow, limits: Mapping[str, float] | None = None) -> float:
    """The constraint violation survival reads: 0 full fidelity, ``1 - epochs / max_epochs`` stopped early,
    ``1 - LIMIT_BAND / (1 + excess)`` over ``limits`` (``excess``: the sum of relative excesses), 1 failed."""
    if not row.is_ok:
        return 1.0
    excess = limit_violation(row.objectives, limits) if limits else 0.0
    if excess > 0:
        return 1.0 - LIMIT_BAND / (1.0 + excess)
    if not row.stopped_early:
        return 0.0
    return 1.0 - row.epochs / row.fidelity["max_epochs"]
