"""Asynchronous steady state (n_offspring 1, several workers): completions in any order, told at once, and a
resume that replays the recorded order exactly. The evaluator here completes its in-flight candidates in a
scripted, non-FIFO order, so the tests are deterministic without processes."""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Iterator

import pytest
from search_helpers import StopAfter, analytic_objectives, make_runner, snapshot

from nsga_lightning.search import Candidate, Evaluation
from nsga_lightning.search.core.evaluator import safe_evaluate
from nsga_lightning.search.evolution.fidelity import Fidelity
from nsga_lightning.search.loops.steady_state import ReplayDivergedError
from nsga_lightning.search.proposers.prescreen import Prescreen


def _rank(key: str) -> str:
    return hashlib.sha1(key.encode()).hexdigest()


class ScriptedPool:
    """An asynchronous evaluator with ``workers`` slots that finishes, of what is in flight, the candidate with
    the smallest hash of its key first (a fixed order that is not the order of submission)."""

    def __init__(self, workers: int = 3) -> None:
        self.workers = workers
        self.flight: list[Candidate] = []
        self.most_in_flight = 0
        self.trained: list[str] = []

    def fingerprint(self) -> dict:
        return {"kind": "scripted", "version": 1}

    def evaluate(self, candidates: list[Candidate]) -> Iterator[Evaluation]:
        for candidate in candidates:
            self.trained.append(candidate.key)
            yield safe_evaluate(analytic_objectives, candidate)

    def submit(self, candidate: Candidate) -> None:
        self.flight.append(candidate)
        self.most_in_flight = max(self.most_in_flight, len(self.flight))

    def next_completed(self) -> Evaluation:
        candidate = min(self.flight, key=lambda c: _rank(c.key))
        self.flight.remove(candidate)
        self.trained.append(candidate.key)
        return safe_evaluate(analytic_objectives, candidate)

    def cancel(self) -> None:
        self.flight.clear()


SETTINGS = {"pop_size": 8, "n_offspring": 1, "n_gens": 16}


def _run(run_dir, pool=None, callbacks=(), **settings):
    pool = pool or ScriptedPool()
    with make_runner(run_dir, evaluator=pool, callbacks=list(callbacks), **{**SETTINGS, **settings}) as runner:
        return runner.run(), pool, runner.window


def _order(run_dir) -> list[tuple[str, int]]:
    db = sqlite3.connect(run_dir / "archive.sqlite")
    return db.execute("SELECT key, generation FROM architectures ORDER BY sequence").fetchall()


def test_children_are_told_as_they_finish_and_recorded_in_completion_order(tmp_path):
    result, pool, window = _run(tmp_path / "a")
    assert window == 3 and pool.most_in_flight == 3
    assert result.status == "completed" and result.generations == SETTINGS["n_gens"]
    order = _order(tmp_path / "a")
    children = [generation for _, generation in order if generation >= 1]
    assert children == list(range(1, SETTINGS["n_gens"]))  # one child told per generation, in order
    assert len(order) == SETTINGS["pop_size"] + SETTINGS["n_gens"] - 1


def test_one_slot_is_the_generational_steady_state(tmp_path):
    with make_runner(tmp_path / "g", evaluator=ScriptedPool(workers=1), **SETTINGS) as runner:
        assert runner.window is None
        runner.run()
    with make_runner(tmp_path / "a", evaluator=ScriptedPool(workers=1), **SETTINGS) as runner:
        runner.window = 1  # the asynchronous loop with a single slot
        runner.run()
    generational, asynchronous = snapshot(tmp_path / "g"), snapshot(tmp_path / "a")
    assert generational["rows"] == asynchronous["rows"]
    assert generational["generations"] == asynchronous["generations"]


@pytest.mark.parametrize("stop_after", [SETTINGS["pop_size"] + 1, SETTINGS["pop_size"] + 6])
def test_an_interrupted_run_resumes_by_replaying_and_equals_the_uninterrupted_one(tmp_path, stop_after):
    _run(tmp_path / "whole")
    with pytest.raises(KeyboardInterrupt):
        _run(tmp_path / "cut", callbacks=[StopAfter(stop_after)])
    # the interrupted run committed its last child but recorded no generation for it: the replay does
    pool = ScriptedPool()
    result, pool, _ = _run(tmp_path / "cut", pool=pool)
    assert result.status == "completed"
    assert snapshot(tmp_path / "cut")["rows"] == snapshot(tmp_path / "whole")["rows"]
    assert snapshot(tmp_path / "cut")["generations"] == snapshot(tmp_path / "whole")["generations"]
    assert _order(tmp_path / "cut") == _order(tmp_path / "whole")
    # nothing that finished was trained again
    first = {key for key, _ in _order(tmp_path / "cut")[:stop_after]}
    assert not first & set(pool.trained)


def test_the_number_of_slots_is_part_of_the_fingerprint(tmp_path):
    _run(tmp_path / "a", n_gens=10)
    with pytest.raises(ValueError, match="asynchronous.in_flight: stored 3 -> given 2"):
        _run(tmp_path / "a", pool=ScriptedPool(workers=2), n_gens=12)


def test_a_tampered_history_is_refused_instead_of_replayed_wrongly(tmp_path):
    _run(tmp_path / "a", n_gens=10)
    db = sqlite3.connect(tmp_path / "a" / "archive.sqlite")
    rows = db.execute("SELECT key, sequence FROM architectures WHERE generation >= 1 ORDER BY sequence").fetchall()
    (k1, s1), (k2, s2) = rows[0], rows[-1]
    db.execute("UPDATE architectures SET sequence = ? WHERE key = ?", (-1, k1))
    db.execute("UPDATE architectures SET sequence = ? WHERE key = ?", (s1, k2))
    db.execute("UPDATE architectures SET sequence = ? WHERE key = ?", (s2, k1))
    db.commit()
    db.close()
    with pytest.raises(ReplayDivergedError):
        _run(tmp_path / "a", n_gens=12)


@pytest.mark.parametrize(("option", "message"), [
    ({"exploitation_gens": 2}, "exploitation_gens needs the generational mode"),
    ({"prescreen": Prescreen("naswot", 2), "scorer": lambda candidates: []}, "prescreen needs the generational mode"),
    ({"fidelity": Fidelity((1, 3))}, "fidelity needs the generational mode"),
])
def test_the_generation_based_parts_are_refused_in_the_asynchronous_mode(tmp_path, option, message):
    with pytest.raises(ValueError, match=message):
        make_runner(tmp_path / "run", evaluator=ScriptedPool(workers=2), **{**SETTINGS, **option})
    assert not (tmp_path / "run").exists()
