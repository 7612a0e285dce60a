"""How a parallel backend gets its workers' evaluators: a picklable factory, never the composition root.

A worker process (local pool) or a Ray task receives an :class:`EvaluatorFactory` and calls it once to build its
own evaluator. The search's builder hands over a factory that rebuilds the trainer evaluator from the plain
settings (``nsga_lightning.search.build.SettingsFactory``); a user's own evaluator travels as a pickled copy
(:class:`CopyFactory`). ``key`` names what the factory builds, so that a Ray worker caches one evaluator per search.
"""

from __future__ import annotations

import hashlib
import pickle
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable


@runtime_checkable
class EvaluatorFactory(Protocol):
    """A picklable zero-argument callable that builds one worker's evaluator; ``key`` identifies what it builds."""

    @property
    def key(self) -> str: ...

    def __call__(self) -> Any: ...


@dataclass(frozen=True)
class CopyFactory:
    """Each worker gets a copy of a picklable evaluator (a user's own, e.g. a ``FunctionEvaluator`` of a
    module-level function).

    Attributes:
        evaluator: the evaluator to copy into every worker.
    """

    evaluator: Any

    @property
    def key(self) -> str:
        """sha256 of the pickled evaluator."""
        return hashlib.sha256(pickle.dumps(self.evaluator)).hexdigest()

    def __call__(self) -> Any:
        """The evaluator (unpickled in the worker: its own copy)."""
        return self.evaluator
