"""Zero-cost pre-screening of a generation's children (``search.prescreen``).

With ``score: synflow`` or ``naswot`` and ``factor: k``, a generation mates ``k * n_offspring`` new children,
scores each untrained network once (``nn/zero_cost.py``: seconds on a CPU) and trains only ``n_offspring`` of
them: the first by non-dominated rank on (the negated score, the complexity objectives), then crowding distance
(larger first), then key, the rule that also promotes children between rungs (``fidelity.promotion_order``). A
child whose score cannot be computed ranks last. Generation 0 is not screened (its population is sampled, not
mated).

Every screened child is stored in the archive's ``screened`` table with its score, complexity and whether it was
chosen, before any of them trains. Scores are deterministic for a seed (each network is initialised from the
child's own seed, the one its training starts from, and scored on one fixed batch drawn with the run seed); a
resumed generation still reads them from the table, so that it chooses the same children even on a machine whose
float rounding differs.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from nsga_lightning.search.core.records import ScreenRow
from nsga_lightning.search.evolution.fidelity import promotion_order

if TYPE_CHECKING:
    from pymoo.core.population import Population

    from nsga_lightning.search.core.evaluator import Candidate
    from nsga_lightning.search.recording.recorder import Recorder

log = logging.getLogger("nsga_lightning.search.runner")

PRESCREEN_SCORES = ("none", "synflow", "naswot")
SELECTION = "non-dominated rank on (-score, complexity), then crowding (larger first), then key; unscored last"


# Scores a batch of candidates: (score or None, complexity objectives, error text or None) per candidate.
Scorer = Callable[[Sequence["Candidate"]], list[tuple[float | None, dict[str, float], str | None]]]


@dataclass(frozen=True)
class Prescreen:
    """The ``search.prescreen`` setting, checked.

    Attributes:
        score: ``none`` (off), ``synflow`` or ``naswot``.
        factor: children mated per child trained (>= 1).
    """

    score: str = "none"
    factor: int = 4

    @property
    def enabled(self) -> bool:
        """Whether children are screened."""
        return self.score != "none"

    def describe(self) -> dict[str, Any]:
        """The fingerprint entry (what changes results)."""
        return {"score": self.score, "factor": self.factor, "selection": SELECTION}


def make_prescreen(score: str | None, factor: int | None) -> Prescreen:
    """Check the ``search.prescreen`` settings.

    Raises:
        ValueError: one line naming the bad setting and what is allowed.
    """
    score = "none" if score is None else score
    if score not in PRESCREEN_SCORES:
        raise ValueError(f"unknown search.prescreen.score {score!r}; allowed: {', '.join(PRESCREEN_SCORES)}")
    factor = 4 if factor is None else factor
    if isinstance(factor, bool) or not isinstance(factor, int) or factor < 1:
        raise ValueError(f"search.prescreen.factor must be an integer >= 1 (children mated per child trained), "
                         f"got {factor!r}")
    return Prescreen(score, factor)


def selection_order(rows: Sequence[ScreenRow], complexity: Sequence[str]) -> list[int]:
    """Indices of ``rows`` best first (see :data:`SELECTION`); rows without a score or complexity come last."""
    F = np.array([[-r.score if r.score is not None else math.inf,
                   *(r.objectives.get(name, math.inf) for name in complexity)] for r in rows], dtype=float)
    F = F.reshape(len(rows), 1 + len(complexity))
    finite = np.isfinite(F).all(axis=1)
    scored = np.flatnonzero(finite)
    order = [int(scored[i]) for i in promotion_order(F[scored], [rows[i].key for i in scored])]
    return order + sorted(np.flatnonzero(~finite).tolist(), key=lambda i: rows[i].key)


def screen_children(recorder: Recorder, children: Population, generation: int, scorer: Scorer,
                    prescreen: Prescreen, n: int) -> Population:
    """The ``n`` children of ``children`` chosen for training, in their mated order; every child's score stored.

    Args:
        recorder: the search's recorder (its archive, space, objectives and ``candidate``).
        children: the generation's new children (keys new to the archive).
        generation: the generation that mated them.
        scorer: scores candidates (``ZeroCostScorer``).
        prescreen: the score and factor.
        n: children to train (``n_offspring``).
    """
    keys = [ind.get("key") for ind in children]
    # a key screened before (this generation in an interrupted attempt, or an earlier one) keeps its score
    known = {r.key: r for r in recorder.archive.screening() if r.score_name == prescreen.score}
    todo = [recorder.candidate(ind.X, generation, key) for key, ind in zip(keys, children) if key not in known]
    scored = dict(zip((c.key for c in todo), scorer(todo))) if todo else {}
    rows = []
    for key in keys:
        if key in scored:
            score, objectives, error_text = scored[key]
            if error_text is not None:
                log.warning("generation %d: architecture %s has no %s score (%s); it ranks last in the pre-screen",
                            generation, key, prescreen.score, error_text)
        else:
            score, objectives, error_text = known[key].score, known[key].objectives, known[key].error_text
        rows.append(ScreenRow(generation, key, prescreen.score, score, dict(objectives), False, error_text))
    complexity = [name for name in recorder.objectives if name != "error"]
    chosen = set(selection_order(rows, complexity)[:n])
    rows = [replace(r, selected=i in chosen) for i, r in enumerate(rows)]
    recorder.archive.record_screening(generation, rows)
    log.info("generation %d: %d of %d children chosen by %s (%d scored now)", generation, len(chosen), len(rows),
             prescreen.score, len(todo))
    return children[[i for i in range(len(rows)) if i in chosen]]


class PrescreenProposer:
    """Asks its inner proposer for ``factor`` times the children and keeps the best ``n`` by zero-cost score
    (:func:`screen_children`); every screened child is stored.

    Args:
        inner: the proposer whose children are screened.
        prescreen: the score and factor.
        scorer: scores candidates (``ZeroCostScorer``).
    """

    def __init__(self, inner: Any, prescreen: Prescreen, scorer: Scorer) -> None:
        self.inner, self.prescreen, self.scorer = inner, prescreen, scorer

    def propose(self, recorder: Recorder, ask: Any) -> Population:
        """The ``ask.n`` chosen of ``factor * ask.n`` proposed children, in their proposed order."""
        off = self.inner.propose(recorder, replace(ask, n=ask.n * self.prescreen.factor))
        return screen_children(recorder, off, ask.generation, self.scorer, self.prescreen, ask.n)

    def describe(self) -> dict[str, Any]:
        """The inner proposer's blocks and the ``prescreen`` block."""
        return {**self.inner.describe(), "prescreen": self.prescreen.describe()}
