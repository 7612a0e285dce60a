"""What ``nsga-lightning search`` says at the end: failures counted with their most common reason, a non-zero
exit when every candidate failed, and the resume line even when Ctrl-C comes again during the shutdown."""

from __future__ import annotations

import logging

from e2e_helpers import N_CANDIDATES, run_cli, write_search

from nsga_lightning.search.runner import SearchRunner
from nsga_lightning.search.training import trainer_evaluator

# these tests patch the trainer evaluator of this process: its candidates must train here, not in a worker process
IN_PROCESS = ("--search.isolation", "none")

def test_a_search_whose_candidates_all_fail_says_why_and_exits_1(workdir, monkeypatch):
    def out_of_memory(self, candidate, num_classes):
        raise RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB")

    monkeypatch.setattr(trainer_evaluator.TrainerEvaluator, "_train_one", out_of_memory)
    result = run_cli("search", "--config", str(write_search(workdir, "micro")), *IN_PROCESS)
    assert result.code == 1
    assert (f"{N_CANDIDATES} of {N_CANDIDATES} architectures failed; most common reason ({N_CANDIDATES}): "
            "RuntimeError: CUDA out of memory. Tried to allocate 2.00 GiB") in result.out
    assert "every architecture failed: nothing to retrain" in result.out


def test_some_failures_are_counted_and_the_exit_is_0(workdir, monkeypatch):
    original = trainer_evaluator.TrainerEvaluator._train_one
    calls = []

    def sometimes(self, candidate, num_classes):
        calls.append(candidate.key)
        if len(calls) == 2:
            raise ValueError("a bad candidate")
        return original(self, candidate, num_classes)

    monkeypatch.setattr(trainer_evaluator.TrainerEvaluator, "_train_one", sometimes)
    result = run_cli("search", "--config", str(write_search(workdir, "micro")), *IN_PROCESS)
    assert result.code == 0, result.err
    assert f"1 of {N_CANDIDATES} architectures failed; most common reason (1): ValueError: a bad candidate" in result.out


def test_a_second_ctrl_c_during_the_shutdown_still_says_how_to_resume(workdir, monkeypatch, caplog):
    original = trainer_evaluator.TrainerEvaluator._train_one
    calls = []

    def interrupted(self, candidate, num_classes):
        calls.append(candidate.key)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return original(self, candidate, num_classes)

    def second_ctrl_c(self, runner, result):
        raise KeyboardInterrupt

    from nsga_lightning.callbacks import ParetoOutputs

    monkeypatch.setattr(trainer_evaluator.TrainerEvaluator, "_train_one", interrupted)
    monkeypatch.setattr(ParetoOutputs, "on_search_end", second_ctrl_c)
    with caplog.at_level(logging.WARNING):
        result = run_cli("search", "--config", str(write_search(workdir, "micro")), *IN_PROCESS)
    assert result.code == 130
    lines = [r.getMessage() for r in caplog.records if "run again on the same run_dir to resume" in r.getMessage()]
    assert len(lines) == 1 and "1 architectures archived" in lines[0]


def test_ctrl_c_while_closing_prints_the_resume_line_once(workdir, monkeypatch):
    original = SearchRunner.close

    def close_then_ctrl_c(self):
        original(self)
        raise KeyboardInterrupt

    monkeypatch.setattr(SearchRunner, "close", close_then_ctrl_c)
    result = run_cli("search", "--config", str(write_search(workdir, "micro")))
    assert result.code == 130
    assert result.err.count("run the same command again to resume") == 1
