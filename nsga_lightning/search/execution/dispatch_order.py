"""The order in which a parallel backend starts a batch of candidates: the longest expected training first.

In a generational search every generation waits for its slowest candidate, so a long candidate started last
leaves the other workers idle (the last-job-first tail of list scheduling). Starting the longest expected first
(LPT) shortens that tail. The order never changes results: each candidate trains with its own seed and the
runner tells the algorithm the results in candidate order, whatever the order of completion.

The expected cost is the evaluator's ``cost_hint(candidate)``. On the proxies of a search the training time
follows the network's number of layers, not its multiply-adds (quickstart proxies, 28 candidates: Pearson r
0.70 with the layer count, -0.16 with MAdds), because a small network's step is bound by per-layer overhead.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from nsga_lightning.search.core.evaluator import Candidate, Evaluation

log = logging.getLogger(__name__)


def longest_first(candidates: Sequence[Candidate], cost_hint: Callable[[Candidate], float] | None) -> list[Candidate]:
    """``candidates`` sorted by ``cost_hint`` (largest first; ties keep their order); unchanged without a hint.

    A candidate whose hint cannot be computed goes last (its training, which reports the error, comes anyway).
    """
    if cost_hint is None or len(candidates) < 2:
        return list(candidates)
    hints = []
    for candidate in candidates:
        try:
            hints.append(float(cost_hint(candidate)))
        except Exception as error:  # noqa: BLE001 - only the start order depends on it
            log.debug("no cost hint for %s (%s); it starts last", candidate.key, error)
            hints.append(float("-inf"))
    order = sorted(range(len(candidates)), key=lambda i: -hints[i])  # stable: ties in candidate order
    return [candidates[i] for i in order]


def evaluate_by_submission(backend: Any, candidates: Sequence[Candidate],
                           cost_hint: Callable[[Candidate], float] | None) -> Iterator[Evaluation]:
    """``evaluate`` of a backend that takes candidates one at a time (``submit``, ``outstanding``,
    ``next_completed``, ``cancel``): submit the longest expected first, yield each result as it arrives (any
    order); a stopped evaluation (Ctrl-C, an error in the driver) cancels what is in flight."""
    for candidate in longest_first(candidates, cost_hint):
        backend.submit(candidate)
    try:
        while backend.outstanding():
            yield backend.next_completed()
    finally:
        backend.cancel()


def layer_count(module: object) -> int:
    """Number of leaf modules (layers without children) of a ``torch.nn.Module``."""
    return sum(1 for m in module.modules() if next(m.children(), None) is None)  # type: ignore[attr-defined]
