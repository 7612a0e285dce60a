"""What the search asks of an evaluator, every method named (the loops never probe with ``getattr``).

A user's evaluator needs only ``evaluate`` (see :class:`~nsga_lightning.search.core.evaluator.Evaluator`);
:class:`Execution` gives the loops the whole interface over it: the optional parts an evaluator may define are
recognised by the small protocols below, and the rest get their documented defaults (one worker, no fingerprint,
the built-in objective names, nothing to prepare, start or close).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

from nsga_lightning.search.core.evaluator import Candidate, Evaluation, Evaluator


@runtime_checkable
class Fingerprinted(Protocol):
    """Settings that change the evaluator's results (folded into the run fingerprint)."""

    def fingerprint(self) -> Mapping[str, Any]: ...


@runtime_checkable
class Declared(Protocol):
    """Names the objectives it returns (``None``: it declares none; see ``core/objectives.py``)."""

    objective_names: Sequence[str] | None


@runtime_checkable
class Preparable(Protocol):
    """Checks its data or settings once before the first candidate (and in every worker before its first)."""

    def prepare(self) -> Any: ...


@runtime_checkable
class Parallel(Protocol):
    """Trains ``workers`` candidates at once."""

    workers: int


@runtime_checkable
class Startable(Protocol):
    """Starts its workers before the first batch (they build their evaluators while the driver prepares)."""

    def start(self) -> None: ...


@runtime_checkable
class Closable(Protocol):
    """Holds workers or files to release at the end of a search."""

    def close(self) -> None: ...


@runtime_checkable
class Recorded(Protocol):
    """Settings that may change float rounding but not the configuration (stored once, warned on change)."""

    def runtime(self) -> Mapping[str, Any]: ...


@runtime_checkable
class AsynchronousEvaluator(Protocol):
    """Takes candidates one at a time and hands back whichever finishes first."""

    def submit(self, candidate: Candidate) -> None: ...

    def next_completed(self) -> Evaluation: ...

    def cancel(self) -> None: ...


class Execution:
    """The whole evaluator interface the loops use, over any :class:`Evaluator`.

    Args:
        evaluator: the search's evaluator.
    """

    def __init__(self, evaluator: Evaluator) -> None:
        self.evaluator = evaluator
        self.workers = int(evaluator.workers or 1) if isinstance(evaluator, Parallel) else 1
        self.asynchronous = isinstance(evaluator, AsynchronousEvaluator)

    def evaluate(self, candidates: list[Candidate]) -> Iterable[Evaluation]:
        """The evaluator's results of a batch, as each finishes."""
        return self.evaluator.evaluate(candidates)

    def fingerprint(self) -> dict[str, Any] | None:
        """The evaluator's fingerprint block (``None`` for one that defines none or gives none)."""
        value = self.evaluator.fingerprint() if isinstance(self.evaluator, Fingerprinted) else None
        return None if value is None else dict(value)

    def runtime(self) -> dict[str, Any] | None:
        """The evaluator's runtime record (``None`` for one that keeps none)."""
        value = self.evaluator.runtime() if isinstance(self.evaluator, Recorded) else None
        return None if value is None else dict(value)

    def objectives(self) -> tuple[str, ...] | None:
        """The objective names the evaluator declares it returns (``None`` for one that declares none)."""
        value = self.evaluator.objective_names if isinstance(self.evaluator, Declared) else None
        if value is None:
            return None
        if isinstance(value, str) or not all(isinstance(name, str) for name in value):
            raise ValueError(f"{type(self.evaluator).__name__}.objective_names must be a list of objective names, "
                             f"got {value!r}")
        return tuple(value)

    def prepare(self) -> Any:
        """Let the evaluator check its data and settings, where it does (``None`` otherwise)."""
        return self.evaluator.prepare() if isinstance(self.evaluator, Preparable) else None

    def start(self) -> None:
        """Start the evaluator's workers, where it has any."""
        if isinstance(self.evaluator, Startable):
            self.evaluator.start()

    def close(self) -> None:
        """Release the evaluator's workers, where it has any."""
        if isinstance(self.evaluator, Closable):
            self.evaluator.close()

    def submit(self, candidate: Candidate) -> None:
        """Start one candidate (asynchronous evaluators only)."""
        self._asynchronous().submit(candidate)

    def next_completed(self) -> Evaluation:
        """The next finished candidate (asynchronous evaluators only)."""
        return self._asynchronous().next_completed()

    def cancel(self) -> None:
        """Drop what is in flight (a no-op for an evaluator that runs batches)."""
        if isinstance(self.evaluator, AsynchronousEvaluator):
            self.evaluator.cancel()

    def _asynchronous(self) -> AsynchronousEvaluator:
        if not isinstance(self.evaluator, AsynchronousEvaluator):
            raise TypeError(f"{type(self.evaluator).__name__} takes no single submissions (submit, next_completed, "
                            "cancel)")
        return self.evaluator
