"""Successive halving over epochs: settings, the promotion rule, survival of stopped children, the archive's
rung columns, the front without stopped children, and resume in the middle of a promotion."""

from __future__ import annotations

import json
import math
import re

import numpy as np
import pytest
from search_helpers import rung_objectives, space_by_name

from nsga_lightning.search.core.evaluator import Candidate, safe_evaluate
from nsga_lightning.search.core.pareto import pareto_front
from nsga_lightning.search.evolution.fidelity import Fidelity, make_fidelity, promotion_order
from nsga_lightning.search.evolution.operators import NSGANetOperators, make_population
from nsga_lightning.search.runner import SearchRunner
from nsga_lightning.search.store.archive import Archive

FIDELITY = Fidelity((1, 3, 9), 1 / 3)


class RungEvaluator:
    """Analytic objectives whose error falls with the epochs by a key-dependent amount (so ranks change)."""

    def __init__(self, interrupt_after: int | None = None) -> None:
        self.calls: list[tuple[str, int | None]] = []
        self.interrupt_after = interrupt_after

    def fingerprint(self) -> dict:
        return {"kind": "rung-analytic"}

    def evaluate(self, candidates: list[Candidate]):
        for candidate in candidates:
            if self.interrupt_after is not None and len(self.calls) == self.interrupt_after:
                raise KeyboardInterrupt
            self.calls.append((candidate.key, candidate.epochs))
            yield safe_evaluate(rung_objectives, candidate)


def _runner(run_dir, evaluator, fidelity=FIDELITY) -> SearchRunner:
    return SearchRunner(space_by_name("micro"), evaluator, run_dir, pop_size=9, n_offspring=6, n_gens=3, seed=1,
                        fidelity=fidelity)


def _snapshot(run_dir) -> dict:
    with Archive(run_dir) as archive:
        return {"rows": [(r.key, r.generation, r.status, r.objectives, r.fidelity) for r in archive.rows()],
                "generations": [(g.population, g.rank, g.crowding, g.rng_state) for g in archive.generations()]}


def test_children_climb_the_rungs_by_the_promotion_rule_and_stopped_ones_stay_off_the_front(tmp_path):
    evaluator = RungEvaluator()
    with _runner(tmp_path / "run", evaluator) as runner:
        result = runner.run()
        rows = runner.archive.rows()
    for generation, n in ((0, 9), (1, 6), (2, 6)):
        asked = [epochs for key, epochs in evaluator.calls
                 if next(r for r in rows if r.key == key).generation == generation]
        ok = sum(1 for r in rows if r.generation == generation and r.is_ok)
        at_three = asked.count(3)
        assert asked.count(1) == n
        assert at_three == math.ceil(ok / 3)  # ceil(keep * reached), failures never promoted
        assert 1 <= asked.count(9) <= math.ceil(at_three / 3)
    stopped = [r for r in rows if r.stopped_early]
    assert stopped and all(r.epochs in (1, 3) for r in stopped)
    assert all(sorted(r.rung_errors) == [e for e in (1, 3, 9) if e <= r.epochs] for r in rows if r.is_ok)
    assert result.pareto and not any(r.stopped_early for r in result.pareto)
    assert pareto_front(rows) == result.pareto
    assert not list((tmp_path / "run" / "rungs").glob("*"))  # every child is final: no checkpoint left


@pytest.mark.parametrize("interrupt_after", [4, 11, 13, 19])
def test_a_search_interrupted_in_the_middle_of_a_promotion_resumes_to_the_same_archive(tmp_path, interrupt_after):
    with _runner(tmp_path / "straight", RungEvaluator()) as runner:
        runner.run()
    first = RungEvaluator(interrupt_after=interrupt_after)
    with pytest.raises(KeyboardInterrupt), _runner(tmp_path / "resumed", first) as runner:
        runner.run()
    second = RungEvaluator()
    with _runner(tmp_path / "resumed", second) as runner:
        runner.run()
    assert _snapshot(tmp_path / "resumed") == _snapshot(tmp_path / "straight")
    assert not set(first.calls) & set(second.calls)  # no rung trained twice


def test_rungs_change_the_fingerprint(tmp_path):
    with _runner(tmp_path / "run", RungEvaluator()) as runner:
        runner.run()
    with pytest.raises(ValueError, match="different configuration"):
        _runner(tmp_path / "run", RungEvaluator(), Fidelity((1, 9), 0.5))


def test_the_promotion_order_is_rank_then_crowding_then_key():
    F = np.array([[10, 5], [5, 10], [7, 7], [11, 11], [6, 9.5], [10, 5]], dtype=float)
    keys = ["a", "b", "c", "d", "e", "f"]
    order = promotion_order(F, keys)
    # front 0: a, b, c, e, f (a and f equal); extremes a/f and b have infinite crowding; d dominated by all
    assert order[-1] == 3
    assert set(order[:5]) == {0, 1, 2, 4, 5}
    assert order[:3] == [0, 1, 5]  # the infinite-crowding extremes first, ties by key
    assert promotion_order(np.zeros((0, 2)), []) == []


def test_stopped_children_survive_behind_full_ones_by_rung_then_rank():
    operators = NSGANetOperators(space_by_name("micro"), 2)
    X = np.zeros((6, space_by_name("micro").n_var), dtype=np.int64)
    F = np.array([[50, 1], [60, 2], [5, 1], [4, 1], [1, 1], [30, 3]], dtype=float)
    violation = [0.0, 0.0, 1 - 3 / 9, 1 - 1 / 9, 1.0, 1 - 1 / 9]  # full, full, rung 3, rung 1, failed, rung 1
    pop = make_population(X, list("abcdef"), F, violation)
    survivors = operators.survive(pop, 5, np.random.default_rng(0))
    assert [ind.get("key") for ind in survivors] == ["a", "b", "c", "d", "f"]
    assert np.isfinite(pop[3].F).all() and not np.isfinite(pop[4].F).all()  # stopped keep their error


@pytest.mark.parametrize("n_survive", [1, 2, 3])
def test_full_fidelity_children_alone_can_fill_the_population(n_survive):
    # issue 19: with one group kept (the full ones fill the population) the survival crashed in pymoo's merge
    operators = NSGANetOperators(space_by_name("micro"), 2)
    X = np.zeros((5, space_by_name("micro").n_var), dtype=np.int64)
    F = np.array([[50, 1], [60, 2], [5, 1], [4, 1], [40, 0.5]], dtype=float)
    violation = [0.0, 0.0, 1 - 3 / 9, 1 - 1 / 9, 0.0]  # full, full, rung 3, rung 1, full
    pop = make_population(X, list("abcde"), F, violation)
    survivors = operators.survive(pop, n_survive, np.random.default_rng(0))
    expected = {1: ["e"], 2: ["e", "a"], 3: ["e", "a", "b"]}[n_survive]
    assert sorted(ind.get("key") for ind in survivors) == sorted(expected)
    assert all(ind.get("rank") is not None for ind in survivors)


@pytest.mark.parametrize(("rungs", "keep", "eta", "message"), [
    ([1, 3, 3], None, None, "strictly increasing"),
    ([3, 1, 9], None, None, "strictly increasing"),
    ([1, 3], None, None, "must equal trainer.max_epochs"),
    ([0, 9], None, None, "integers >= 1"),
    ([1, 9], 1.0, None, r"share in \(0, 1\)"),
    ([1, 9], 0.0, None, r"share in \(0, 1\)"),
    ([1, 9], None, 1, "eta must be a number > 1"),
    ([1, 9], 0.5, 2, "not both"),
])
def test_bad_fidelity_settings_are_one_line_each(rungs, keep, eta, message):
    with pytest.raises(ValueError, match=message) as error:
        make_fidelity(rungs, keep, eta, 9)
    assert "\n" not in str(error.value)


def test_fidelity_defaults():
    assert not make_fidelity([], None, None, 9).enabled
    assert not make_fidelity([9], None, None, 9).enabled
    assert make_fidelity([1, 3, 9], None, 3, 9) == Fidelity((1, 3, 9), 1 / 3)
    assert [FIDELITY.promoted(n) for n in (0, 1, 3, 4, 20)] == [0, 1, 1, 2, 7]


@pytest.mark.parametrize(("fidelity", "message"), [
    ({"rungs": [1, 2]}, r"the last of search.fidelity.rungs \(2\) must equal trainer.max_epochs \(3\)"),
    ({"rungs": [2, 1, 3]}, "strictly increasing"),
    ({"rungs": [1, 3], "keep": 1.5}, r"keep must be a share in \(0, 1\)"),
    ({"rung": [1, 3]}, "rung"),
])
def test_bad_fidelity_settings_stop_the_cli_with_one_line_and_nothing_created(tmp_path, monkeypatch, capsys,
                                                                            fidelity, message):
    from nsga_lightning.cli import main

    monkeypatch.chdir(tmp_path)
    code = main(["search", "--config", "quickstart", "--search.run_dir", "run", "--trainer.max_epochs", "3",
                 "--search.fidelity", json.dumps(fidelity)])
    err = capsys.readouterr().err.strip()
    assert code != 0 and len(err.splitlines()) == 1 and re.search(message, err), err
    assert not (tmp_path / "run").exists()


def test_tensorboard_and_the_summaries_count_each_rung_and_the_epochs_saved(tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    from nsga_lightning.callbacks import SearchTensorBoard
    from nsga_lightning.search.store.history import summarize

    evaluator = RungEvaluator()
    with SearchRunner(space_by_name("micro"), evaluator, tmp_path / "run", pop_size=9, n_offspring=6, n_gens=3,
                      seed=1, fidelity=FIDELITY, callbacks=[SearchTensorBoard()]) as runner:
        runner.run()
        rows = runner.archive.rows()
        summaries = summarize(runner.archive, ("error", "madds"))
    generation_of = {r.key: r.generation for r in rows}
    for summary in summaries:
        asked = [e for key, e in evaluator.calls if generation_of[key] == summary.generation]
        ok = [r for r in rows if r.generation == summary.generation and r.is_ok]
        assert summary.rung_counts == {e: sum(1 for r in ok if r.epochs >= e) for e in (1, 3, 9)}
        assert summary.rung_counts[3] == asked.count(3) and summary.rung_counts[9] == asked.count(9)
        assert summary.epochs_trained == sum(r.epochs for r in ok)
        assert summary.epochs_saved == 9 * len(ok) - summary.epochs_trained > 0
    from nsga_lightning.search.store.run_directory import RunDirectory

    accumulator = EventAccumulator(str(RunDirectory(tmp_path / "run").search_log), size_guidance={"scalars": 0})
    accumulator.Reload()
    logged = {tag: [e.value for e in accumulator.Scalars(tag)] for tag in accumulator.Tags()["scalars"]}
    assert logged["rungs/reached_3"] == [float(s.rung_counts[3]) for s in summaries]
    assert logged["rungs/epochs_saved"] == [float(s.epochs_saved) for s in summaries]


def test_the_report_and_the_plot_mark_the_children_stopped_early(tmp_path):
    from nsga_lightning.viz import build_report, pareto_figure

    with _runner(tmp_path / "run", RungEvaluator()) as runner:
        runner.run()
        rows = [r.as_dict() for r in runner.archive.rows()]
        front = [r.as_dict() for r in pareto_front(runner.archive.rows())]
    stopped = sum(1 for r in rows if r.get("stopped_early"))
    figure = pareto_figure(rows)
    labels = figure.axes[0].get_legend_handles_labels()[1]
    assert f"stopped early at a lower rung ({stopped}; rung error)" in labels
    page = build_report(tmp_path / "report.html", title="t", all_rows=rows, front_rows=front).read_text()
    assert f"{stopped} stopped early at a lower rung" in page
