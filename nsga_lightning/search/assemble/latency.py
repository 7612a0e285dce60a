"""The latency settings of a search config: the checked ``search.latency`` block, when ``latency`` is searched or
limited (kept apart from ``modes.py``, which the runner imports, because it loads the trainer evaluator)."""

from __future__ import annotations

from nsga_lightning.search.assemble.settings import SearchConfig
from nsga_lightning.search.training.latency_evaluator import LatencyOptions, make_latency


def latency_of(config: SearchConfig) -> LatencyOptions | None:
    """The checked ``search.latency`` block when ``latency`` is searched or limited, with the options of the network
    it is about (``retrain.model`` or the proxy's ``model``); ``None`` otherwise (the plain trainer evaluator runs).

    Raises:
        ValueError: one line for a bad setting, or latency asked of a space of your own.
    """
    search = config.search
    if "latency" not in search.objectives and "latency" not in (search.constraints or {}):
        return None
    space = config.space
    name = space.name if space.class_path is None else space.class_path
    model = config.retrain.model if search.latency.network == "retrain" else config.model
    return make_latency(search.latency, name, space.n_blocks if name == "micro" else space.n_nodes, model)
