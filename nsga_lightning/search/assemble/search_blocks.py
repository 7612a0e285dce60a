"""The sub-blocks of the ``search`` block (``search.fidelity``, ``search.prescreen``, ``search.surrogate``): plain
settings as YAML gives them, each a dataclass; :data:`SEARCH_BLOCKS` names the field of ``SearchSettings`` that holds
each, so that a plain mapping there becomes its settings object in one place. A new sub-block is one dataclass here
and one entry in :data:`SEARCH_BLOCKS`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

__all__ = ["SEARCH_BLOCKS", "BudgetSettings", "FidelitySettings", "PrescreenSettings", "StopWhenSettings",
           "SurrogateSettings"]


@dataclass
class FidelitySettings:
    """The ``search.fidelity`` block: successive halving over epochs within each generation.

    Args:
        rungs: epochs of each rung, increasing, the last equal to ``trainer.max_epochs`` (e.g. ``[1, 3, 9]``);
            empty (default) or ``[max_epochs]``: every child trains fully.
        keep: share of a rung's children promoted to the next rung, in (0, 1) (default 1/3).
        eta: reduction factor instead of ``keep`` (``keep = 1 / eta``).
        asynchronous: with several workers, promote as results arrive (MO-ASHA) instead of waiting at each rung
            for all children; faster, but the promotions then depend on the order of completion.
    """

    rungs: list[int] = field(default_factory=list)
    keep: float | None = None
    eta: float | None = None
    asynchronous: bool = False


@dataclass
class PrescreenSettings:
    """The ``search.prescreen`` block: zero-cost pre-screening of mated children (``search/prescreen.py``).

    Args:
        score: ``none`` (off), ``synflow`` or ``naswot`` (scores of the untrained network on one fixed batch).
        factor: children mated and scored per child trained (e.g. 4: 80 scored, the best 20 trained).
    """

    score: Literal["none", "synflow", "naswot"] = "none"
    factor: int = 4


@dataclass
class SurrogateSettings:
    """The ``search.surrogate`` block: surrogate-assisted proposals, NSGANetV2's loop (``proposers/surrogate.py``).

    Args:
        model: ``default`` (``gp`` where the search's modes and its evaluator allow a surrogate: generational,
            no exploitation or pre-screen, ``error`` among the objectives, a complexity count without training;
            else off, said in one line), ``none`` (off), ``rbf`` (cubic RBF with a linear tail), ``gp`` (Gaussian
            process), ``trees`` (extremely randomised trees), ``mlp`` (small MLP), ``auto`` (rbf, gp and trees
            weighted by their k-fold Kendall tau, mean minus std, where positive) or ``ensemble`` (their mean).
        start: the first generation the surrogate proposes for (earlier ones mate as usual).
        inner_pop: population of the inner NSGA-II on predicted error and exact complexity.
        inner_gens: its generations.
        selection: ``hv_gain`` (greedy predicted hypervolume gain) or ``spread`` (even along the complexity
            axis, NSGANetV2's rule).
        explore: predicted error ``mean - explore x std`` (models with a std: gp, trees); 0: the mean.
        mated_share: guard rail: this share of every surrogate generation's children comes from plain mating.
        min_trained: guard rail, the initial design: the surrogate proposes only once this many architectures
            trained fully (earlier generations mate; default 20).
        min_tau: guard rail: after a surrogate generation whose predictions ranked its children with a Kendall
            tau below this, one generation mates; ``null``: never.
    """

    model: Literal["default", "none", "rbf", "gp", "trees", "mlp", "auto", "ensemble"] = "default"
    start: int = 1
    inner_pop: int = 40
    inner_gens: int = 20
    selection: Literal["hv_gain", "spread"] = "hv_gain"
    explore: float = 1.0
    mated_share: float = 0.0
    min_trained: int = 20
    min_tau: float | None = None


@dataclass
class BudgetSettings:
    """The ``search.budget`` block: end the search when the first of these is spent, all sessions together
    (``recording/run_control.py``); unset ones do not limit it.

    Args:
        hours: wall-clock hours of the search (not deterministic; where it stopped is recorded).
        evaluations: architectures trained (exact: a generation is cut to what is left, in candidate order).
        epochs: training epochs of the candidates (exact, as evaluations).
        hard: stop at once when the hours are spent, instead of after the generation in flight.
    """

    hours: float | None = None
    evaluations: int | None = None
    epochs: int | None = None
    hard: bool = False


@dataclass
class StopWhenSettings:
    """The ``search.stop_when`` block: end the search once its front stops moving.

    Args:
        hv_gain_below: stop when the normalised hypervolume of the front (in [0, 1], fixed reference point) gained
            less than this over the last ``generations`` generations; null: off.
        generations: that window.
    """

    hv_gain_below: float | None = None
    generations: int = 5


# the SearchSettings field of each sub-block and its settings class
SEARCH_BLOCKS: dict[str, type] = {"fidelity": FidelitySettings, "prescreen": PrescreenSettings,
                                  "surrogate": SurrogateSettings, "budget": BudgetSettings,
                                  "stop_when": StopWhenSettings}
