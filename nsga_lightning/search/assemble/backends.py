"""Where candidates are evaluated: in this process, in local worker processes (one, for an isolated single-worker
search, or several) or in Ray tasks, for the trainer evaluator (workers rebuild it from the plain settings) and for
your own evaluator (workers get a pickled copy); see ``assemble/isolation.py``."""

from __future__ import annotations

import pickle
from typing import Any

from nsga_lightning.search.assemble.isolation import isolated, timeout_of
from nsga_lightning.search.assemble.resources import candidate_resources, local_plan
from nsga_lightning.search.assemble.settings import SearchConfig
from nsga_lightning.search.core.evaluator import Evaluator
from nsga_lightning.search.execution.factory import CopyFactory, EvaluatorFactory, OwnEvaluator


def backend_evaluator(config: SearchConfig, factory: EvaluatorFactory, local: Any, own: bool = False) -> Evaluator:
    """The evaluator ``search.backend``, ``search.workers`` and ``search.isolation`` ask for: ``local`` itself (one
    local worker, not isolated), local worker processes, or Ray tasks; the process-based ones build each worker's
    evaluator with ``factory``, keep ``local`` for the fingerprint and the checks, and stop a candidate at
    ``search.candidate_timeout``.

    Raises:
        ValueError: for resources this machine cannot give (more GPUs than exist, oversubscribed cores), or
            ``backend: ray`` without Ray installed.
    """
    search = config.search
    if search.backend == "ray":
        from nsga_lightning.search.execution.ray_backend import RayEvaluator

        return RayEvaluator(factory, local, candidate_resources(config), search.workers, search.ray_address,
                            timeout=timeout_of(config))
    if not isolated(config, own):
        return local
    from nsga_lightning.search.execution.local_pool import LocalPoolEvaluator

    return LocalPoolEvaluator(factory, local_plan(config, search.workers), local, timeout=timeout_of(config))


def own_evaluator(config: SearchConfig, evaluator: Evaluator) -> Evaluator:
    """Your own evaluator where the settings run it: as it is with one local worker (unless ``search.isolation:
    process``), else each worker process or Ray task gets a pickled copy
    (:class:`~nsga_lightning.search.execution.factory.CopyFactory`).

    Raises:
        ValueError: one line if several workers are asked for and the evaluator cannot be pickled (a lambda, a local
            function, an open file), or for resources this machine cannot give.
    """
    search = config.search
    if not isolated(config, own_evaluator=True):
        return evaluator
    try:
        pickle.dumps(evaluator)
    except (pickle.PicklingError, AttributeError, TypeError) as error:
        where = (f"search.workers {search.workers} ({search.backend})" if search.workers > 1 or search.backend != "local"
                 else "search.isolation process")
        fix = "use workers: 1" if where.startswith("search.workers") else "use isolation: auto"
        raise ValueError(f"{where} sends a copy of your evaluator to every worker, but it cannot be pickled "
                         f"({' '.join(str(error).split())}): define its function or class at module level, or "
                         f"{fix}") from None
    return backend_evaluator(config, CopyFactory(evaluator), OwnEvaluator(evaluator), own=True)
