"""The search loop: determinism, resume after SIGKILL / Ctrl-C, no re-evaluation, failures, configs, modes."""

from __future__ import annotations

import logging
import subprocess
import sys
import textwrap
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from search_helpers import AnalyticEvaluator, make_runner, snapshot, space_by_name

from nsga_lightning.search import Candidate, Evaluation, SearchCallback, SearchRunner, pareto_front
from nsga_lightning.search.core.evaluator import safe_evaluate

HERE = Path(__file__).resolve().parent


def run(run_dir, **kwargs):
    evaluator = kwargs.pop("evaluator", None) or AnalyticEvaluator()
    with make_runner(run_dir, evaluator=evaluator, **kwargs) as runner:
        result = runner.run()
    return result, evaluator


def test_same_seed_same_archive_and_front_different_seed_differs(tmp_path):
    a, _ = run(tmp_path / "a")
    b, _ = run(tmp_path / "b")
    run(tmp_path / "c", seed=1)
    assert snapshot(tmp_path / "a") == snapshot(tmp_path / "b")
    assert [r.key for r in a.pareto] == [r.key for r in b.pareto]
    assert [r.key for r in a.population] == [r.key for r in b.population]
    assert snapshot(tmp_path / "a")["rows"] != snapshot(tmp_path / "c")["rows"]
    assert a.status == "completed" and a.generations == 5 and a.n_evaluated == 10 + 4 * 6


def test_no_key_is_evaluated_twice_and_equivalent_genomes_share_one_evaluation(tmp_path):
    # a tiny micro space (2 blocks) where unit swaps and block reorderings make many equivalent genomes
    result, evaluator = run(tmp_path, space="micro2", pop_size=12, n_offspring=8, n_gens=12)
    assert max(evaluator.calls.values()) == 1
    space = space_by_name("micro2")
    archive_keys = [r.key for r in result.population]
    assert len(set(archive_keys)) == len(archive_keys)
    with make_runner(tmp_path, space="micro2", pop_size=12, n_offspring=8, n_gens=12) as runner:
        rows = runner.archive.rows()
    assert sorted(evaluator.calls) == sorted(r.key for r in rows)
    assert all(space.key(r.genome) == r.key for r in rows)
    assert len(rows) == 12 + 11 * 8


class TwinSpace(type(space_by_name("micro"))):
    """Micro space whose sampler draws each genome twice: as drawn and with two units swapped (same key)."""

    def sample(self, rng, n):
        genomes = super().sample(rng, (n + 1) // 2)
        twins = genomes.copy()
        twins[:, 0:2], twins[:, 2:4] = genomes[:, 2:4], genomes[:, 0:2]
        return np.stack([genomes, twins], axis=1).reshape(-1, self.n_var)[:n]


def test_equivalent_genomes_in_one_batch_are_evaluated_once(tmp_path):
    space = TwinSpace(5)
    sample = space.sample(np.random.default_rng(0), 2)
    assert not np.array_equal(sample[0], sample[1]) and space.key(sample[0]) == space.key(sample[1])
    evaluator = AnalyticEvaluator()
    with SearchRunner(space, evaluator, tmp_path, pop_size=10, n_offspring=4, n_gens=3) as runner:
        result = runner.run()
    assert len(result.population) == 10 and sum(evaluator.calls.values()) == 10 + 2 * 4
    assert max(evaluator.calls.values()) == 1


def _kill_script(run_dir: Path) -> str:
    return textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(HERE)!r})
        from search_helpers import AnalyticEvaluator, make_runner
        make_runner({str(run_dir)!r}, evaluator=AnalyticEvaluator(stop_at=(2, 3), signal="kill")).run()
        raise SystemExit("the search was expected to be killed")
    """)


def test_sigkill_mid_generation_then_resume_equals_uninterrupted(tmp_path):
    reference, _ = run(tmp_path / "reference")
    killed = tmp_path / "killed"
    script = tmp_path / "kill.py"
    script.write_text(_kill_script(killed))
    command = [sys.executable, str(script)]
    proc = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == -9, proc.stderr
    before = snapshot(killed)
    assert len(before["generations"]) == 2  # generations 0 and 1 completed
    assert sum(1 for r in before["rows"] if r[3] == 2) == 3  # three of generation 2 committed
    committed = {r[0] for r in before["rows"]}

    resumed, evaluator = run(killed)
    assert not committed & set(evaluator.calls)  # nothing committed was evaluated again
    assert max(evaluator.calls.values()) == 1
    assert resumed.n_evaluated == 3 + 2 * 6  # the rest of generation 2, then generations 3 and 4
    assert snapshot(killed) == snapshot(tmp_path / "reference")
    assert [r.key for r in resumed.pareto] == [r.key for r in reference.pareto]


class Recorder(SearchCallback):
    def __init__(self) -> None:
        self.events: list[tuple] = []

    def on_search_start(self, runner):
        self.events.append(("start",))

    def on_generation_start(self, runner, generation, candidates):
        self.events.append(("gen_start", generation, len(candidates)))

    def on_candidate_end(self, runner, candidate, evaluation):
        self.events.append(("candidate", candidate.generation, evaluation.status))

    def on_generation_end(self, runner, generation, population, archive):
        self.events.append(("gen_end", generation, len(population), len(archive)))

    def on_search_end(self, runner, result):
        self.events.append(("end", result.status, result.generations))


def test_keyboard_interrupt_stops_cleanly_and_resume_equals_uninterrupted(tmp_path):
    run(tmp_path / "reference")
    recorder = Recorder()
    evaluator = AnalyticEvaluator(stop_at=(3, 2), signal="interrupt")
    runner = make_runner(tmp_path / "run", evaluator=evaluator, callbacks=[recorder])
    with runner, pytest.raises(KeyboardInterrupt):
        runner.run()
    assert recorder.events[-1] == ("end", "interrupted", 3)
    committed = {r[0] for r in snapshot(tmp_path / "run")["rows"]}
    assert len(committed) == 10 + 2 * 6 + 2

    recorder = Recorder()
    resumed, evaluator = run(tmp_path / "run", callbacks=[recorder])
    assert not committed & set(evaluator.calls) and resumed.n_evaluated == 4 + 6
    assert snapshot(tmp_path / "run") == snapshot(tmp_path / "reference")
    assert recorder.events[0] == ("start",) and recorder.events[1] == ("gen_start", 3, 4)
    assert recorder.events[-1] == ("end", "completed", 5)
    assert [e for e in recorder.events if e[0] == "gen_end"] == [
        ("gen_end", 3, 10, 28),
        ("gen_end", 4, 10, 34),
    ]


def test_extending_a_finished_run_equals_a_longer_run(tmp_path):
    run(tmp_path / "long", n_gens=7)
    run(tmp_path / "short", n_gens=4)
    extended, _evaluator = run(tmp_path / "short", n_gens=7)
    assert extended.n_evaluated == 3 * 6
    assert snapshot(tmp_path / "short") == snapshot(tmp_path / "long")
    again, _ = run(tmp_path / "short", n_gens=7)  # finished: nothing to do
    assert again.n_evaluated == 0 and again.generations == 7


def test_failures_are_recorded_and_the_search_goes_on(tmp_path):
    result, _ = run(tmp_path, n_gens=8)
    with make_runner(tmp_path, n_gens=8) as runner:
        failed = runner.archive.rows(status="failed")
    raised = [r for r in failed if "RuntimeError: analytic failure" in r.error_text]
    nonfinite = [r for r in failed if "not a finite number" in r.error_text]
    assert raised and nonfinite and len(raised) + len(nonfinite) == len(failed)
    assert all(r.objectives == {} for r in failed)
    assert result.generations == 8 and all(r.is_ok for r in result.pareto)
    assert not {r.key for r in failed} & {r.key for r in result.pareto}


class CrashingEvaluator:
    """Does not catch its own errors: the runner's safety net must."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()

    def evaluate(self, candidates: list[Candidate]):
        for candidate in candidates:
            self.calls[candidate.key] += 1
            if candidate.key.endswith(("0", "1", "2")):
                raise ValueError(f"crash on {candidate.key}")
            objectives = {
                "error": float(sum(candidate.genome)),
                "madds": np.int64(sum(candidate.genome[::2])),
            }
            yield Evaluation.ok(candidate.key, objectives, 0.0)


def test_an_evaluator_crash_fails_one_candidate_and_the_rest_are_resubmitted(tmp_path):
    evaluator = CrashingEvaluator()
    result, _ = run(tmp_path, evaluator=evaluator, n_gens=3)
    assert result.generations == 3 and max(evaluator.calls.values()) == 1
    with make_runner(tmp_path, evaluator=CrashingEvaluator(), n_gens=3) as runner:
        rows = runner.archive.rows()
    assert len(rows) == 10 + 2 * 6
    crashed = [r for r in rows if r.status == "failed"]
    assert crashed and all(f"ValueError: crash on {r.key}" in r.error_text for r in crashed)
    assert all(r.is_ok for r in rows if not r.key.endswith(("0", "1", "2")))


def test_non_finite_and_missing_objectives_fail(tmp_path):
    def objectives(candidate):
        bucket = int(candidate.key[-1], 16) % 3
        return [{"error": float("inf"), "madds": 1}, {"error": 1.0}, {"error": 1.0, "madds": np.int64(5)}][
            bucket
        ]

    class Evaluator:
        def evaluate(self, candidates):
            return [safe_evaluate(objectives, c) for c in candidates]  # a list works too

    runner = SearchRunner(space_by_name("micro"), Evaluator(), tmp_path, pop_size=6, n_offspring=3, n_gens=2)
    runner.run()
    rows = runner.archive.rows()
    runner.close()
    for r in rows:
        bucket = int(r.key[-1], 16) % 3
        assert r.is_ok == (bucket == 2)
        if bucket == 0:
            assert "not a finite number" in r.error_text
        if bucket == 1:
            assert "no value for objective" in r.error_text


def test_a_changed_configuration_on_the_same_run_dir_is_refused(tmp_path):
    run(tmp_path, n_gens=2)
    with pytest.raises(ValueError, match=r"pop_size: stored 10 -> given 12.*use a new run_dir"):
        make_runner(tmp_path, pop_size=12)
    with pytest.raises(ValueError, match=r"objectives"):
        make_runner(tmp_path, objectives=("error", "params"))
    with pytest.raises(ValueError, match=r"space\."):
        make_runner(tmp_path, space="macro6")

    class OtherTraining(AnalyticEvaluator):
        def fingerprint(self):
            return {"kind": "analytic", "version": 2}

    with pytest.raises(ValueError, match=r"evaluator\.version: stored 1 -> given 2"):
        make_runner(tmp_path, evaluator=OtherTraining())


@pytest.mark.parametrize(
    "bad",
    [
        {"objectives": ("error",)},
        {"objectives": ("error", "flops")},
        {"objectives": ("error", "error")},
        {"pop_size": 1},
        {"n_offspring": 0},
        {"n_gens": 0},
        {"seed": -1},
    ],
)
def test_invalid_settings_are_refused(tmp_path, bad):
    with pytest.raises(ValueError):
        make_runner(tmp_path, **bad)


def test_steady_state_mode(tmp_path):
    result, evaluator = run(tmp_path, n_offspring=1, n_gens=12)
    assert result.generations == 12 and result.n_evaluated == 10 + 11
    assert len(result.population) == 10 and max(evaluator.calls.values()) == 1


@pytest.mark.parametrize("space", ["micro", "macro4", "macro6"])
def test_both_spaces(tmp_path, space):
    _result, evaluator = run(tmp_path, space=space, n_gens=4)
    search_space = space_by_name(space)
    with make_runner(tmp_path, space=space, n_gens=4) as runner:
        rows = runner.archive.rows()
    assert len(rows) == 10 + 3 * 6 and max(evaluator.calls.values()) == 1
    for r in rows:
        genome = np.asarray(r.genome)
        assert np.all(genome >= search_space.lower) and np.all(genome <= search_space.upper)
        assert search_space.key(genome) == r.key
    assert r.genotype == search_space.decode(genome).to_dict()


def test_three_objectives(tmp_path):
    objectives = ("error", "madds", "params")
    result, _ = run(tmp_path, objectives=objectives, n_gens=4)
    with make_runner(tmp_path, objectives=objectives, n_gens=4) as runner:
        ok = runner.archive.rows(status="ok")
    F = {r.key: np.array([r.objectives[o] for o in objectives]) for r in ok}
    front = {r.key for r in result.pareto}
    for key, f in F.items():  # brute force: on the front iff nothing dominates it
        dominated = any(np.all(g <= f) and np.any(g < f) for g in F.values())
        assert (key in front) == (not dominated)
    assert result.pareto == pareto_front(ok, objectives)


class TinySpace:
    """A 2-bit space with 4 genomes: the search must run out of new architectures without looping forever."""

    name = "tiny"
    lower = np.zeros(2, dtype=np.int64)
    upper = np.ones(2, dtype=np.int64)
    n_var = 2

    def sample(self, rng, n):
        return rng.integers(0, 2, size=(n, 2))

    def validate(self, genome):
        return np.asarray(genome, dtype=np.int64)

    def decode(self, genome):
        return None

    def key(self, genome):
        return "tiny-" + "".join(str(int(g)) for g in genome)


def test_an_exhausted_space_warns_and_finishes(tmp_path, caplog):
    evaluator = AnalyticEvaluator()
    with caplog.at_level(logging.WARNING, logger="nsga_lightning.search.runner"):
        runner = SearchRunner(
            TinySpace(), evaluator, tmp_path, pop_size=3, n_offspring=2, n_gens=4, max_mating_rounds=5
        )
        result = runner.run()
        runner.close()
    assert result.generations == 4 and sum(evaluator.calls.values()) == 4
    assert "only" in caplog.text and "fresh samples" in caplog.text


def test_the_search_package_imports_no_torch_lightning_or_data():
    code = (
        "import sys, nsga_lightning.search; "
        "bad = [m for m in ('torch', 'lightning', 'nsga_lightning.data') if m in sys.modules]; "
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
