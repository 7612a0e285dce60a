"""Parallel search end to end: local worker processes and Ray tasks give the archive a one-at-a-time search gives;
a killed driver resumes, a killed worker is retried or failed, Ctrl-C leaves no process behind; the asynchronous
steady state; bad settings are one line each. Tiny CIFAR-format data, 1 intra-op thread per candidate."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
import yaml
from e2e_helpers import N_CANDIDATES, run_cli, search_config, write_search
from parallel_helpers import CrashAtKeys, KillWorkerAtKey, archive_snapshot, processes_with_marker

from nsga_lightning.search import Archive
from nsga_lightning.search.build import build_search

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]


def _config(run_dir: str, **search: Any) -> dict[str, Any]:
    config = search_config("micro", run_dir=run_dir)
    config["search"].update(search)
    return config


def _search(config: dict[str, Any], **options: Any):
    with build_search(config, **options) as runner:
        return runner.run(), runner


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory):
    """A working directory with tiny CIFAR-10 files and the archive of a one-at-a-time search."""
    folder = tmp_path_factory.mktemp("parallel")
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(folder)
        write_search(folder, "micro")
        _search(_config("sequential"))
        yield folder


def test_two_local_workers_give_the_archive_of_one(folder: Path, monkeypatch):
    monkeypatch.chdir(folder)
    result, runner = _search(_config("local2", workers=2))
    assert result.workers == 2 and result.n_evaluated == N_CANDIDATES
    assert 0 < result.busy_share <= 1.0
    assert archive_snapshot(folder / "local2") == archive_snapshot(folder / "sequential")
    assert runner.evaluator.worker_pids() == []  # closed with the runner
    assert len(runner.evaluator.startup_seconds) == 2 and all(s > 0 for s in runner.evaluator.startup_seconds)


def test_two_ray_workers_give_the_archive_of_one(folder: Path, monkeypatch, one_ray_at_a_time):
    ray = pytest.importorskip("ray")
    monkeypatch.chdir(folder)
    try:
        result, runner = _search(_config("ray2", workers=2, backend="ray"))
    finally:
        ray.shutdown()
    assert result.n_evaluated == N_CANDIDATES
    # each Ray worker process that ran a task built its evaluator once; starting Ray took time too
    assert len(runner.evaluator.startup_seconds) >= 1 and runner.evaluator.connect_seconds > 0
    assert archive_snapshot(folder / "ray2") == archive_snapshot(folder / "sequential")


KILL_DRIVER = """
import json, os, signal, sys
from nsga_lightning.search import SearchCallback
from nsga_lightning.search.build import build_search, default_callbacks
from nsga_lightning.search.assemble.settings import SearchConfig

config = SearchConfig.from_dict(json.loads(sys.argv[1]))

class KillDriver(SearchCallback):
    def on_candidate_end(self, runner, candidate, evaluation):
        with open("pids.json", "w") as handle:
            json.dump(runner.evaluator.worker_pids(), handle)
        os.kill(os.getpid(), signal.SIGKILL)  # after the first result, with the other candidates in flight

runner = build_search(config, callbacks=[*default_callbacks(config), KillDriver()])
runner.run()
"""


def _wait_gone(pids: list[int], seconds: float = 20.0) -> list[int]:
    deadline = time.monotonic() + seconds
    alive = pids
    while alive and time.monotonic() < deadline:
        time.sleep(0.2)
        alive = [p for p in alive if Path(f"/proc/{p}").exists()
                 and (Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z")]
    return alive


def test_a_sigkilled_driver_with_candidates_in_flight_resumes_to_the_same_archive(folder: Path, monkeypatch):
    import json

    monkeypatch.chdir(folder)
    config = _config("killed", workers=2)
    killed = subprocess.run([sys.executable, "-c", KILL_DRIVER, json.dumps(config)], cwd=folder,
                            capture_output=True, text=True, timeout=300)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    workers = json.loads((folder / "pids.json").read_text())
    assert len(workers) == 2
    assert _wait_gone(workers) == []  # the workers died with their driver
    with Archive(folder / "killed") as archive:
        assert len(archive) == 1  # the first result was committed before the kill
    result, _ = _search(config)
    assert result.n_evaluated == N_CANDIDATES - 1  # only the unfinished ones were trained again
    assert archive_snapshot(folder / "killed") == archive_snapshot(folder / "sequential")


def _first_key(folder: Path) -> str:
    with Archive(folder / "sequential") as archive:
        return sorted(r.key for r in archive.rows() if r.generation == 0)[0]


def test_a_killed_worker_is_replaced_and_its_candidate_trained_again(folder: Path, monkeypatch, tmp_path):
    monkeypatch.chdir(folder)
    killer = KillWorkerAtKey(_first_key(folder), tmp_path / "marks", times=1)
    result, _ = _search(_config("worker-killed-once", workers=2), trainer_callbacks=[killer])
    assert len(list((tmp_path / "marks").glob("kill-*"))) == 1
    assert result.n_failed == 0
    assert archive_snapshot(folder / "worker-killed-once")["rows"] == archive_snapshot(folder / "sequential")["rows"]


def test_a_candidate_whose_worker_dies_twice_fails_and_the_search_goes_on(folder: Path, monkeypatch, tmp_path):
    monkeypatch.chdir(folder)
    key = _first_key(folder)
    result, runner = _search(_config("worker-killed-twice", workers=2),
                             trainer_callbacks=[KillWorkerAtKey(key, tmp_path / "marks", times=2)])
    assert result.status == "completed" and result.n_archived >= N_CANDIDATES
    with Archive(folder / "worker-killed-twice") as archive:
        row = archive.get(key)
        assert row.status == "failed" and "worker process died while training it, 2 times" in row.error_text
        assert "killed by SIGKILL (signal 9)" in row.error_text



@pytest.mark.isolation  # the shipped default: candidates in a worker process
def test_a_default_search_survives_a_candidate_that_aborts_one_that_segfaults_and_one_that_hangs(folder: Path,
                                                                                                   monkeypatch):
    """The default single-worker search trains in a worker process (search.isolation: auto): native crashes and a hang
    fail their candidates, with the cause, and every other candidate of the first generation trains as before."""
    monkeypatch.chdir(folder)
    expected = archive_snapshot(folder / "sequential")["rows"]
    first = [row for row in expected if row[2] == 0]
    actions = {first[0][0]: "abort", first[1][0]: "segv", first[2][0]: "hang"}
    result, _ = _search(_config("crashes", candidate_timeout=15), trainer_callbacks=[CrashAtKeys(actions)])
    assert result.status == "completed" and result.n_archived >= N_CANDIDATES
    with Archive(folder / "crashes") as archive:
        for key, cause in zip(actions, ("killed by SIGABRT", "killed by SIGSEGV", "timed out: not finished within 15 s"),
                              strict=True):
            row = archive.get(key)
            assert row.status == "failed" and cause in row.error_text, row.error_text
    rows = archive_snapshot(folder / "crashes")["rows"]
    assert [row for row in rows if row[2] == 0 and row[0] not in actions] == [
        row for row in first if row[0] not in actions]

CTRL_C = """
import sys
from nsga_lightning.cli import main
sys.exit(main(["search", "--config", sys.argv[1]]))
"""


def test_ctrl_c_with_candidates_in_flight_exits_cleanly_and_leaves_no_process(folder: Path, tmp_path):
    config = _config(str(tmp_path / "interrupted"), workers=2)
    config["trainer"]["max_epochs"] = 50  # long enough to be interrupted mid-candidate
    path = tmp_path / "search.yaml"
    path.write_text(yaml.safe_dump(config))
    marker = uuid.uuid4().hex
    driver = subprocess.Popen([sys.executable, "-c", CTRL_C, str(path)], cwd=folder, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, env={**os.environ, "NSGA_TEST_MARKER": marker})
    candidates = tmp_path / "interrupted" / "tensorboard" / "candidates"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and len(list(candidates.glob("*"))) < 2:
        time.sleep(0.2)
    assert len(list(candidates.glob("*"))) >= 2, "the workers never started training"
    driver.send_signal(signal.SIGINT)
    _, err = driver.communicate(timeout=60)
    assert driver.returncode == 130, err
    assert "Traceback" not in err
    assert "run again on the same run_dir to resume" in err
    assert _wait_gone(processes_with_marker(marker)) == []


def test_asynchronous_steady_state_with_two_workers_runs_and_is_then_complete(folder: Path, monkeypatch):
    monkeypatch.chdir(folder)
    config = _config("async", workers=2, n_offspring=1, n_gens=4)
    result, runner = _search(config)
    assert runner.window == 2 and result.generations == 4
    with Archive(folder / "async") as archive:
        children = [r.generation for r in archive.rows(order="completion") if r.generation >= 1]
        assert children == [1, 2, 3]
        assert archive.config()["asynchronous"] == {"in_flight": 2}
    again, _ = _search(config)
    assert again.status == "already complete" and again.n_evaluated == 0


def test_asynchronous_rungs_with_two_workers_promote_by_the_rule_and_leave_no_checkpoint(folder: Path, monkeypatch):
    monkeypatch.chdir(folder)
    config = _config("async-rungs", workers=2, fidelity={"rungs": [1, 2], "keep": 0.5, "asynchronous": True})
    config["trainer"]["max_epochs"] = 2
    result, runner = _search(config)
    assert result.status == "completed" and 0 < result.busy_share <= 1.0
    with Archive(folder / "async-rungs") as archive:
        rows = archive.rows()
        assert archive.config()["fidelity"]["asynchronous"]
    for generation in {r.generation for r in rows}:
        children = [r for r in rows if r.generation == generation]
        reached = sum(1 for r in children if 1 in r.rung_errors)
        assert sum(1 for r in children if r.epochs == 2) == max(1, -(-reached // 2))  # the synchronous count
        assert all(sorted(r.fidelity["completed"]) == [str(e) for e in (1, 2) if e <= r.epochs] for r in children)
    assert not list((folder / "async-rungs" / "rungs").glob("*"))


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("workers", 0, "search.workers must be an integer >= 1"),
        ("backend", "spark", "search.backend"),
        ("ray_address", "127.0.0.1:9", "no Ray cluster reachable at 127.0.0.1:9"),
        ("resources_per_candidate", {"gpu": 1}, "need 2 GPUs; this machine has 0"),
        ("resources_per_candidate", {"tpu": 1}, "unknown option search.resources_per_candidate.tpu"),
    ],
)
def test_bad_scale_out_settings_are_one_line_before_anything_is_created(folder: Path, monkeypatch, tmp_path,
                                                                          option, value, message):
    if option == "ray_address":
        pytest.importorskip("ray")
    monkeypatch.chdir(folder)
    search = {option: value, "workers": 2}
    if option == "ray_address":
        search["backend"] = "ray"
    if option == "workers":
        search["workers"] = value
    config = _config(str(tmp_path / "run"), **search)
    path = tmp_path / "search.yaml"
    path.write_text(yaml.safe_dump(config))
    result = run_cli("search", "--config", str(path))
    assert result.code == 2
    (line,) = [line for line in result.err.splitlines() if line.startswith("nsga-lightning: error:")]
    assert message in line
    assert not (tmp_path / "run").exists()


def test_ray_backend_without_ray_names_the_install_command(folder: Path, monkeypatch, tmp_path):
    monkeypatch.chdir(folder)
    monkeypatch.setitem(sys.modules, "ray", None)  # as if Ray were not installed
    path = tmp_path / "search.yaml"
    path.write_text(yaml.safe_dump(_config(str(tmp_path / "run"), backend="ray", workers=2)))
    result = run_cli("search", "--config", str(path))
    assert result.code == 2
    assert 'pip install -e ".[ray]"' in result.err
    assert not (tmp_path / "run").exists()
