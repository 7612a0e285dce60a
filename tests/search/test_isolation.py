"""A candidate that crashes its process natively (SIGABRT, SIGSEGV) or hangs fails as that candidate, with the cause
named, and the search goes on (issue 29): with one isolated worker, two local workers and two Ray workers, after
interruptions, to the same archive; a resume never tries a candidate that killed its process again. The settings
(``search.isolation``, ``search.candidate_timeout``) are checked in one line each, and the automatic timeout follows
the candidates that succeeded."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest
from cell_space import CellSpace
from crash_helpers import action_of, crashing_objectives, tries
from search_helpers import StopAfter, snapshot

from nsga_lightning.search import Candidate, Evaluation, FunctionEvaluator
from nsga_lightning.search.build import build_search
from nsga_lightning.search.execution.timeouts import (
    AUTO_FIRST,
    AUTO_FLOOR,
    CandidateTimeout,
    Deadlines,
    death_cause,
    make_timeout,
)

# seed 1 of this search meets one candidate of each kind: an abort in generation 0, a hang in 2 and a segfault in 4
SEARCH = {"pop_size": 8, "n_offspring": 4, "n_gens": 5, "seed": 1, "objectives": ["error", "cost"],
          "initialization": "random", "candidate_timeout": 2}
pytestmark = pytest.mark.isolation  # isolation is the subject: the shipped default kept

CAUSES = {"abort": "killed by SIGABRT (signal 6)", "segv": "killed by SIGSEGV (signal 11)",
          "hang": "timed out: not finished within 2 s"}


def _evaluator() -> FunctionEvaluator:
    return FunctionEvaluator(crashing_objectives, objectives=["error", "cost"])


def _run(run_dir: Path, callbacks=None, **search) -> object:
    config = {"search": {**SEARCH, "run_dir": str(run_dir), **search}, "progress_bar": False}
    with build_search(config, callbacks=callbacks, space=CellSpace(), evaluator=_evaluator()) as runner:
        return runner.run()


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> tuple[Path, dict]:
    """One isolated worker, uninterrupted; every start of a candidate logged."""
    folder = tmp_path_factory.mktemp("isolated")
    log = folder / "log"
    log.mkdir()
    os.environ["NSGA_CRASH_LOG"] = str(log)
    try:
        result = _run(folder / "run", isolation="process")
    finally:
        del os.environ["NSGA_CRASH_LOG"]
    assert result.status == "completed"
    return folder, snapshot(folder / "run")


def _failed(snap: dict) -> dict[str, str]:
    return {row[0]: row[7] for row in snap["rows"] if row[5] == "failed"}


def test_one_isolated_worker_records_each_crash_and_hang_with_its_cause(reference):
    folder, snap = reference
    failed = _failed(snap)
    assert sorted(action_of(key) for key in failed) == ["abort", "hang", "segv"]
    for key, text in failed.items():
        assert CAUSES[action_of(key)] in text, text
    assert len(snap["rows"]) == 24 and len(snap["generations"]) == 5  # the search went on to its end
    counts = tries(folder / "log")
    for key in failed:  # a dead worker's candidate is tried once more, a hang is not
        assert counts[key] == (1 if action_of(key) == "hang" else 2)
    assert all(n == 1 for key, n in counts.items() if key not in failed)


def test_two_local_workers_give_the_same_archive(reference, tmp_path):
    _run(tmp_path / "run", workers=2)
    assert snapshot(tmp_path / "run") == reference[1]


def test_interrupted_runs_resume_to_the_same_archive_and_never_retry_a_crash(reference, tmp_path, caplog):
    log = tmp_path / "log"
    log.mkdir()
    os.environ["NSGA_CRASH_LOG"] = str(log)
    try:
        for stop in (5, 4, 5):  # commits per session: after 5 (the abort included), 9 (before the hang), 14
            with pytest.raises(KeyboardInterrupt):
                _run(tmp_path / "run", callbacks=[StopAfter(stop)], isolation="process")
        with caplog.at_level(logging.WARNING):
            assert _run(tmp_path / "run", isolation="process").status == "completed"
    finally:
        del os.environ["NSGA_CRASH_LOG"]
    assert snapshot(tmp_path / "run") == reference[1]
    counts = tries(log)
    for key in _failed(reference[1]):
        assert counts[key] == (1 if action_of(key) == "hang" else 2), (key, counts[key])


def test_two_ray_workers_fail_the_same_candidates_and_go_on(reference, tmp_path, monkeypatch,
                                                            one_ray_at_a_time):
    ray = pytest.importorskip("ray")
    here = str(Path(__file__).parent)  # Ray's workers import the evaluator's module from this folder
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(p for p in (here, os.environ.get("PYTHONPATH")) if p))
    try:
        _run(tmp_path / "run", workers=2, backend="ray")
    finally:
        if ray.is_initialized():
            ray.shutdown()
    ours, expected = snapshot(tmp_path / "run"), reference[1]
    strip = [row[:7] for row in ours["rows"]], [row[:7] for row in expected["rows"]]
    assert strip[0] == strip[1] and ours["generations"] == expected["generations"]
    for key, text in _failed(ours).items():
        assert ("timed out" if action_of(key) == "hang" else "Ray worker process died") in text, text


@pytest.mark.parametrize(("search", "message"), [
    ({"isolation": "none", "workers": 2}, "search.isolation none runs candidates in this process"),
    ({"isolation": "sometimes"}, "unknown search.isolation 'sometimes'; allowed: auto, process, none"),
    ({"candidate_timeout": "5 minutes"}, "search.candidate_timeout must be auto, null or a duration > 0"),
    ({"candidate_timeout": 30, "isolation": "auto"}, "stops a candidate by killing its process"),
])
def test_bad_isolation_settings_are_one_line_before_anything_is_created(tmp_path, search, message):
    config = {"search": {**SEARCH, "run_dir": str(tmp_path / "run"), **search}, "progress_bar": False}
    with pytest.raises(ValueError, match=message) as caught:
        build_search(config, space=CellSpace(), evaluator=_evaluator())
    assert "\n" not in str(caught.value)
    assert not (tmp_path / "run").exists()


def test_an_isolated_evaluator_that_cannot_be_pickled_is_one_line(tmp_path):
    config = {"search": {**SEARCH, "run_dir": str(tmp_path / "run"), "isolation": "process"}, "progress_bar": False}
    evaluator = FunctionEvaluator(lambda candidate: {"error": 1.0, "cost": 1.0}, objectives=["error", "cost"])
    with pytest.raises(ValueError, match="search.isolation process sends a copy of your evaluator"):
        build_search(config, space=CellSpace(), evaluator=evaluator)


@pytest.mark.parametrize(("value", "expected"), [
    ("auto", CandidateTimeout(None, True)), (None, CandidateTimeout(None, False)), ("null", CandidateTimeout(None, False)),
    (90, CandidateTimeout(90.0, False)), ("90s", CandidateTimeout(90.0, False)), ("30m", CandidateTimeout(1800.0, False)),
    ("1.5h", CandidateTimeout(5400.0, False)),
])
def test_timeouts_are_read_in_seconds_or_with_a_unit(value, expected):
    assert make_timeout(value) == expected


def test_the_automatic_timeout_follows_the_slowest_success_per_epoch():
    now = [0.0]
    deadlines = Deadlines(CandidateTimeout(), clock=lambda: now[0])
    full = Candidate("a", [0], 0, 1)
    rung = Candidate("b", [0], 0, 1, epochs=2)
    assert deadlines.limit(full) == AUTO_FIRST  # nothing succeeded yet
    deadlines.observe(full, Evaluation.failed("a", "boom", 500.0), 500.0)
    assert deadlines.limit(full) == AUTO_FIRST  # failures teach nothing
    deadlines.observe(full, Evaluation.ok("a", {"error": 1.0}, 20.0), 20.0)
    assert deadlines.limit(full) == AUTO_FLOOR  # 10 x 20 s is below the floor
    deadlines.observe(full, Evaluation.ok("a", {"error": 1.0}, 300.0), 300.0)
    assert deadlines.limit(full) == 3000.0
    deadlines.observe(rung, Evaluation.ok("b", {"error": 1.0}, 800.0), 800.0)  # 400 s per epoch
    assert deadlines.limit(rung) == 8000.0 and deadlines.limit(full) == 4000.0
    now[0] = 7.0
    assert deadlines.deadline(full) == 4007.0
    assert Deadlines(CandidateTimeout(None, False)).deadline(full) is None


def test_a_dead_process_is_named_by_its_signal():
    assert death_cause(-11) == "killed by SIGSEGV (signal 11)"
    assert death_cause(-6) == "killed by SIGABRT (signal 6)"
    assert death_cause(3) == "exit code 3"
