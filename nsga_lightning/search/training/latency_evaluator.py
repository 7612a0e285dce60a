"""The trainer evaluator with a ``latency`` objective: milliseconds of one forward pass on a stated target.

:class:`LatencyTrainerEvaluator` is the trainer evaluator when ``latency`` is searched or limited (the config path
picks it; without latency the plain :class:`TrainerEvaluator` runs, so nothing else changes). Which network: the one
the Pareto configs retrain (``network: retrain``, default: what is deployed) or the searched proxy, built for the
data's image size and channels, in eval mode (no auxiliary head, no drop path), at ``batch_size`` images.

* ``predicted`` (default): the calibrated sum of the per-layer lookup table (``nsga_lightning.latency``), computed
  from the genotype without building the network, in training as in ``complexity`` (the surrogate's inner search and
  the limits checked before training). Deterministic: the predictor's snapshot (table entries and calibration) is
  stored in the run directory (``RunDirectory.latency_snapshot``) and its hash is in the run fingerprint, so a resume
  and every worker predict with the same numbers whatever the cache holds later.
* ``measured``: after training, the network is measured with the robust protocol, paired with the run's reference
  network (``latency``, its spread ``latency_spread`` and the prediction ``latency_predicted`` are stored in the
  row). Not deterministic: a resume replays the stored values and never measures again; ``complexity`` and the
  limits checked before training still use the prediction.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from nsga_lightning.latency import LatencyPredictor, LatencyTable, NetworkSpec, Protocol, Target
from nsga_lightning.latency.predictor import NETWORK_OPTIONS
from nsga_lightning.module import ArchitectureModule
from nsga_lightning.nn import resolve_stem
from nsga_lightning.search.core.evaluator import OBJECTIVES, Candidate
from nsga_lightning.search.core.options import defaults
from nsga_lightning.search.training.defaults import SEARCH_SETS
from nsga_lightning.search.training.trainer_evaluator import TrainerEvaluator

log = logging.getLogger(__name__)

LATENCY_MODES = ("predicted", "measured")
LATENCY_NETWORKS = ("retrain", "proxy")


@dataclass(frozen=True)
class LatencyOptions:
    """The checked ``search.latency`` block, with the network it is about.

    Attributes:
        mode: ``predicted`` or ``measured``.
        target: where it is measured.
        protocol: how it is measured.
        network: ``retrain`` or ``proxy`` (named in the fingerprint).
        space: ``micro`` or ``macro``.
        size: the space's blocks per cell or nodes per phase.
        model: the network's ArchitectureModule options (the retrain recipe's or the proxy's model block; the
            input comes from the data).
        calibration: networks the table is calibrated on.
        held_out: networks the prediction is judged on.
        cache_dir: the lookup tables' folder (``None``: the default).
    """

    mode: str
    target: Target
    protocol: Protocol
    network: str
    space: str
    size: int
    model: Mapping[str, Any] = field(default_factory=dict)
    calibration: int = 20
    held_out: int = 10
    cache_dir: str | None = None

    def describe(self) -> dict[str, Any]:
        """The settings that change results (the fingerprint adds the table's hash)."""
        target = {"kind": self.target.kind, "threads": self.target.threads, "batch_size": self.target.batch_size,
                  "clock": self.target.clock}
        return {"mode": self.mode, "network": self.network, "target": target, "protocol": self.protocol.describe(),
                "calibration": self.calibration, "held_out": self.held_out}


def make_latency(block: Any, space: str, size: int, model: Mapping[str, Any]) -> LatencyOptions:
    """Check a ``search.latency`` block (:class:`~nsga_lightning.search.assemble.search_blocks.LatencySettings`).

    Args:
        block: the block.
        space: the search space's name (a space of your own has no latency here).
        size: its blocks per cell or nodes per phase.
        model: the options of the network ``block.network`` names.

    Raises:
        ValueError: one line naming the bad setting and what is allowed.
    """
    if block.mode not in LATENCY_MODES:
        raise ValueError(f"unknown search.latency.mode {block.mode!r}; allowed: {', '.join(LATENCY_MODES)}")
    if block.network not in LATENCY_NETWORKS:
        raise ValueError(f"unknown search.latency.network {block.network!r}; allowed: {', '.join(LATENCY_NETWORKS)}")
    if space not in ("micro", "macro"):
        raise ValueError("the latency objective is computed for the micro and macro spaces; a space of your own "
                         "returns its latency from your own evaluator (FunctionEvaluator(..., objectives=[..., "
                         "'latency']))")
    for name in ("calibration", "held_out"):
        value = getattr(block, name)
        if isinstance(value, bool) or not isinstance(value, int) or value < 2:
            raise ValueError(f"search.latency.{name} must be an integer >= 2 (networks), got {value!r}")
    try:
        target = Target(block.target, block.threads, block.batch_size, block.clock)
        protocol = Protocol(**dict(block.protocol or {}))
    except TypeError as error:
        raise ValueError(f"search.latency.protocol: {error}; allowed: {', '.join(Protocol.__dataclass_fields__)}"
                         ) from None
    return LatencyOptions(block.mode, target, protocol, block.network, space, size, dict(model), block.calibration,
                          block.held_out, block.cache_dir)


class LatencyTrainerEvaluator(TrainerEvaluator):
    """The trainer evaluator (every argument of :class:`TrainerEvaluator`) that also returns ``latency`` in
    milliseconds (see the module docstring).

    Args:
        *args: :class:`TrainerEvaluator`'s arguments.
        latency: the checked ``search.latency`` settings.
        **kwargs: :class:`TrainerEvaluator`'s keyword arguments.
    """

    objective_names = (*OBJECTIVES, "latency")

    def __init__(self, *args: Any, latency: LatencyOptions, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.latency = latency
        self.predictor: LatencyPredictor | None = None

    def spec(self) -> NetworkSpec:
        """The networks whose latency is reported: the latency network's options on the data's input."""
        num_classes = TrainerEvaluator.prepare(self)
        inputs = self._data_options()
        options = {**defaults(ArchitectureModule, skip=SEARCH_SETS), **self.latency.model}
        options = {k: v for k, v in options.items() if k in NETWORK_OPTIONS}
        options.update(inputs, num_classes=num_classes,
                       stem=resolve_stem(options.get("stem", "auto"), inputs["image_size"]))
        return NetworkSpec(self.latency.space, self.latency.size, options)

    def _predictor(self) -> LatencyPredictor:
        """The run's snapshot where it matches these settings, else the cached table (measured where it lacks)."""
        if self.predictor is None:
            spec = self.spec()
            stored = self._stored_snapshot()
            wanted = (spec.describe(), self.latency.describe()["target"], self.latency.protocol.describe())
            if stored is not None and (stored["spec"], stored["settings"], stored["protocol"]) == wanted:
                self.predictor = LatencyPredictor.from_snapshot(stored)
            else:
                table = LatencyTable.cached(self.latency.target, self.latency.protocol, self.latency.cache_dir)
                self.predictor = LatencyPredictor.build(spec, self.latency.target, self.latency.protocol, table,
                                                        self.latency.calibration, self.latency.held_out)
        return self.predictor

    def _stored_snapshot(self) -> dict[str, Any] | None:
        path = self.run_directory.latency_snapshot if self.run_directory is not None else None
        if path is None or not path.is_file():
            return None
        try:
            return json.loads(path.read_text())
        except ValueError:
            raise ValueError(f"the run's latency snapshot {path} cannot be read; restore it, or delete it and the "
                             "archive to start the run anew") from None

    def write_snapshot(self) -> None:
        """Store the predictor's snapshot in the run directory (once; the search builder calls it as soon as the
        run directory exists, before any candidate trains)."""
        path = self.run_directory.latency_snapshot if self.run_directory is not None else None
        if path is not None and not path.is_file():
            path.write_text(json.dumps(self._predictor().snapshot(), sort_keys=True, indent=1))

    def prepare(self) -> int:
        """:meth:`TrainerEvaluator.prepare`, then the latency predictor (the table measured where the cache lacks
        it: minutes, once per target)."""
        num_classes = super().prepare()
        if self.predictor is None:
            self.latency.target.check_available()
            self._predictor()
        return num_classes

    def fingerprint(self) -> dict[str, Any]:
        """:meth:`TrainerEvaluator.fingerprint` with the ``latency`` block: its settings, the network's options
        and the hash of the predictor's snapshot."""
        predictor = self._predictor()
        return {**super().fingerprint(), "latency": {**self.latency.describe(), "spec": predictor.spec.describe(),
                                                     "table": predictor.digest()}}

    def runtime(self) -> dict[str, Any]:
        """:meth:`TrainerEvaluator.runtime`; measured latency adds the machine it is measured on (a resume elsewhere
        warns)."""
        found = super().runtime()
        if self.latency.mode == "measured":
            found["latency_target"] = self.latency.target.identity()
        return found

    def _train_one(self, candidate: Candidate, num_classes: int) -> dict[str, float]:
        return {**super()._train_one(candidate, num_classes), **self.latency_of(candidate)}

    def predicted_latency(self, candidate: Candidate) -> float:
        """The candidate's predicted milliseconds (the table's calibrated sum; no network is built)."""
        genotype = candidate.genotype if candidate.genotype is not None else list(candidate.genome)
        return self._predictor().predict(genotype)

    def latency_of(self, candidate: Candidate) -> dict[str, float]:
        """The candidate's latency objective (and, measured, its spread and prediction)."""
        predicted = self.predicted_latency(candidate)
        if self.latency.mode == "predicted":
            return {"latency": predicted}
        genotype = candidate.genotype if candidate.genotype is not None else list(candidate.genome)
        measured = self._predictor().measure(genotype)
        return {"latency": measured.ms, "latency_spread": measured.spread, "latency_predicted": predicted}

    def complexity(self, candidates: Sequence[Candidate]) -> list[dict[str, float]]:
        """:meth:`TrainerEvaluator.complexity` with the predicted latency (also in ``measured`` mode)."""
        counted = super().complexity(candidates)
        for values, candidate in zip(counted, candidates):
            values["latency"] = self.predicted_latency(candidate)
        return counted
