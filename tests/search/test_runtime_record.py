"""The archive records the settings that can change trained errors in the last bits (intra-op threads), and a
resume with other values warns."""

from __future__ import annotations

import logging

import pytest
from search_helpers import AnalyticEvaluator, make_runner

from nsga_lightning.search import Archive


class ThreadedEvaluator(AnalyticEvaluator):
    def __init__(self, threads: int, **kwargs) -> None:
        super().__init__(**kwargs)
        self.threads = threads

    def runtime(self) -> dict:
        return {"num_threads": self.threads}


def test_the_thread_count_is_recorded_and_a_resume_with_another_warns(tmp_path, caplog):
    with pytest.raises(KeyboardInterrupt), make_runner(
            tmp_path, evaluator=ThreadedEvaluator(1, stop_at=(1, 2), signal="interrupt")) as runner:
        runner.run()
    with Archive(tmp_path) as archive:
        assert archive.meta_json("runtime") == {"num_threads": 1}
    with caplog.at_level(logging.WARNING), make_runner(tmp_path, evaluator=ThreadedEvaluator(2)) as runner:
        runner.run()
    warnings = [r.getMessage() for r in caplog.records if "other runtime settings" in r.getMessage()]
    assert len(warnings) == 1 and "num_threads 1 -> 2" in warnings[0]
    with Archive(tmp_path) as archive:
        assert archive.meta_json("runtime") == {"num_threads": 1}  # the record keeps what the run started with


def test_a_resume_with_the_recorded_thread_count_does_not_warn(tmp_path, caplog):
    with pytest.raises(KeyboardInterrupt), make_runner(
            tmp_path, evaluator=ThreadedEvaluator(1, stop_at=(1, 2), signal="interrupt")) as runner:
        runner.run()
    with caplog.at_level(logging.WARNING), make_runner(tmp_path, evaluator=ThreadedEvaluator(1)) as runner:
        runner.run()
    assert not [r for r in caplog.records if "other runtime settings" in r.getMessage()]
