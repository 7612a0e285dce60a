"""The front's history at a glance, on the cell space with a function evaluator and the default callbacks: the
hypervolume per evaluation (and hour) in TensorBoard, logged once across sessions, including the evaluations of a
generation a budget cut; the fronts of every N-th generation; the report's convergence section with why the
search stopped, what it spent, the fixed reference point and the evaluations and hours to 90/95/99%."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
from budget_helpers import CellEvaluator
from cell_space import CellSpace
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from nsga_lightning.cli import main
from nsga_lightning.search import Archive
from nsga_lightning.search.build import build_search
from nsga_lightning.search.store.hv_history import evaluation_history, every_nth, reach
from nsga_lightning.search.store.run_directory import RunDirectory


def _search(run_dir: Path, **search) -> object:
    config = {"search": {"pop_size": 8, "n_offspring": 4, "n_gens": 8, "seed": 1, "run_dir": str(run_dir),
                         "objectives": ["error", "latency"], **search}, "progress_bar": False}
    with build_search(config, space=CellSpace(), evaluator=CellEvaluator()) as runner:
        return runner.run()


def _scalars(run_dir: Path, tag: str) -> list[tuple[int, float]]:
    events = EventAccumulator(str(RunDirectory(run_dir).search_log), size_guidance={"scalars": 0, "images": 0})
    events.Reload()
    return [(e.step, e.value) for e in events.Scalars(tag)] if tag in events.Tags()["scalars"] else []


def test_tensorboard_logs_the_hypervolume_of_every_evaluation_once_across_sessions(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    first = _search(run_dir, budget={"evaluations": 14})  # generation 2 cut after two children
    assert first.stopped_by == "budget.evaluations"
    assert [step for step, _ in _scalars(run_dir, "search/hypervolume_by_evaluation")] == list(range(1, 15))
    _search(run_dir, budget={"evaluations": 22})  # continues generation 2, then 3, then cuts 4
    logged = _scalars(run_dir, "search/hypervolume_by_evaluation")
    assert [step for step, _ in logged] == list(range(1, 23))
    with Archive(run_dir) as archive:
        expected = [(p.evaluations, p.hypervolume) for p in evaluation_history(archive, ["error", "latency"])[1:]]
    assert logged == [(step, pytest.approx(value, rel=1e-6)) for step, value in expected]
    hours = _scalars(run_dir, "search/hours_by_evaluation")
    assert len(hours) == 22 and all(b >= a for (_, a), (_, b) in itertools.pairwise(hours))
    events = EventAccumulator(str(RunDirectory(run_dir).search_log), size_guidance={"images": 0, "tensors": 0})
    events.Reload()
    assert "search/fronts_every_n" in events.Tags()["images"]
    texts = [e.tensor_proto.string_val[0].decode() for e in events.Tensors("search/convergence/text_summary")]
    assert texts and "hypervolume reference point (fixed): error 100, latency" in texts[-1]
    assert texts[-1].startswith("stopped: the evaluation budget is reached (22 of 22 evaluations)")


def test_the_report_says_why_it_stopped_and_how_it_converged(tmp_path: Path, capsys) -> None:
    run_dir = tmp_path / "run"
    _search(run_dir, stop_when={"hv_gain_below": 1.0, "generations": 2})
    assert main(["report", str(run_dir)]) == 0
    page = (run_dir / "report.html").read_text()
    for part in ('id="convergence"', 'id="reach"', 'id="hypervolume-history"', 'id="fronts-history"',
                 "<strong>Stopped:</strong> the front converged: its hypervolume gained",
                 "<strong>Spent:</strong> 16 evaluations, ", "fixed reference point (error 100, latency ",
                 "<td>90%</td>", "<td>99%</td>"):
        assert part in page, part
    with Archive(run_dir) as archive:
        points = evaluation_history(archive, ["error", "latency"])
    found = reach(points)
    assert [r.share for r in found] == [0.9, 0.95, 0.99]
    assert all(points[r.evaluations].hypervolume >= r.share * points[-1].hypervolume for r in found)
    assert all(points[r.evaluations - 1].hypervolume < r.share * points[-1].hypervolume for r in found
               if r.evaluations > 0)
    assert f"<td>{found[0].evaluations}</td>" in page


def test_a_report_of_an_unfinished_search_says_so(tmp_path: Path) -> None:
    from search_helpers import StopAfter

    config = {"search": {"pop_size": 8, "n_offspring": 4, "n_gens": 3, "seed": 1, "run_dir": str(tmp_path / "run"),
                         "objectives": ["error", "latency"]}, "progress_bar": False}
    with pytest.raises(KeyboardInterrupt), build_search(config, [StopAfter(10)], space=CellSpace(),
                                                        evaluator=CellEvaluator()) as runner:
        runner.run()
    assert main(["report", str(tmp_path / "run")]) == 0
    assert "<strong>Stopped:</strong> not finished (running, or interrupted" in (tmp_path / "run" /
                                                                                 "report.html").read_text()


@pytest.mark.parametrize(("generations", "step", "chosen"), [(1, 1, [0]), (8, 1, list(range(8))),
                                                             (30, 4, [0, 4, 8, 12, 16, 20, 24, 28, 29])])
def test_every_nth_generation_keeps_at_most_about_eight_fronts_and_the_last(generations, step, chosen) -> None:
    assert every_nth(generations) == (step, chosen)
