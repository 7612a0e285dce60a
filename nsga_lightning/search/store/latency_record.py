"""What a run's readers (the report, TensorBoard, the search's closing summary) say about its latency and its limits,
read from the run directory: the latency snapshot (``RunDirectory.latency_snapshot``, written by the trainer
evaluator: the predictor's calibration on held-out networks), the archive's rows and the children the limits kept
from training. No torch: the report starts without it."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

from nsga_lightning.search.core.limits import within
from nsga_lightning.search.core.records import ArchiveRow, ScreenRow
from nsga_lightning.search.store.run_directory import RunDirectory

LIMITS_SCREEN = "limits"  # the screened rows of children a limit kept from training (``evolution/limits.py``)


def read_latency_snapshot(run: RunDirectory) -> dict[str, Any] | None:
    """The run's latency snapshot, or ``None`` (no latency objective, or unreadable)."""
    path = run.latency_snapshot
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text())
    except ValueError:
        return None


def _kendall(a: Sequence[float], b: Sequence[float]) -> float:
    if len(a) < 2:
        return math.nan
    from scipy.stats import kendalltau

    return float(kendalltau(a, b).statistic)


def latency_quality(snapshot: Mapping[str, Any] | None, rows: Sequence[ArchiveRow]) -> dict[str, float]:
    """The predictor's quality: on the calibration's held-out networks (``kendall_tau``, ``median_relative_error``,
    ``max_relative_error``, ``madds_kendall_tau``, ``held_out``) and, where the run measured latency, between the
    stored prediction and measurement of its candidates (``search_kendall_tau``, ``search_median_relative_error``,
    ``search_measured``)."""
    found: dict[str, float] = {}
    calibration = (snapshot or {}).get("calibration")
    if calibration:
        found.update({name: float(calibration[name]) for name in ("kendall_tau", "median_relative_error",
                                                                   "max_relative_error", "madds_kendall_tau",
                                                                   "held_out")})
    pairs = [(float(r.objectives["latency_predicted"]), float(r.objectives["latency"])) for r in rows
             if r.is_ok and "latency_predicted" in r.objectives and "latency" in r.objectives]
    if pairs:
        predicted, measured = zip(*pairs)
        errors = sorted(abs(p - m) / m for p, m in pairs)
        found.update(search_kendall_tau=_kendall(predicted, measured), search_measured=float(len(pairs)),
                     search_median_relative_error=errors[len(errors) // 2])
    return found


def latency_lines(snapshot: Mapping[str, Any] | None, rows: Sequence[ArchiveRow]) -> list[str]:
    """One line about how the run's latency was got, one about how well the prediction ranks measurements."""
    if snapshot is None:
        return []
    target = snapshot.get("settings", {})
    spec = snapshot.get("spec", {})
    device = snapshot.get("target", {}).get("device", "?")
    image_size = spec.get("options", {}).get("image_size")
    lines = [(f"latency: milliseconds of the {spec.get('space')} network (image size {image_size}) on "
              f"{target.get('kind')} ({device}, {target.get('threads')} thread(s), batch {target.get('batch_size')}, "
              f"{target.get('clock')} clock)")]
    quality = latency_quality(snapshot, rows)
    if "kendall_tau" in quality:
        text = (f"latency predictor (per-layer table, calibrated): Kendall tau {quality['kendall_tau']:.3f}, "
                f"median relative error {100 * quality['median_relative_error']:.1f}% (largest "
                f"{100 * quality['max_relative_error']:.1f}%) against measurements of "
                f"{int(quality['held_out'])} held-out networks (MAdds: tau {quality['madds_kendall_tau']:.3f})")
        if "search_kendall_tau" in quality:
            text += (f"; on the {int(quality['search_measured'])} measured candidates: tau "
                     f"{quality['search_kendall_tau']:.3f}, median relative error "
                     f"{100 * quality['search_median_relative_error']:.1f}%")
        lines.append(text)
    return lines


def limits_lines(limits: Mapping[str, float], screened: Sequence[ScreenRow], rows: Sequence[ArchiveRow],
                 front: Sequence[ArchiveRow]) -> list[str]:
    """What the limits did: the limits, the children kept from training, the trained results over them, and a
    line when no architecture is within them."""
    if not limits:
        return []
    kept = [s for s in screened if s.score_name == LIMITS_SCREEN]
    over = [r for r in rows if r.is_ok and not within(r, limits)]
    text = ", ".join(f"{name} <= {bound:.4g}" for name, bound in limits.items())
    lines = [(f"limits ({text}): {len(kept)} children kept from training (known before training), {len(over)} "
              "trained architectures over a limit (infeasible, never on the front)")]
    if not front:
        lines.append("no architecture is within the limits: the front is empty (loosen search.constraints)")
    return lines
