"""Which of the inner search's candidates to train: greedy predicted hypervolume gain, or an even spread along
the complexity axis (NSGANetV2's rule).

Both work on minimised objective vectors: column 0 the predicted error (optionally an optimistic bound, mean
minus a multiple of the std), the other columns the exact complexity objectives. Objectives are normalised by
the ideal and nadir of the archive's front together with the candidates, the reference point is 1.1.
"""

from __future__ import annotations

import numpy as np

__all__ = ["SELECTIONS", "hypervolume", "select_by_hv_gain", "select_by_spread", "select_children"]

REFERENCE = 1.1


def hypervolume(points: np.ndarray, reference: np.ndarray) -> float:
    """Hypervolume dominated by ``points`` ``(n, m)`` up to ``reference`` ``(m,)`` (minimisation)."""
    points = np.asarray(points, dtype=float)
    points = points[np.all(points < reference, axis=1)]
    if points.size == 0:
        return 0.0
    if points.shape[1] == 2:  # exact sweep: sort by the first objective, add the new rectangles
        points = points[np.lexsort((points[:, 1], points[:, 0]))]
        total, best_second = 0.0, reference[1]
        for first, second in points:
            if second < best_second:
                total += (reference[0] - first) * (best_second - second)
                best_second = second
        return float(total)
    from pymoo.indicators.hv import HV

    return float(HV(ref_point=reference)(points))


def _normalise(candidates: np.ndarray, front: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    together = np.vstack([candidates, front]) if front.size else candidates
    ideal, nadir = together.min(axis=0), together.max(axis=0)
    scale = np.where(nadir > ideal, nadir - ideal, 1.0)
    return (candidates - ideal) / scale, ((front - ideal) / scale if front.size else front)


def select_by_hv_gain(candidates: np.ndarray, front: np.ndarray, k: int) -> list[int]:
    """Greedily the ``k`` candidates whose predicted points add the most hypervolume to ``front``, each chosen
    point joining the front before the next choice. Once no candidate adds any, the rest are the least
    dominated ones (smallest distance to the front's dominated region), ties by index.

    Args:
        candidates: Objective vectors ``(n, m)`` of the candidates (predicted error first).
        front: Objective vectors ``(f, m)`` of the archive's front (may be empty, shape ``(0, m)``).
        k: How many to choose (at most ``n``).

    Returns:
        The chosen candidates' indices, in the order chosen.
    """
    cand, base = _normalise(np.asarray(candidates, dtype=float), np.asarray(front, dtype=float))
    reference = np.full(cand.shape[1], REFERENCE)
    current = base.reshape(-1, cand.shape[1])
    volume = hypervolume(current, reference)
    chosen: list[int] = []
    left = list(range(len(cand)))
    while left and len(chosen) < k:
        gains = np.array([hypervolume(np.vstack([current, cand[i]]), reference) - volume for i in left])
        if gains.max() <= 1e-15:
            break
        best = left[int(np.argmax(gains))]  # argmax: the first of equal gains, i.e. the lowest index
        chosen.append(best)
        left.remove(best)
        current = np.vstack([current, cand[best]])
        volume = hypervolume(current, reference)
    if len(chosen) < k and left:
        # dominated by the front: how far each point lies from the front's attainment surface (0 on it)
        gaps = np.array([np.min(np.linalg.norm(np.maximum(cand[i] - current, 0.0), axis=1)) if len(current)
                         else 0.0 for i in left])
        chosen += [left[j] for j in np.argsort(gaps, kind="stable")[: k - len(chosen)]]
    return chosen


def select_by_spread(candidates: np.ndarray, front: np.ndarray, k: int) -> list[int]:
    """``k`` candidates spread evenly along the complexity axis (objective 1), NSGANetV2's rule in greedy form:
    each choice is the non-dominated candidate farthest in complexity from the front and the earlier choices;
    dominated candidates follow once the non-dominated ones are used, ties by index."""
    from pymoo.util.nds.non_dominated_sorting import NonDominatedSorting

    cand, base = _normalise(np.asarray(candidates, dtype=float), np.asarray(front, dtype=float))
    order = NonDominatedSorting().do(cand, return_rank=True)[1]  # rank per candidate
    taken = list(base.reshape(-1, cand.shape[1])[:, 1])
    chosen: list[int] = []
    for rank in sorted(set(order.tolist())):
        left = [i for i in range(len(cand)) if order[i] == rank]
        while left and len(chosen) < k:
            gaps = [min((abs(cand[i, 1] - t) for t in taken), default=np.inf) for i in left]
            best = left[int(np.argmax(gaps))]
            chosen.append(best)
            left.remove(best)
            taken.append(cand[best, 1])
    return chosen


SELECTIONS = {"hv_gain": select_by_hv_gain, "spread": select_by_spread}


def select_children(rule: str, candidates: np.ndarray, front: np.ndarray, k: int) -> list[int]:
    """Choose ``k`` candidates by the named rule.

    Raises:
        ValueError: For an unknown rule (the message lists the known ones).
    """
    if rule not in SELECTIONS:
        raise ValueError(f"unknown surrogate selection {rule!r}; choose one of {sorted(SELECTIONS)}")
    return SELECTIONS[rule](candidates, front, k)
