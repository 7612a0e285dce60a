"""The course of a search read back from its archive: fronts and hypervolume after every generation.

Shared by the TensorBoard callback, the run outputs and the report, so all three agree.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from nsga_lightning.search.core.limits import stored_limits
from nsga_lightning.search.core.pareto import hypervolume, objective_matrix, pareto_front
from nsga_lightning.search.core.records import ArchiveRow
from nsga_lightning.search.store.archive import Archive
from nsga_lightning.search.store.latency_record import LIMITS_SCREEN

DEFAULT_ERROR_REFERENCE = 100.0
REFERENCE_MARGIN = 1.1


@dataclass(frozen=True)
class GenerationSummary:
    """What the search knew after one generation.

    Attributes:
        generation: generation number (0 = initial population).
        front: keys of the Pareto front over every architecture evaluated up to this generation (within the run's
            limits, ``search.constraints``).
        hypervolume: normalised hypervolume of that front against the run's fixed reference point.
        best_error: lowest validation error so far (``nan`` if nothing succeeded).
        smallest_madds: smallest MAdds so far (``nan`` if nothing succeeded).
        evaluated: architectures trained in this generation (ok or failed).
        cached: population members of this generation answered from the archive (not trained again).
        failed: failed architectures in this generation.
        rung_counts: multi-fidelity runs: children of this generation that reached each rung (epochs -> count; a
            failed child counts for none); empty otherwise.
        epochs_trained: training epochs spent on this generation's children (multi-fidelity runs; else 0).
        epochs_saved: epochs not spent on children stopped early, against training every child fully.
        screened: children scored by the zero-cost pre-screen in this generation (0 without it).
        skipped: children kept from training by a limit known before training (``search.constraints``).
        best: the lowest value so far of every searched objective (``nan`` if nothing succeeded).
    """

    generation: int
    front: list[str]
    hypervolume: float
    best_error: float
    smallest_madds: float
    evaluated: int
    cached: int
    failed: int
    rung_counts: dict[int, int] = field(default_factory=dict)
    epochs_trained: int = 0
    epochs_saved: int = 0
    screened: int = 0
    skipped: int = 0
    best: dict[str, float] = field(default_factory=dict)


def reference_point(
    rows: Sequence[ArchiveRow], objectives: Sequence[str], overrides: Mapping[str, float] | None = None
) -> dict[str, float]:
    """A fixed hypervolume reference point: ``overrides`` where given, error 100, and otherwise 1.1 x the
    largest value among the successful architectures of generation 0 and those a warm start imported
    (generation -1) (fixed once generation 0 exists).

    Raises:
        ValueError: if an override names an objective that is not searched.
    """
    overrides = dict(overrides or {})
    unknown = sorted(set(overrides) - set(objectives))
    if unknown:
        raise ValueError(f"reference_point names {unknown}, which are not objectives; objectives: {list(objectives)}")
    first = [r for r in rows if r.generation <= 0 and r.is_ok]
    reference: dict[str, float] = {}
    for name in objectives:
        if name in overrides:
            reference[name] = float(overrides[name])
        elif name == "error":
            reference[name] = DEFAULT_ERROR_REFERENCE
        else:
            largest = max((float(r.objectives[name]) for r in first), default=1.0)
            reference[name] = REFERENCE_MARGIN * largest if largest > 0 else 1.0
    return reference


def summarize(
    archive: Archive, objectives: Sequence[str], overrides: Mapping[str, float] | None = None
) -> list[GenerationSummary]:
    """One :class:`GenerationSummary` per completed generation, oldest first."""
    rows = archive.rows()
    reference = reference_point(rows, objectives, overrides)
    screening = archive.screening()
    screened = Counter(s.generation for s in screening if s.score_name != LIMITS_SCREEN)
    skipped = Counter(s.generation for s in screening if s.score_name == LIMITS_SCREEN)
    limits = stored_limits(archive.config())
    rung_epochs = (archive.config() or {}).get("fidelity", {}).get("rung_epochs", [])
    summaries = []
    for generation in archive.generations():
        g = generation.generation
        upto = [r for r in rows if r.generation <= g]
        front = pareto_front(upto, objectives, limits)
        F = objective_matrix(front, objectives)
        ok = [r for r in upto if r.is_ok]
        new = [r for r in rows if r.generation == g]
        summaries.append(GenerationSummary(
            generation=g,
            front=[r.key for r in front],
            hypervolume=hypervolume(F, reference, objectives) if len(front) else 0.0,
            best_error=min((float(r.objectives["error"]) for r in ok if "error" in r.objectives),
                           default=float("nan")),
            smallest_madds=min((float(r.objectives["madds"]) for r in ok if "madds" in r.objectives),
                               default=float("nan")),
            evaluated=len(new),
            cached=sum(1 for key in generation.population if key not in {r.key for r in new}),
            failed=sum(1 for r in new if not r.is_ok),
            screened=screened.get(g, 0),
            skipped=skipped.get(g, 0),
            best={name: min((float(r.objectives[name]) for r in ok if name in r.objectives), default=float("nan"))
                  for name in objectives},
            **_rung_counts(new, rung_epochs),
        ))
    return summaries


def _rung_counts(new: Sequence[ArchiveRow], rung_epochs: Sequence[int]) -> dict[str, Any]:
    """Rung counts and epochs of a generation's new children (multi-fidelity rows only)."""
    staged = [r for r in new if r.fidelity is not None]
    if not staged:
        return {}
    full = int(staged[0].fidelity["max_epochs"])
    rungs = sorted({int(e) for e in rung_epochs} | {int(e) for r in staged for e in r.rung_errors} | {full})
    ok = [r for r in staged if r.is_ok]
    trained = sum(r.epochs for r in ok)
    return {"rung_counts": {e: sum(1 for r in ok if r.epochs >= e) for e in rungs}, "epochs_trained": trained,
            "epochs_saved": full * len(ok) - trained}
