"""The searched objectives: any names the evaluator returns, checked against what it declares before anything runs.

An evaluator declares the objective names it returns in an ``objective_names`` attribute (the trainer evaluator:
``error``, ``madds``, ``params``; ``FunctionEvaluator(..., objectives=[...])``). One that declares none is taken to
return the trainer evaluator's three, as every evaluator did before objectives were open. All objectives are
minimised: return the negative of a quantity to maximise (e.g. ``-accuracy``).
"""

from __future__ import annotations

from collections.abc import Sequence

from nsga_lightning.search.core.evaluator import OBJECTIVES


def check_objectives(objectives: Sequence[str], declared: Sequence[str] | None) -> tuple[str, ...]:
    """The searched objective names, checked.

    Args:
        objectives: the names to search (2 or 3, distinct).
        declared: the names the evaluator returns; ``None``: it declares none (then :data:`OBJECTIVES`).

    Returns:
        The names as a tuple.

    Raises:
        ValueError: one line naming what is wrong and the names the evaluator returns.
    """
    if isinstance(objectives, str):
        raise ValueError(f"objectives is a list of 2 or 3 names, got the string {objectives!r}")
    names = tuple(objectives)
    if any(not isinstance(name, str) or not name for name in names):
        raise ValueError(f"objectives are names (strings), got {list(names)}")
    if len(set(names)) != len(names) or not 2 <= len(names) <= 3:
        raise ValueError(f"objectives must be 2 or 3 distinct names, got {list(names)}")
    returned = tuple(OBJECTIVES if declared is None else declared)
    unknown = [name for name in names if name not in returned]
    if unknown:
        source = ("an evaluator that declares no objectives returns error, madds and params; declare the names "
                  "yours returns (an objective_names attribute, FunctionEvaluator(..., objectives=[...]))"
                  if declared is None else f"the evaluator returns {', '.join(returned)}")
        raise ValueError(f"objective {unknown[0]!r} is not one the evaluator returns: {source}")
    return names
