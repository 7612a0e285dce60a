"""Pareto helpers on hand-made sets with known answers."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from nsga_lightning.search import (
    ArchiveRow,
    format_objective,
    hypervolume,
    non_dominated_ranks,
    pareto_front,
    write_pareto_csv,
)


def row(key: str, error: float, madds: float, params: float = 1.0, status: str = "ok") -> ArchiveRow:
    objectives = {"error": error, "madds": madds, "params": params} if status == "ok" else {}
    return ArchiveRow(
        key, [0, 1], None, 0, 7, status, objectives, 0.5, None if status == "ok" else "boom", "now"
    )


ROWS = [
    row("a", 1, 3),
    row("b", 2, 2),
    row("c", 3, 1),
    row("d", 3, 3),
    row("e", 2, 2),
    row("f", 0, 0, status="failed"),
    row("g", 4, 4),
]


def test_non_dominated_ranks_known_answer():
    F = np.array([[1, 3], [2, 2], [3, 1], [3, 3], [4, 4]], dtype=float)
    assert non_dominated_ranks(F).tolist() == [0, 0, 0, 1, 2]


def test_pareto_front_keeps_ties_drops_dominated_and_failed():
    front = pareto_front(ROWS, ("error", "madds"))
    assert [r.key for r in front] == ["a", "b", "e", "c"]
    assert pareto_front([row("f", 0, 0, status="failed")]) == []


def test_pareto_front_three_objectives():
    rows = [row("a", 1, 1, 9), row("b", 1, 1, 1), row("c", 2, 0, 5), row("d", 2, 2, 2)]
    assert [r.key for r in pareto_front(rows, ("error", "madds", "params"))] == ["b", "c"]


def test_hypervolume_known_values():
    F = np.array([[1, 3], [2, 2], [3, 1]], dtype=float)
    assert hypervolume(F, [4, 4], normalize=False) == pytest.approx(6.0)
    assert hypervolume(F, [4, 4]) == pytest.approx(6.0 / 16.0)
    assert hypervolume(F, {"error": 4, "madds": 4}, objectives=("error", "madds")) == pytest.approx(0.375)
    # a point outside the reference box and a failed point (inf) add nothing
    with_junk = np.vstack([F, [[5, 0.5]], [[np.inf, np.inf]]])
    assert hypervolume(with_junk, [4, 4], normalize=False) == pytest.approx(6.0)
    assert hypervolume(np.array([[0.5, 0.5, 0.5]]), [1, 1, 1]) == pytest.approx(0.125)
    assert hypervolume(np.empty((0, 2)), [1, 1]) == 0.0


def test_hypervolume_rejects_mismatched_reference():
    with pytest.raises(ValueError, match="ref_point has 3 values"):
        hypervolume(np.ones((2, 2)), [1, 1, 1])
    with pytest.raises(ValueError, match="objectives"):
        hypervolume(np.ones((2, 2)), {"error": 1, "madds": 1})
    with pytest.raises(ValueError, match="positive"):
        hypervolume(np.ones((2, 2)), [0, 1])


def test_write_pareto_csv(tmp_path):
    front = pareto_front(ROWS)
    path = write_pareto_csv(front, tmp_path / "out" / "pareto.csv")
    with path.open() as handle:
        lines = list(csv.DictReader(handle))
    assert [line["key"] for line in lines] == ["a", "b", "e", "c"]
    assert list(lines[0]) == ["key", "generation", "seed", "error", "madds", "params", "seconds", "genome"]
    assert float(lines[0]["error"]) == 1 and json.loads(lines[0]["genome"]) == [0, 1]


def test_objectives_are_formatted_for_people():
    assert format_objective("error", 2.5) == "2.50%"
    assert format_objective("madds", 81_786_100) == "81.79M"
    assert format_objective("params", 506_874) == "0.51M"
