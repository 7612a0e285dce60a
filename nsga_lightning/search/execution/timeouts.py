"""``search.candidate_timeout``: how long one candidate may run before its process is killed and the candidate is
recorded as failed, and why a candidate's process ended (:func:`death_cause`).

Only a candidate that runs in a process of its own can be stopped (local worker processes, the isolated single
worker, Ray tasks); the backends ask :class:`Deadlines` for each candidate's limit when it starts and tell it every
result. The limit is

* a number of seconds (``3600``, or ``"90s"``, ``"30m"``, ``"2h"``): the same for every candidate;
* ``auto`` (the default): :data:`AUTO_FACTOR` times the slowest candidate that succeeded so far in this session
  (per epoch, times the candidate's epochs, when rungs ask for epochs), at least :data:`AUTO_FLOOR` seconds; before
  any candidate has succeeded, :data:`AUTO_FIRST` seconds. A hang thus costs about ten normal trainings;
* ``null``: no limit.

A timeout is not deterministic (it depends on the machine's speed); the archive keeps the failure, so a resume does
not try the candidate again.
"""

from __future__ import annotations

import re
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass

from nsga_lightning.search.core.evaluator import Candidate, Evaluation

__all__ = ["AUTO_FACTOR", "AUTO_FIRST", "AUTO_FLOOR", "CandidateTimeout", "Deadlines", "death_cause",
           "make_timeout"]

AUTO_FACTOR = 10.0  # auto: this many times the slowest successful candidate
AUTO_FLOOR = 600.0  # auto: never below 10 minutes
AUTO_FIRST = 24 * 3600.0  # auto: before any candidate has succeeded (a CPU CIFAR proxy can take hours)
_UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0}
_DURATION = re.compile(r"\s*(\d+(?:\.\d*)?|\.\d+)\s*([smh]?)\s*")


@dataclass(frozen=True)
class CandidateTimeout:
    """A checked ``search.candidate_timeout``.

    Attributes:
        seconds: the fixed limit, or ``None`` (auto, or no limit).
        auto: whether the limit follows the candidates that succeeded (see the module docstring).
    """

    seconds: float | None = None
    auto: bool = True

    @property
    def enabled(self) -> bool:
        """Whether candidates have a limit at all."""
        return self.auto or self.seconds is not None

    def describe(self) -> str:
        """The setting in words (logs, errors)."""
        if self.auto:
            return "auto"
        return "none" if self.seconds is None else f"{self.seconds:g} s"


def make_timeout(value: float | str | None) -> CandidateTimeout:
    """Check ``search.candidate_timeout``: seconds (a number, or text such as ``90s``, ``30m``, ``2h``), ``auto`` or
    ``None``.

    Raises:
        ValueError: one line naming what is allowed.
    """
    if value is None or (isinstance(value, str) and value.strip().lower() in ("none", "null", "off")):
        return CandidateTimeout(None, auto=False)
    if isinstance(value, str) and value.strip().lower() == "auto":
        return CandidateTimeout(None, auto=True)
    seconds: float | None = None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        seconds = float(value)
    elif isinstance(value, str):
        match = _DURATION.fullmatch(value)
        if match:
            seconds = float(match.group(1)) * _UNITS[match.group(2) or "s"]
    if seconds is None or not seconds > 0 or seconds == float("inf"):
        raise ValueError(f"search.candidate_timeout must be auto, null or a duration > 0 (seconds, or e.g. 90s, 30m, "
                         f"2h), got {value!r}")
    return CandidateTimeout(seconds, auto=False)


class Deadlines:
    """Each running candidate's deadline under a :class:`CandidateTimeout` (one per backend).

    Args:
        timeout: the checked setting.
        clock: seconds of a monotonic clock (tests pass their own).
    """

    def __init__(self, timeout: CandidateTimeout, clock: Callable[[], float] = time.monotonic) -> None:
        self.timeout = timeout
        self.clock = clock
        self._slowest_per_unit: float | None = None  # seconds per epoch (or per candidate) of the slowest success

    def limit(self, candidate: Candidate) -> float | None:
        """Seconds ``candidate`` may run, or ``None`` for no limit."""
        if not self.timeout.auto:
            return self.timeout.seconds
        if self._slowest_per_unit is None:
            return AUTO_FIRST
        return max(AUTO_FLOOR, AUTO_FACTOR * self._slowest_per_unit * _units(candidate))

    def deadline(self, candidate: Candidate) -> float | None:
        """The clock time by which ``candidate``, starting now, must finish; ``None``: never."""
        limit = self.limit(candidate)
        return None if limit is None else self.clock() + limit

    def observe(self, candidate: Candidate, evaluation: Evaluation, seconds: float) -> None:
        """Learn from a finished candidate (``seconds``: its wall time on the backend)."""
        if evaluation.is_ok:
            per_unit = seconds / _units(candidate)
            if self._slowest_per_unit is None or per_unit > self._slowest_per_unit:
                self._slowest_per_unit = per_unit

    def timed_out(self, candidate: Candidate, seconds: float) -> Evaluation:
        """The failed result of a candidate stopped after ``seconds`` (the text names the limit, not the measured
        time, so that runs with a fixed limit store the same text)."""
        limit = self.limit(candidate)
        return Evaluation.failed(candidate.key, f"timed out: not finished within {limit:g} s (search."
                                 f"candidate_timeout {self.timeout.describe()}); its process was killed", seconds)


def _units(candidate: Candidate) -> float:
    """What a candidate's time is measured in: its epochs where rungs ask for them, else one candidate."""
    return float(candidate.epochs) if candidate.epochs else 1.0


def death_cause(exitcode: int | None) -> str:
    """Why a process ended, from its exit code: ``killed by SIGSEGV (signal 11)``, ``exit code 3``."""
    if exitcode is None:
        return "ended without an exit code"
    if exitcode < 0:
        try:
            name = signal.Signals(-exitcode).name
        except ValueError:
            name = "an unknown signal"
        return f"killed by {name} (signal {-exitcode})"
    return f"exit code {exitcode}"
