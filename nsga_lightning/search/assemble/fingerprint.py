"""The run fingerprint: the configuration that affects results, put together from each part's own block.

Every part describes itself: the space (``describe()``, or its name and bounds; see
:func:`nsga_lightning.spaces.space_block`), the operators, the evaluator (``fingerprint()``), the proposer and the
schedule (``describe()``). This module only adds the population settings and the layout version, so a new part
brings its block with it. The canonical JSON's sha256 is the fingerprint the archive stores; a resume with another
configuration is refused. ``n_gens`` is not part of it (a finished run can be extended), nor are the worker count
and the backend (they change no result in the generational mode).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from nsga_lightning.spaces import SearchSpace, space_block

# Version of the fingerprinted configuration's layout: archives of another format are refused with a clear line.
CONFIG_FORMAT = 2


def run_configuration(*, space: SearchSpace, pop_size: int, n_offspring: int, seed: int, objectives: Sequence[str],
                      operators: Mapping[str, Any], evaluator: Mapping[str, Any] | None, window: int | None,
                      proposer: Mapping[str, Any], schedule: Mapping[str, Any]) -> dict[str, Any]:
    """The configuration that affects results (its hash is the run fingerprint).

    Args:
        space: the search space (its block: :func:`~nsga_lightning.spaces.space_block`).
        pop_size, n_offspring, seed, objectives: the population settings.
        operators: the operators' block (``NSGANetOperators.describe()``).
        evaluator: the evaluator's fingerprint (``None`` for one that defines none).
        window: children in flight of the asynchronous steady state, ``None`` in the generational mode.
        proposer: the proposer's block (``Proposer.describe()``: empty for plain mating).
        schedule: the schedule's block (``Schedule.describe()``: empty for one batch).
    """
    return {
        "format": CONFIG_FORMAT,
        "space": space_block(space),
        "pop_size": int(pop_size),
        "n_offspring": int(n_offspring),
        "seed": int(seed),
        "objectives": list(objectives),
        "operators": dict(operators),
        "evaluator": None if evaluator is None else dict(evaluator),
    } | ({"asynchronous": {"in_flight": window}} if window else {}) | dict(proposer) | dict(schedule)
