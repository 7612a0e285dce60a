"""The evaluation interface: candidates in, one result per candidate out.

An evaluator receives a batch of :class:`Candidate` (new architectures only; the runner answers known keys
from the archive) and yields one :class:`Evaluation` per candidate, as soon as each finishes, so the runner
can commit it at once. A sequential evaluator yields in order; a parallel backend may yield in any order.

Failure contract:
    * An evaluator should catch per-candidate errors itself and yield ``Evaluation.failed(...)``;
      :func:`safe_evaluate` does that (and the timing) for a plain function.
    * As a safety net, if the iterator raises an ``Exception``, the runner records the first still-unanswered
      candidate as failed with the traceback and resubmits the rest.
    * ``KeyboardInterrupt`` is never turned into a failure: it propagates and stops the search cleanly; so does
      a :class:`~nsga_lightning.errors.UserError` (the environment would fail every candidate, e.g. a worker
      process cannot start, or the archive cannot be written).
    * Missing or non-finite objective values make a result failed (:func:`check_evaluation`).
"""

from __future__ import annotations

import functools
import hashlib
import math
import time
import traceback
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol, runtime_checkable

from nsga_lightning.errors import UserError

OBJECTIVES: tuple[str, ...] = ("error", "madds", "params")
STATUSES: tuple[str, ...] = ("ok", "failed")
MAX_ERROR_TEXT = 8000


def derive_seed(run_seed: int, key: str) -> int:
    """Per-candidate seed in ``0 .. 2**31 - 1``: a hash of the run seed and the canonical key.

    The same architecture in the same run always trains with the same seed, whatever the order of evaluation.
    """
    digest = hashlib.sha256(f"{int(run_seed)}:{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % (2**31)


@dataclass(frozen=True)
class Candidate:
    """One architecture to evaluate.

    Attributes:
        key: canonical key (``space.key(genome)``); equivalent genomes share it.
        genome: the integer genome.
        generation: the generation that asked for it (0 = initial population).
        seed: per-candidate seed from :func:`derive_seed` (use it to seed training).
        genotype: ``space.decode(genome)``, for evaluators that build networks.
        epochs: multi-fidelity rungs (``search.fidelity``): train to this many epochs of the full schedule,
            continuing from the candidate's rung checkpoint where one exists; ``None``: the full training. An
            evaluator of your own returns its ``error`` objective as reached after ``epochs`` (the rungs rank by
            it); a promoted child is asked again, same key, at the next rung's epochs (continue from your own saved
            state, or train again from the candidate's seed).
    """

    key: str
    genome: list[int]
    generation: int
    seed: int
    genotype: Any = field(default=None, compare=False)
    epochs: int | None = None


@dataclass(frozen=True)
class Evaluation:
    """The result of evaluating one candidate.

    Attributes:
        key: the candidate's key.
        status: ``"ok"`` or ``"failed"`` (failed = infeasible: it never dominates and ranks last).
        objectives: e.g. ``{"error": 5.3, "madds": 310_000_000, "params": 2_100_000}``; error in percent,
            MAdds as multiply-accumulates. Extra numeric entries are stored too. Empty when failed.
        seconds: wall time of the evaluation.
        error_text: why it failed (exception text or traceback); ``None`` when ok.
    """

    key: str
    status: str
    objectives: dict[str, float] = field(default_factory=dict)
    seconds: float = 0.0
    error_text: str | None = None

    @classmethod
    def ok(cls, key: str, objectives: Mapping[str, float], seconds: float = 0.0) -> Evaluation:
        """A successful result."""
        return cls(key, "ok", dict(objectives), float(seconds), None)

    @classmethod
    def failed(cls, key: str, error_text: str, seconds: float = 0.0) -> Evaluation:
        """A failed result; ``error_text`` is kept (truncated to its last 8000 characters)."""
        return cls(key, "failed", {}, float(seconds), str(error_text)[-MAX_ERROR_TEXT:])

    @property
    def is_ok(self) -> bool:
        """Whether the evaluation succeeded."""
        return self.status == "ok"


@runtime_checkable
class Evaluator(Protocol):
    """Evaluates a batch of candidates, yielding one :class:`Evaluation` per candidate as each finishes.

    Optionally an evaluator defines ``fingerprint() -> Mapping[str, Any]``: the JSON-serialisable settings
    that change its results (epochs, data, model options). The runner folds it into the run's configuration
    fingerprint, so a run directory cannot be resumed with different training settings. An ``objective_names``
    attribute names the objectives it returns (searched objectives are checked against it before anything runs;
    without it: ``error``, ``madds``, ``params``). With rungs (``search.fidelity``) a candidate's ``epochs`` says
    how far to train it (see :class:`Candidate`).
    """

    def evaluate(self, candidates: list[Candidate]) -> Iterable[Evaluation]: ...


def check_evaluation(evaluation: Evaluation, required: Iterable[str]) -> Evaluation:
    """Return ``evaluation``, turned into a failure if an ``ok`` result lacks a required objective or holds a
    value that is not a finite number (NaN and infinity included).
    """
    if evaluation.status not in STATUSES:
        return Evaluation.failed(
            evaluation.key,
            f"unknown status {evaluation.status!r}; allowed: {', '.join(STATUSES)}",
            evaluation.seconds,
        )
    if not evaluation.is_ok:
        return replace(
            evaluation, objectives={}, error_text=evaluation.error_text or "failed (no error text)"
        )
    missing = [name for name in required if name not in evaluation.objectives]
    if missing:
        return Evaluation.failed(
            evaluation.key,
            f"evaluator returned no value for objective(s) {missing}; got {sorted(evaluation.objectives)}",
            evaluation.seconds,
        )
    values = {}
    for name, value in evaluation.objectives.items():
        try:
            values[str(name)] = _number(value)
        except TypeError:
            values[str(name)] = math.nan
        if not math.isfinite(values[str(name)]):
            return Evaluation.failed(
                evaluation.key, f"objective {name!r} is not a finite number: {value!r}", evaluation.seconds
            )
    return replace(evaluation, objectives=values)


def safe_evaluate(function: Callable[[Candidate], Mapping[str, float]], candidate: Candidate) -> Evaluation:
    """Run ``function(candidate) -> objectives`` with timing; an ``Exception`` becomes a failed result
    carrying its traceback. ``KeyboardInterrupt`` (and other non-``Exception`` signals) propagate.
    """
    start = time.perf_counter()
    try:
        objectives = function(candidate)
    except Exception:  # noqa: BLE001 - any error of one candidate is that candidate's failure
        return Evaluation.failed(candidate.key, traceback.format_exc(), time.perf_counter() - start)
    try:
        values = {str(k): _number(v) for k, v in dict(objectives).items()}
    except (TypeError, ValueError) as exc:
        return Evaluation.failed(
            candidate.key, f"bad objectives {objectives!r}: {exc}", time.perf_counter() - start
        )
    return Evaluation.ok(candidate.key, values, time.perf_counter() - start)


def _number(value: Any) -> float | int:
    """Plain Python int/float from numpy scalars or 0-d tensors (ints stay ints)."""
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{value!r} is not a number")
    return value


def _count_each(function: Callable[[Candidate], Mapping[str, float]],
                candidates: Sequence[Candidate]) -> list[dict[str, float]]:
    """``function`` of each candidate, as plain floats."""
    return [{str(k): float(v) for k, v in dict(function(c)).items()} for c in candidates]


class FunctionEvaluator:
    """Evaluate candidates one after another with a plain function ``candidate -> objectives``.

    For several workers (``search.workers``) it travels to each worker process as a pickled copy: give a
    module-level function (a lambda or a local function cannot be pickled).

    Args:
        function: returns a mapping of objective values, e.g. ``{"error": ..., "madds": ..., "params": ...}``.
        fingerprint: JSON-serialisable settings that change the function's results (see :class:`Evaluator`).
        objectives: the names the function returns (the search may minimise any 2 or 3 of them); ``None``:
            ``error``, ``madds`` and ``params``.
        complexity: ``candidate -> {name: value}`` for every searched objective but ``error``, exactly and without
            training (what ``search.surrogate``'s inner search ranks its thousands of candidates by); ``None``: the
            evaluator has no such count and the surrogate is refused. Module-level for several workers, as
            ``function``.
    """

    def __init__(
        self,
        function: Callable[[Candidate], Mapping[str, float]],
        fingerprint: Mapping[str, Any] | None = None,
        objectives: Sequence[str] | None = None,
        complexity: Callable[[Candidate], Mapping[str, float]] | None = None,
    ) -> None:
        self.function = function
        self._fingerprint = dict(fingerprint) if fingerprint is not None else {}
        self.objective_names = tuple(objectives) if objectives is not None else None
        # the surrogate reads ``complexity(candidates)`` as an attribute that is None without a count
        self.complexity = None if complexity is None else functools.partial(_count_each, complexity)

    def fingerprint(self) -> dict[str, Any]:
        """The settings given at construction."""
        return dict(self._fingerprint)

    def evaluate(self, candidates: list[Candidate]) -> Iterator[Evaluation]:
        """Yield one result per candidate, in order."""
        for candidate in candidates:
            yield safe_evaluate(self.function, candidate)


def evaluate_all(
    evaluator: Evaluator, candidates: Sequence[Candidate], objectives: Iterable[str]
) -> Iterator[tuple[Candidate, Evaluation]]:
    """Yield ``(candidate, checked evaluation)`` once for every candidate, as results arrive.

    If the evaluator raises an ``Exception`` (while starting or mid-batch), the first unanswered candidate is
    recorded as failed with the traceback and the rest are resubmitted; candidates it never answers fail.
    ``KeyboardInterrupt`` propagates.

    Raises:
        RuntimeError: if the evaluator answers a key that was not asked for or was already answered.
    """
    required = tuple(objectives)
    pending = {c.key: c for c in candidates}
    while pending:
        start = time.perf_counter()
        try:
            iterator = iter(evaluator.evaluate(list(pending.values())))
        except UserError:  # the environment fails every candidate (e.g. a worker cannot start): stop
            raise
        except Exception:  # noqa: BLE001 - the evaluator could not even start: fail the first candidate
            yield _crashed(pending, start)
            continue
        while pending:
            try:
                evaluation = next(iterator)
            except StopIteration:
                for key in list(pending):
                    yield pending.pop(key), Evaluation.failed(key, "the evaluator returned no result for it")
                break
            except UserError:
                raise
            except Exception:  # noqa: BLE001 - a crash inside the batch: fail one, resubmit the rest
                yield _crashed(pending, start)
                break
            candidate = pending.pop(evaluation.key, None)
            if candidate is None:
                raise RuntimeError(
                    f"the evaluator returned a result for {evaluation.key!r}, which was not asked for or was "
                    "already answered"
                )
            yield candidate, check_evaluation(evaluation, required)
            start = time.perf_counter()


def _crashed(pending: dict[str, Candidate], start: float) -> tuple[Candidate, Evaluation]:
    key = next(iter(pending))
    return pending.pop(key), Evaluation.failed(key, traceback.format_exc(), time.perf_counter() - start)
