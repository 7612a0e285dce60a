"""Pareto and hypervolume plots from plain data."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.figure import Figure

from nsga_lightning.viz import (
    FORMATS,
    hypervolume_figure,
    non_dominated,
    pareto_figure,
    plot_hypervolume,
    plot_pareto,
)


def make_history(seed: int = 0, generations: int = 4, per_generation: int = 12) -> tuple[list[dict], list]:
    """Rows shaped like ``ArchiveRow.as_dict()`` (MAdds and params as counts) and the front per generation."""
    rng = np.random.default_rng(seed)
    rows: list[dict] = []
    fronts = []
    for gen in range(generations):
        for i in range(per_generation):
            madds = float(rng.uniform(20e6, 400e6))
            error = float(40 - 4 * np.log(madds / 1e6) + rng.normal(0, 1.5) - gen)
            rows.append({"key": f"micro-{gen:02d}{i:02d}", "generation": gen, "status": "ok", "error": error,
                         "madds": madds, "params": madds / 100, "seconds": 300.0 + i})
        # a failed candidate has no objective columns at all
        rows.append({"key": f"failed-{gen}", "generation": gen, "status": "failed", "seconds": 3.0})
        points = {r["key"]: (r["error"], r["madds"]) for r in rows if r["status"] == "ok"}
        fronts.append(non_dominated(points))
    return rows, fronts


def test_non_dominated_minimises_both() -> None:
    points = {"a": (1.0, 5.0), "b": (2.0, 2.0), "c": (3.0, 3.0), "d": (0.5, 9.0), "e": (2.0, 2.5),
              "f": (4.0, 1.0)}
    assert non_dominated(points) == ["d", "a", "b", "f"]
    assert non_dominated({}) == []


@pytest.mark.parametrize("fmt", FORMATS)
def test_plot_pareto_every_format(fmt: str, tmp_path, check_image) -> None:
    rows, fronts = make_history()
    out = plot_pareto(rows, tmp_path / f"pareto.{fmt}", fronts=fronts, title="search")
    check_image(out)


@pytest.mark.parametrize("fmt", FORMATS)
def test_plot_hypervolume_every_format(fmt: str, tmp_path, check_image) -> None:
    check_image(plot_hypervolume([0.1, 0.3, 0.35, 0.5], tmp_path / f"hv.{fmt}"))


def test_pareto_figure_content() -> None:
    rows, fronts = make_history()
    figure = pareto_figure(rows, fronts)
    assert isinstance(figure, Figure)
    ax = figure.axes[0]
    assert ax.get_xlabel() == "validation error (%)"
    assert ax.get_ylabel() == "MAdds (M)"
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    evaluated = sum(1 for r in rows if r["status"] == "ok")
    assert f"evaluated ({evaluated}; {len(rows) - evaluated} failed)" in legend
    assert f"final front ({len(fronts[-1])})" in legend
    assert "earlier fronts (older = fainter)" in legend
    offsets = ax.collections[0].get_offsets()
    assert 20 <= offsets[:, 1].min() and offsets[:, 1].max() <= 400  # MAdds shown in millions
    history = [line for line in ax.get_lines() if line.get_drawstyle() == "steps-post"]
    assert len(history) == len(fronts)
    alphas = [line.get_alpha() for line in history[:-1]]
    assert alphas == sorted(alphas) and alphas[0] < alphas[-1]


def test_pareto_without_fronts_computes_the_final_one() -> None:
    rows, fronts = make_history(seed=1)
    figure = pareto_figure(rows, None, objectives=("madds", "error"))
    ax = figure.axes[0]
    assert ax.get_xlabel() == "MAdds (M)"
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert f"final front ({len(fronts[-1])})" in legend


def test_pareto_handles_no_data(tmp_path, check_image) -> None:
    check_image(plot_pareto([], tmp_path / "empty.png"))
    check_image(plot_hypervolume([], tmp_path / "empty_hv.png"))


@pytest.mark.parametrize(
    "rows, objectives, message",
    [
        ([{"error": 1.0, "madds": 2.0}], ("error", "madds"), "no 'key'"),
        ([{"key": "a", "error": 1.0, "madds": 2.0}], ("error", "error"), "two different"),
        ([{"key": "a", "error": 1.0, "madds": 2.0}], ("error",), "two different"),
    ],
)
def test_pareto_rejects_malformed_input(rows, objectives, message) -> None:
    with pytest.raises(ValueError, match=message):
        pareto_figure(rows, None, objectives)


def test_bad_extensions(tmp_path) -> None:
    with pytest.raises(ValueError, match=r"\.png, \.svg, \.pdf"):
        plot_pareto([], tmp_path / "front.jpeg")
    with pytest.raises(ValueError, match=r"\.png, \.svg, \.pdf"):
        plot_hypervolume([1.0], tmp_path / "hv.gif")
    with pytest.raises(ValueError, match="generation numbers"):
        hypervolume_figure([1.0, 2.0], generations=[0])
    assert not any(tmp_path.iterdir())
