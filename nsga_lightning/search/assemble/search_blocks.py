"""The sub-blocks of the ``search`` block (``search.fidelity``, ``search.prescreen``, ``search.surrogate``,
``search.latency``): plain
settings as YAML gives them, each a dataclass; :data:`SEARCH_BLOCKS` names the field of ``SearchSettings`` that holds
each, so that a plain mapping there becomes its settings object in one place. A new sub-block is one dataclass here
and one entry in :data:`SEARCH_BLOCKS`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = ["SEARCH_BLOCKS", "BudgetSettings", "FidelitySettings", "LatencySettings", "PrescreenSettings",
           "StopWhenSettings", "SurrogateSettings"]


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
class LatencySettings:
    """The ``search.latency`` block: how the trainer evaluator's ``latency`` objective (milliseconds of one forward
    pass) is got, when it is searched or limited (``search/training/latency_evaluator.py``; README, "Search for a
    device").

    Args:
        mode: ``predicted`` (the calibrated per-layer lookup table, without building the network: deterministic)
            or ``measured`` (every candidate's network measured after training: the one objective that is not
            deterministic; limits are still checked before training on the prediction).
        target: ``cpu`` (torch, ``threads`` intra-op threads), ``cuda`` (torch, CUDA events after synchronising) or
            ``onnxruntime`` (an ONNX Runtime CPU session; the ``export`` extra).
        threads: intra-op threads on ``cpu`` and ``onnxruntime``.
        batch_size: images per forward pass (the data's image size and channels).
        clock: ``thread`` (the measuring thread's CPU time; one thread) or ``wall``; ``null``: ``thread`` with one
            thread, else ``wall``.
        network: ``retrain`` (the network the Pareto configs retrain, ``retrain.model``: what is deployed) or
            ``proxy`` (the searched proxy, ``model``).
        calibration: whole networks the table's sums are calibrated on.
        held_out: other networks the prediction is judged on (Kendall tau, relative error).
        cache_dir: the lookup tables' folder (``null``: ``$NSGA_LIGHTNING_CACHE/latency`` or
            ``~/.cache/nsga-lightning/latency``).
        protocol: the measurement protocol's settings (``nsga_lightning.latency.Protocol``: ``warmup_calls``,
            ``warmup_s``, ``min_repeats``, ``max_repeats``, ``threshold``, ``time_cap_s``, ``estimator``
            (``median`` or ``iqm``), ``min_sample_s``).
    """

    mode: Literal["predicted", "measured"] = "predicted"
    target: Literal["cpu", "cuda", "onnxruntime"] = "cpu"
    threads: int = 1
    batch_size: int = 1
    clock: Literal["thread", "wall"] | None = None
    network: Literal["retrain", "proxy"] = "retrain"
    calibration: int = 20
    held_out: int = 10
    cache_dir: str | None = None
    protocol: dict[str, Any] = field(default_factory=dict)


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
                                  "surrogate": SurrogateSettings, "latency": LatencySettings,
                                  "budget": BudgetSettings, "stop_when": StopWhenSettings}
