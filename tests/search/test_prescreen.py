"""Zero-cost pre-screen: settings, the selection rule, which children train, the ``screened`` table, resume after
an interrupt with the same choice, and the fingerprint. An analytic scorer stands in for the networks here; the
real scores are tested in ``tests/nn/test_zero_cost.py`` and ``tests/search_e2e/test_prescreen_scores.py``."""

from __future__ import annotations

import json
import re

import pytest
from search_helpers import AnalyticEvaluator, KeyScorer, make_runner, snapshot

from nsga_lightning.search.core.records import ScreenRow
from nsga_lightning.search.proposers.prescreen import Prescreen, make_prescreen, selection_order
from nsga_lightning.search.store.archive import Archive

PRESCREEN = Prescreen("synflow", 3)


def _runner(run_dir, evaluator=None, scorer=None, prescreen=PRESCREEN, **kwargs):
    return make_runner(run_dir, evaluator=evaluator, prescreen=prescreen, scorer=scorer or KeyScorer(),
                       **{"n_gens": 4, **kwargs})


def _screening(run_dir):
    with Archive(run_dir) as archive:
        return archive.screening()


def test_only_the_chosen_children_train_and_every_screened_child_is_stored(tmp_path):
    evaluator, scorer = AnalyticEvaluator(), KeyScorer()
    with _runner(tmp_path / "run", evaluator, scorer) as runner:
        runner.run()
        rows = runner.archive.rows()
    screened = _screening(tmp_path / "run")
    assert {s.generation for s in screened} == {1, 2, 3}  # generation 0 is sampled, not screened
    for generation in (1, 2, 3):
        of = [s for s in screened if s.generation == generation]
        assert len(of) == 3 * 6 and sum(s.selected for s in of) == 6
        trained = {r.key for r in rows if r.generation == generation}
        assert trained == {s.key for s in of if s.selected}
        # the chosen ones are the first six by the rule, on the stored values
        order = selection_order(of, ["madds"])
        assert {of[i].key for i in order[:6]} == trained
    assert sorted(scorer.calls) == sorted({s.key for s in screened})  # each key scored once
    assert set(evaluator.calls) == {r.key for r in rows}


def test_an_unscorable_child_ranks_last(tmp_path):
    with _runner(tmp_path / "probe") as runner:
        runner.run()
    first = [s for s in _screening(tmp_path / "probe") if s.generation == 1]
    best = first[selection_order(first, ["madds"])[0]].key
    with _runner(tmp_path / "run", scorer=KeyScorer(frozenset({best}))) as runner:
        runner.run()
    row = next(s for s in _screening(tmp_path / "run") if s.key == best and s.generation == 1)
    assert row.score is None and row.error_text == "ValueError: no path" and not row.selected


@pytest.mark.parametrize("stop_at", [(1, 0), (2, 3)])
def test_an_interrupted_screened_generation_resumes_to_the_same_archive_without_scoring_again(tmp_path, stop_at):
    with _runner(tmp_path / "straight") as runner:
        runner.run()
    first = KeyScorer()
    with pytest.raises(KeyboardInterrupt), _runner(tmp_path / "resumed", AnalyticEvaluator(stop_at, "interrupt"),
                                                   first) as runner:
        runner.run()
    second = KeyScorer()
    with _runner(tmp_path / "resumed", scorer=second) as runner:
        runner.run()
    assert snapshot(tmp_path / "resumed")["rows"] == snapshot(tmp_path / "straight")["rows"]
    assert snapshot(tmp_path / "resumed")["generations"] == snapshot(tmp_path / "straight")["generations"]
    assert _screening(tmp_path / "resumed") == _screening(tmp_path / "straight")
    assert not set(first.calls) & set(second.calls)  # a stored score is never computed again


def test_the_resumed_choice_follows_the_stored_scores(tmp_path):
    """A resume reads the scores from the archive, not from a scorer that might round differently."""
    with pytest.raises(KeyboardInterrupt), _runner(tmp_path / "run", AnalyticEvaluator((1, 0), "interrupt")) as r:
        r.run()
    stored = [s for s in _screening(tmp_path / "run") if s.generation == 1]

    class Refuses:
        def __call__(self, candidates):
            assert not candidates, "a stored score was computed again"
            return []

    with _runner(tmp_path / "run", scorer=Refuses(), n_gens=2) as runner:
        runner.run()
        trained = {r.key for r in runner.archive.rows() if r.generation == 1}
    assert trained == {s.key for s in stored if s.selected}


def test_the_prescreen_is_in_the_fingerprint_and_off_leaves_it_out(tmp_path):
    with _runner(tmp_path / "run") as runner:
        assert runner.config()["prescreen"]["score"] == "synflow" and runner.config()["prescreen"]["factor"] == 3
        runner.run()
    with pytest.raises(ValueError, match="different configuration"):
        _runner(tmp_path / "run", prescreen=Prescreen("synflow", 2))
    with make_runner(tmp_path / "off", prescreen=Prescreen("none", 4)) as runner:
        assert "prescreen" not in runner.config()
    with pytest.raises(ValueError, match="needs a scorer"):
        make_runner(tmp_path / "none", prescreen=Prescreen("naswot", 2))


def test_selection_is_rank_then_crowding_then_key_with_unscored_last():
    def row(key, score, madds):
        return ScreenRow(1, key, "synflow", score, {"madds": madds})

    rows = [row("e", None, 1.0), row("a", 5.0, 10.0), row("b", 9.0, 30.0), row("c", 7.0, 20.0), row("d", 4.0, 40.0),
            row("f", 6.0, 10.0)]
    # front: a (5, 10) f (6, 10) dominates a; b (9, 30) c (7, 20) -> rank 0 = f, c, b; then a, d; then e
    order = [rows[i].key for i in selection_order(rows, ["madds"])]
    assert order[:3] == ["b", "f", "c"]  # the extremes first (infinite crowding, then by key), then c
    assert set(order[3:5]) == {"a", "d"} and order[-1] == "e"


@pytest.mark.parametrize(("score", "factor", "message"), [
    ("snip", 4, r"unknown search.prescreen.score 'snip'; allowed: none, synflow, naswot"),
    ("synflow", 0, r"factor must be an integer >= 1"),
    ("naswot", True, r"factor must be an integer >= 1"),
    ("naswot", 2.5, r"factor must be an integer >= 1"),
])
def test_bad_prescreen_settings_are_one_line_each(score, factor, message):
    with pytest.raises(ValueError, match=message):
        make_prescreen(score, factor)


def test_prescreen_defaults():
    assert make_prescreen(None, None) == Prescreen("none", 4) and not Prescreen().enabled


@pytest.mark.parametrize(("prescreen", "message"), [
    ({"score": "snip"}, "snip"),
    ({"score": "synflow", "factor": 0}, "factor must be an integer >= 1"),
    ({"scores": "synflow"}, "scores"),
])
def test_bad_prescreen_settings_stop_the_cli_with_one_line_and_nothing_created(tmp_path, monkeypatch, capsys,
                                                                            prescreen, message):
    from nsga_lightning.cli import main

    monkeypatch.chdir(tmp_path)
    code = main(["search", "--config", "quickstart", "--search.run_dir", "run", "--search.prescreen",
                 json.dumps(prescreen)])
    err = capsys.readouterr().err.strip()
    assert code != 0 and len(err.splitlines()) == 1 and re.search(message, err), err
    assert not (tmp_path / "run").exists()
