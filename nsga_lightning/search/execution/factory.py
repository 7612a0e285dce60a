"""How a parallel backend gets its workers' evaluators: a picklable factory, never the composition root.

A worker process (local pool) or a Ray task receives an :class:`EvaluatorFactory` and calls it once to build its
own evaluator. The search's builder hands over a factory that rebuilds the trainer evaluator from the plain
settings (``nsga_lightning.search.build.SettingsFactory``); a user's own evaluator travels as a pickled copy
(:class:`CopyFactory`). ``key`` names what the factory builds, so that a Ray worker caches one evaluator per search.
"""

from __future__ import annotations

import hashlib
import pickle
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from nsga_lightning.search.core.evaluator import Candidate, Evaluation
from nsga_lightning.search.execution.protocols import Execution


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

    def __call__(self) -> OwnEvaluator:
        """The evaluator (unpickled in the worker: its own copy) with the interface a worker uses."""
        return OwnEvaluator(self.evaluator)


class OwnEvaluator:
    """A user's evaluator with everything a parallel backend asks of its workers' and its driver's evaluator: the
    user's ``prepare``, ``fingerprint``, ``runtime`` and ``objective_names`` where it defines them, nothing
    otherwise.

    Args:
        evaluator: the user's evaluator (anything with ``evaluate``).
        block: the config's ``evaluator`` block it was built from: its fingerprint where the evaluator gives none.
    """

    def __init__(self, evaluator: Any, block: dict[str, Any] | None = None) -> None:
        self.evaluator, self.block = evaluator, block
        self._execution = Execution(evaluator)

    @property
    def objective_names(self) -> tuple[str, ...] | None:
        """The objective names the evaluator declares (``None``: none)."""
        return self._execution.objectives()

    def prepare(self) -> Any:
        """The evaluator's own ``prepare()``, where it has one."""
        return self._execution.prepare()

    def fingerprint(self) -> dict[str, Any] | None:
        """The evaluator's fingerprint (else the block it was built from; ``None``: neither)."""
        own = self._execution.fingerprint()
        return own if own is not None or self.block is None else {"evaluator block": dict(self.block)}

    def close(self) -> None:
        """The evaluator's own ``close()``, where it has one."""
        self._execution.close()

    def runtime(self) -> dict[str, Any] | None:
        """The evaluator's runtime record (``None``: it keeps none)."""
        return self._execution.runtime()

    def evaluate(self, candidates: list[Candidate]) -> Iterable[Evaluation]:
        """The evaluator's results."""
        return self.evaluator.evaluate(candidates)
