"""How well the surrogate predicted, measured honestly: per generation, on the children it chose and that then
trained fully, never on the rows it was fitted to."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from nsga_lightning.search.core.records import ArchiveRow
from nsga_lightning.search.store.prediction_table import PredictionRow
from nsga_lightning.search.surrogate.models import kendall_tau

__all__ = ["SurrogateQuality", "surrogate_line", "surrogate_quality"]


@dataclass(frozen=True)
class SurrogateQuality:
    """One generation's surrogate record.

    Attributes:
        generation: the generation.
        model: the model that predicted (``auto``'s choice by name).
        proposed: children it chose.
        measured: of those, the ones that trained fully and successfully (the pairs below).
        kendall_tau: rank agreement of predicted and measured error (``nan`` below two pairs).
        rmse: root mean squared error of the prediction, in error points (``nan`` without pairs).
        fit_rows: the architectures it was fitted to.
        seconds: the driver's seconds for the proposal (fit, inner search, choice).
    """

    generation: int
    model: str
    proposed: int
    measured: int
    kendall_tau: float
    rmse: float
    fit_rows: int
    seconds: float


def surrogate_quality(predictions: Sequence[PredictionRow], rows: Sequence[ArchiveRow]) -> list[SurrogateQuality]:
    """Per generation (oldest first), the quality of the stored predictions against the measured errors.

    Children stopped at a rung (their error is at fewer epochs) and failed ones are left out of the pairs.
    """
    by_key = {r.key: r for r in rows}
    out = []
    for generation in sorted({p.generation for p in predictions}):
        chosen = [p for p in predictions if p.generation == generation]
        pairs = [(p.predicted_error, float(by_key[p.key].objectives["error"])) for p in chosen
                 if p.key in by_key and by_key[p.key].is_ok and not by_key[p.key].stopped_early]
        predicted = np.array([a for a, _ in pairs], dtype=float)
        measured = np.array([b for _, b in pairs], dtype=float)
        rmse = float(np.sqrt(np.mean((predicted - measured) ** 2))) if pairs else math.nan
        out.append(SurrogateQuality(generation, chosen[0].model, len(chosen), len(pairs),
                                    kendall_tau(predicted, measured), rmse, chosen[0].fit_rows, chosen[0].seconds))
    return out


def surrogate_line(quality: Sequence[SurrogateQuality]) -> str:
    """One line for the end of a search: children proposed, median Kendall tau and RMSE, the driver's time."""
    taus = [q.kendall_tau for q in quality if math.isfinite(q.kendall_tau)]
    rmses = [q.rmse for q in quality if math.isfinite(q.rmse)]
    models = sorted({q.model for q in quality})
    tau = f"{float(np.median(taus)):.2f}" if taus else "n/a"
    rmse = f"{float(np.median(rmses)):.2f}" if rmses else "n/a"
    return (f"surrogate ({', '.join(models)}): {sum(q.proposed for q in quality)} children proposed in "
            f"{len(quality)} generations; on them, median Kendall tau {tau}, median RMSE {rmse} error points; "
            f"{sum(q.seconds for q in quality):.1f} s of driver time")
