"""Where candidates run relative to the driver (``search.isolation``) and how long one may run
(``search.candidate_timeout``), checked together.

A candidate that crashes natively (SIGSEGV or SIGABRT inside torch, an out-of-memory kill) takes down the process
it runs in; one that hangs blocks it. Run in a process of its own (a local worker process, or a Ray task), it fails
as that candidate, recorded with the cause, and the search goes on. ``search.isolation``:

* ``auto`` (default): the trainer evaluator's candidates run in a worker process even with ``workers: 1`` (their
  training is native code); your own evaluator (``build_search(config, evaluator=...)``) runs in this process with
  ``workers: 1``, as given (it need not be picklable);
* ``process``: always in worker processes (your own evaluator too: it is pickled for the worker);
* ``none``: in this process with ``workers: 1`` (a native crash or hang then stops the search).

Several workers or the Ray backend always run candidates in processes of their own.
"""

from __future__ import annotations

from nsga_lightning.search.assemble.settings import SearchConfig
from nsga_lightning.search.execution.timeouts import CandidateTimeout, make_timeout

__all__ = ["ISOLATIONS", "check_isolation", "isolated", "timeout_of"]

ISOLATIONS = ("auto", "process", "none")


def isolated(config: SearchConfig, own_evaluator: bool) -> bool:
    """Whether candidates run in processes of their own (see the module docstring)."""
    search = config.search
    if search.workers > 1 or search.backend == "ray":
        return True
    if search.isolation == "auto":
        return not own_evaluator
    return search.isolation == "process"


def timeout_of(config: SearchConfig) -> CandidateTimeout:
    """The checked ``search.candidate_timeout`` (:func:`~nsga_lightning.search.execution.timeouts.make_timeout`)."""
    return make_timeout(config.search.candidate_timeout)


def check_isolation(config: SearchConfig, own_evaluator: bool) -> None:
    """Check ``search.isolation`` and ``search.candidate_timeout`` and how they combine with the workers.

    Raises:
        ValueError: one line for an unknown isolation, a bad timeout, ``none`` with several workers or Ray, or a
            fixed timeout on candidates that run in this process (nothing could stop them).
    """
    search = config.search
    if search.isolation not in ISOLATIONS:
        raise ValueError(f"unknown search.isolation {search.isolation!r}; allowed: {', '.join(ISOLATIONS)}")
    timeout = timeout_of(config)
    if search.isolation == "none" and (search.workers > 1 or search.backend == "ray"):
        raise ValueError(f"search.isolation none runs candidates in this process, which needs workers 1 and the "
                         f"local backend (got workers {search.workers}, backend {search.backend}); several workers "
                         "and Ray always run candidates in processes of their own")
    if timeout.seconds is not None and not isolated(config, own_evaluator):
        raise ValueError(f"search.candidate_timeout {timeout.describe()} stops a candidate by killing its process, "
                         "but these candidates run in the search's own process: set search.isolation: process (or "
                         "candidate_timeout: null)")
