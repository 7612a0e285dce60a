"""Budgets (``search.budget``) and the convergence rule (``search.stop_when``) on the cell space with a function
evaluator: an evaluation or epoch budget is exact and gives, interrupted, resumed, out of order or extended, the
archive of a single run with that budget; an hours budget stops after the generation in flight (or at once, hard)
and records where, so that a rerun does not go on and an extension continues; ``stop_when`` stops when the front's
hypervolume stops growing; bad settings are one line and create nothing."""

from __future__ import annotations

import os
import signal
import threading
from pathlib import Path

import pytest
from budget_helpers import CellEvaluator, CellPool, run, run_interrupted, runner, state

from nsga_lightning.search import Archive
from nsga_lightning.search.build import build_search
from nsga_lightning.search.recording.run_control import STEADY_STOPS, STOPS

# pop 8 + 4 children a generation: 14 evaluations cut generation 2 after two of its four children
CUT = 14


def test_an_evaluation_budget_is_exact_and_a_cut_generation_stays_open(tmp_path: Path) -> None:
    evaluator = CellEvaluator()
    result = run(tmp_path / "cut", evaluator, budget={"evaluations": CUT})
    assert result.status == "completed" and result.stopped_by == "budget.evaluations"
    assert result.n_archived == len(evaluator.trained) == CUT and result.spent["evaluations"] == CUT
    assert result.generations == 2  # generation 2 is not recorded: survival needs all four children
    assert result.stop_text == f"the evaluation budget is reached ({CUT} of {CUT} evaluations)"
    with Archive(tmp_path / "cut") as archive:
        assert sorted(r.generation for r in archive.rows()).count(2) == 2
    # the cut keeps the first two children in candidate order: those of the unbudgeted run
    full = run(tmp_path / "full", CellEvaluator(), n_gens=3)
    full_rows = {row[0]: row for row in state(tmp_path / "full")["rows"]}
    assert all(full_rows[row[0]] == row for row in state(tmp_path / "cut")["rows"]) and full.n_archived == 16


def test_an_evaluation_budget_gives_one_archive_interrupted_out_of_order_and_extended(tmp_path: Path) -> None:
    run(tmp_path / "single", budget={"evaluations": CUT})
    expected = state(tmp_path / "single")
    run_interrupted(tmp_path / "interrupted", (5, 13), budget={"evaluations": CUT})
    run(tmp_path / "reversed", CellEvaluator(reverse=True), budget={"evaluations": CUT})
    run(tmp_path / "extended", budget={"evaluations": 10})  # stops inside generation 1
    extended = run(tmp_path / "extended", budget={"evaluations": CUT})
    assert extended.n_evaluated == CUT - 10
    for name in ("interrupted", "reversed", "extended"):
        assert state(tmp_path / name) == expected, name
    # extended again, without a budget, to the archive of the unbudgeted run
    evaluator = CellEvaluator()
    run(tmp_path / "extended", evaluator)
    run(tmp_path / "unbudgeted")
    assert state(tmp_path / "extended") == state(tmp_path / "unbudgeted")
    assert not {key for key, _ in evaluator.trained} & {row[0] for row in expected["rows"]}


def test_a_spent_budget_is_already_complete_and_trains_nothing(tmp_path: Path) -> None:
    run(tmp_path / "run", budget={"evaluations": 12})  # exactly generations 0 and 1
    evaluator = CellEvaluator()
    again = run(tmp_path / "run", evaluator, budget={"evaluations": 12})
    assert again.status == "already complete" and again.stopped_by == "budget.evaluations"
    assert again.generations == 2 and evaluator.trained == []


def test_an_epoch_budget_cuts_rungs_exactly_and_extends_to_the_single_run(tmp_path: Path) -> None:
    settings = {"rungs": (1, 3, 9), "n_gens": 4}
    # generation 0: 8 x 1 + 2 x 2 + 1 x 6 = 18 epochs; generation 1: 4 x 1 + 1 x 2 + 1 x 6 = 12; 40 cuts generation 2
    evaluator = CellEvaluator()
    result = run(tmp_path / "single", evaluator, budget={"epochs": 40}, **settings)
    assert result.stopped_by == "budget.epochs" and result.spent["epochs"] <= 40
    assert result.generations == 2 and result.n_archived > 12  # inside generation 2's rungs
    run_interrupted(tmp_path / "interrupted", (4, 15), budget={"epochs": 40}, **settings)
    run(tmp_path / "extended", budget={"epochs": 25}, **settings)
    run(tmp_path / "extended", budget={"epochs": 40}, **settings)
    for name in ("interrupted", "extended"):
        assert state(tmp_path / name) == state(tmp_path / "single"), name
    run(tmp_path / "extended", **settings)
    run(tmp_path / "unbudgeted", **settings)
    assert state(tmp_path / "extended") == state(tmp_path / "unbudgeted")


def test_an_hours_budget_stops_after_the_generation_in_flight_and_records_it(tmp_path: Path) -> None:
    # 0.05 s a candidate: 0.4 s for generation 0; 0.3 s of budget runs out inside it
    result = run(tmp_path / "run", CellEvaluator(sleep=0.05), budget={"hours": 0.3 / 3600})
    assert result.stopped_by == "budget.hours" and result.generations == 1 and result.n_archived == 8
    assert "after the generation in flight" in result.stop_text
    with Archive(tmp_path / "run") as archive:
        assert archive.meta_json(STOPS) == [{"reason": "budget.hours", "hours": 0.3 / 3600, "generation": 0}]
    evaluator = CellEvaluator()
    again = run(tmp_path / "run", evaluator, budget={"hours": 0.3 / 3600})
    assert again.status == "already complete" and evaluator.trained == []
    run(tmp_path / "run", budget={"hours": 1.0})  # a larger budget continues, to n_gens here
    run(tmp_path / "single")
    assert state(tmp_path / "run") == state(tmp_path / "single")


def test_a_recorded_hours_stop_is_replayed_after_a_kill_inside_the_last_generation(tmp_path: Path) -> None:
    with runner(tmp_path / "run", budget={"hours": 10.0}) as search:
        search.archive.set_meta(STOPS, [{"reason": "budget.hours", "hours": 10.0, "generation": 2}])
        result = search.run()  # the first session decided to stop after generation 2, then died in it
    assert result.stopped_by == "budget.hours" and result.generations == 3


def test_a_hard_hours_budget_stops_at_once_and_the_generation_in_flight_continues_later(tmp_path: Path) -> None:
    evaluator = CellEvaluator(sleep=0.15)
    result = run(tmp_path / "run", evaluator, budget={"hours": 0.5 / 3600, "hard": True})
    assert result.status == "completed" and result.stopped_by == "budget.hours"
    assert result.generations == 0 and result.n_archived < 8  # inside generation 0
    assert "stopped at once (hard)" in result.stop_text
    again = run(tmp_path / "run", budget={"hours": 0.5 / 3600, "hard": True})
    assert again.status == "already complete"
    run(tmp_path / "run")
    run(tmp_path / "single")
    assert state(tmp_path / "run") == state(tmp_path / "single")


@pytest.mark.parametrize("disposition", [signal.SIG_IGN, signal.SIG_DFL], ids=["ignored", "os-default"])
def test_a_hard_hours_budget_stops_at_once_where_sigint_has_no_python_handler(tmp_path: Path, disposition) -> None:
    # SIGINT ignored: a background job of a script (`cmd &`); there, and with the OS default, interrupt_main does
    # nothing. A real SIGINT sent before the budget runs out stays ignored where it was.
    before = signal.signal(signal.SIGINT, disposition)
    real = threading.Timer(0.2, os.kill, (os.getpid(), signal.SIGINT)) if disposition == signal.SIG_IGN else None
    try:
        if real is not None:
            real.start()
        result = run(tmp_path / "run", CellEvaluator(sleep=0.15), budget={"hours": 0.5 / 3600, "hard": True})
        if real is not None:
            real.join()
        assert signal.getsignal(signal.SIGINT) == disposition  # the session's handler is gone again
    finally:
        signal.signal(signal.SIGINT, before)
    assert result.status == "completed" and result.stopped_by == "budget.hours"
    assert result.generations == 0 and result.n_archived < 8  # inside generation 0


def test_stop_when_ends_a_converged_search_and_a_looser_rule_continues_it(tmp_path: Path) -> None:
    # any gain below 1 (the whole range) counts as converged: the search stops once 2 generations exist after 0
    result = run(tmp_path / "run", stop_when={"hv_gain_below": 1.0, "generations": 2})
    assert result.stopped_by == "stop_when" and result.generations == 3
    assert result.stop_text.startswith("the front converged: its hypervolume gained ")
    assert run(tmp_path / "run", stop_when={"hv_gain_below": 1.0, "generations": 2}).status == "already complete"
    never = run(tmp_path / "never", stop_when={"hv_gain_below": 0.0, "generations": 1})
    assert never.stopped_by == "n_gens" and never.generations == 8
    run(tmp_path / "run")
    assert state(tmp_path / "run") == state(tmp_path / "never")


def test_the_asynchronous_steady_state_stops_at_a_budget_and_extends_past_its_pause(tmp_path: Path) -> None:
    settings = {"n_offspring": 1, "n_gens": 20}
    result = run(tmp_path / "run", CellPool(), budget={"evaluations": 14}, **settings)
    assert result.stopped_by == "budget.evaluations" and result.n_archived == 14 and result.generations == 7
    with Archive(tmp_path / "run") as archive:
        assert archive.meta_json(STEADY_STOPS) == [6]  # mating paused after 6 children; both in flight finished
    extended = run(tmp_path / "run", CellPool(), **settings)
    assert extended.stopped_by == "n_gens" and extended.generations == 20 and extended.n_archived == 8 + 19


def test_asynchronous_rungs_stop_at_a_budget_and_their_replay_extends_the_cut_generation(tmp_path: Path) -> None:
    settings = {"rungs": (1, 3, 9), "asynchronous_rungs": True, "n_gens": 3}
    cut = run(tmp_path / "run", CellPool(), budget={"evaluations": 10}, **settings)
    assert cut.stopped_by == "budget.evaluations" and cut.n_archived == 10 and cut.generations == 1
    epochs = run(tmp_path / "epochs", CellPool(), budget={"epochs": 25}, **settings)
    assert epochs.stopped_by == "budget.epochs" and epochs.spent["epochs"] <= 25
    for name in ("run", "epochs"):  # the replay admits the recorded jobs again, then goes on
        extended = run(tmp_path / name, CellPool(), **settings)
        assert extended.stopped_by == "n_gens" and extended.n_archived == 8 + 2 * 4


@pytest.mark.parametrize(("budget", "message"), [
    ({"evaluations": 0}, "search.budget.evaluations must be an integer >= 1 (or null: no limit), got 0"),
    ({"hours": -1}, "search.budget.hours must be a number > 0 (or null: no limit), got -1"),
    ({"epochs": 2.5}, "search.budget.epochs must be an integer >= 1 (or null: no limit), got 2.5"),
    ({"hard": "yes"}, "search.budget.hard must be true or false, got 'yes'"),
    ({"evaluation": 3}, "unknown option search.budget.evaluation; did you mean evaluations?"),
    ({"epochs": 10}, "search.budget.epochs counts training epochs, and your own evaluator's are unknown"),
])
def test_bad_budget_settings_are_one_line_and_create_nothing(tmp_path: Path, budget: dict, message: str) -> None:
    config = {"search": {"pop_size": 8, "n_offspring": 4, "run_dir": str(tmp_path / "run"),
                         "objectives": ["error", "latency"], "budget": budget}}
    from cell_space import CellSpace

    with pytest.raises(ValueError) as error:
        build_search(config, space=CellSpace(), evaluator=CellEvaluator())
    assert message in str(error.value) and "\n" not in str(error.value)
    assert not (tmp_path / "run").exists()


def test_bad_stop_when_settings_are_one_line(tmp_path: Path) -> None:
    from cell_space import CellSpace

    for block, message in (({"generations": 0}, "search.stop_when.generations must be an integer >= 1, got 0"),
                           ({"hv_gain_below": -0.1}, "search.stop_when.hv_gain_below must be a number >= 0")):
        config = {"search": {"run_dir": str(tmp_path / "run"), "objectives": ["error", "latency"],
                             "stop_when": block}}
        with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
            build_search(config, space=CellSpace(), evaluator=CellEvaluator())
    assert not (tmp_path / "run").exists()
