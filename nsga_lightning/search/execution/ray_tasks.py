"""What runs on Ray's side: the task that trains one candidate (:func:`evaluate_in_task`, with its worker's cached
evaluator), and the actor that tells the driver which tasks have started (:class:`StartBoard`).

A candidate's deadline (``search.candidate_timeout``) counts from the moment its task starts the candidate on a worker
whose evaluator is built, as in the local pool, not from its submission (a task may wait for a worker process to be
started, which on a busy machine takes seconds). The driver cannot see that moment; each task tells a small actor (no
CPUs), which the driver asks while it waits for results."""

from __future__ import annotations

import time
from typing import Any

from nsga_lightning.search.core.evaluator import Candidate, Evaluation
from nsga_lightning.search.execution.factory import EvaluatorFactory

__all__ = ["StartBoard", "evaluate_in_task", "start_board"]

_EVALUATORS: dict[str, Any] = {}  # per Ray worker process: factory key -> evaluator


def evaluate_in_task(factory: EvaluatorFactory, candidate: Candidate, num_threads: int, board: Any = None,
                     token: str = "") -> tuple[Evaluation, float | None]:
    """Body of a Ray task: train one candidate with this worker's cached evaluator (telling ``board`` when the
    candidate starts, under ``token``); also the seconds this task spent building the worker's evaluator (imports,
    data; ``None`` when it was cached)."""
    start = time.perf_counter()
    import torch

    torch.set_num_threads(num_threads)
    key = factory.key
    evaluator = _EVALUATORS.get(key)
    startup = None
    if evaluator is None:
        evaluator = factory()
        evaluator.prepare()
        _EVALUATORS.clear()  # one search per worker at a time: drop another search's data
        _EVALUATORS[key] = evaluator
        startup = time.perf_counter() - start
    if board is not None:
        board.mark.remote(token)
    return next(iter(evaluator.evaluate([candidate]))), startup


class StartBoard:
    """The tokens of the tasks that have started their candidate (each attempt of a candidate has its own token)."""

    def __init__(self) -> None:
        self._started: set[str] = set()

    def mark(self, token: str) -> None:
        """The task with ``token`` starts its candidate now."""
        self._started.add(token)

    def started(self, tokens: list[str]) -> list[str]:
        """Those of ``tokens`` whose task has started."""
        return [token for token in tokens if token in self._started]

    def forget(self, tokens: list[str]) -> None:
        """Drop the tokens of finished tasks."""
        self._started.difference_update(tokens)


def start_board(ray: Any) -> Any:
    """A new :class:`StartBoard` actor (no resources, so it never takes a candidate's CPU)."""
    return ray.remote(num_cpus=0)(StartBoard).remote()
