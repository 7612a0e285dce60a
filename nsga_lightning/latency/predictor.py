"""Latency of the networks of one space and network options on one target: predicted from the lookup table without
building them, or measured.

:class:`NetworkSpec` says which networks (space, blocks or nodes, :func:`~nsga_lightning.nn.networks.build_network`
options with the input); :class:`LatencyPredictor` holds the table entries every genotype of the spec can need and
the calibration of their sums against whole networks. :meth:`LatencyPredictor.build` measures what the cached table
lacks (every distinct layer group of the spec, once per target) and calibrates on networks sampled with a fixed seed:
the first is the *reference network*, the next ``fit`` fit the affine map, the last ``held_out`` judge it.
Whole networks are always measured paired with the reference network and reported as their ratio to it times the
reference's milliseconds from the calibration, so measurements taken later (the candidates of a long search) stay on
the scale of the calibration whatever the load of the machine then.

:meth:`LatencyPredictor.snapshot` is everything a prediction reads, as plain data: a search stores it in its run
directory and its hash in the run fingerprint, so a resumed search (and every worker) predicts with exactly the same
numbers, whatever the cache holds by then.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from nsga_lightning.latency.calibration import Calibration, calibrate
from nsga_lightning.latency.layers import Key, network_plan, space_keys
from nsga_lightning.latency.onnx import Logits
from nsga_lightning.latency.protocol import Measurement, Protocol, measure
from nsga_lightning.latency.table import LatencyTable, Measure
from nsga_lightning.latency.targets import Target
from nsga_lightning.nn import build_network, count_complexity
from nsga_lightning.spaces import space_from_block

log = logging.getLogger(__name__)

SNAPSHOT_FORMAT = 1
CALIBRATION_SEED = 0
NETWORKS_PER_CHUNK = 12  # whole networks measured together (with the reference network)
NETWORK_OPTIONS = ("num_classes", "init_channels", "layers", "filter_increment", "se", "auxiliary", "decoder",
                   "channels", "n_nodes", "image_size", "in_channels", "stem")


@dataclass(frozen=True)
class NetworkSpec:
    """The networks whose latency is asked for: a built-in space and the options every network is built with.

    Attributes:
        space: ``micro`` or ``macro``.
        size: the micro space's blocks per cell or the macro space's nodes per phase.
        options: :func:`~nsga_lightning.nn.networks.build_network` keywords (the input's ``image_size``,
            ``in_channels`` and ``num_classes`` included); others are refused.
    """

    space: str
    size: int
    options: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.space not in ("micro", "macro"):
            raise ValueError(f"predicted latency needs a built-in space (micro or macro), got {self.space!r}; "
                             "measure the latency of your own space's networks instead")
        unknown = sorted(set(self.options) - set(NETWORK_OPTIONS))
        if unknown:
            raise ValueError(f"{unknown} are not network options; allowed: {', '.join(NETWORK_OPTIONS)}")
        options = {k: v for k, v in self.options.items() if k != "n_nodes"}
        if self.space == "macro":
            options["n_nodes"] = self.size
        object.__setattr__(self, "options", options)

    def describe(self) -> dict[str, Any]:
        """Plain data (snapshot, fingerprint)."""
        return {"space": self.space, "size": self.size, "options": dict(sorted(self.options.items()))}

    def digest(self) -> str:
        """A short hash of :meth:`describe` (the name of the spec's calibration in a table file)."""
        return hashlib.sha256(json.dumps(self.describe(), sort_keys=True).encode()).hexdigest()[:16]

    def plan(self, genotype: Any) -> list[Key]:
        """The layer groups of ``genotype``'s network."""
        return network_plan(self.space, genotype, **self.options)

    def layer_keys(self) -> set[Key]:
        """Every layer group a genotype of the spec can need."""
        return space_keys(self.space, self.size, self.options)

    def network(self, genotype: Any) -> nn.Module:
        """``genotype``'s network returning logits, in eval mode (no auxiliary head, no drop path)."""
        return Logits(build_network(self.space, genotype, **self.options)).eval()

    def madds(self, genotype: Any) -> int:
        """``genotype``'s MAdds at one image (analytic count)."""
        return count_complexity(self.space, genotype, **self.options).madds

    def genotypes(self, n: int, seed: int = CALIBRATION_SEED) -> list[Any]:
        """``n`` genotypes sampled uniformly from the space with ``seed`` (distinct genomes)."""
        space = space_from_block({"name": self.space, "n_blocks" if self.space == "micro" else "n_nodes": self.size})
        rng, seen, found = np.random.default_rng(seed), set(), []
        while len(found) < n:
            for genome in space.sample(rng, n):
                key = space.key(genome)
                if key not in seen and len(found) < n:
                    seen.add(key)
                    found.append(space.decode(genome))
        return found


class LatencyPredictor:
    """Predicts (and measures) the latency of a spec's networks on a target.

    Args:
        spec: the networks.
        target: the target.
        protocol: the measurement protocol.
        table: a table holding every key of ``spec.layer_keys()``.
        calibration: the calibration of the spec on the target.
        reference_ms: the reference network's milliseconds in the calibration.
    """

    def __init__(self, spec: NetworkSpec, target: Target, protocol: Protocol, table: LatencyTable,
                 calibration: Calibration, reference_ms: float) -> None:
        self.spec, self.target, self.protocol, self.table = spec, target, protocol, table
        self.calibration, self.reference_ms = calibration, float(reference_ms)
        self._reference: nn.Module | None = None

    @classmethod
    def build(cls, spec: NetworkSpec, target: Target, protocol: Protocol | None = None, table: LatencyTable | None = None,
              fit: int = 20, held_out: int = 10, measurer: Measure = measure) -> LatencyPredictor:
        """Complete the table for ``spec`` (measuring what it lacks), calibrate unless the table holds the spec's
        calibration already, save the table and return the predictor.

        Args:
            spec: the networks.
            target: the target (checked: a CUDA device, the export extra).
            protocol: the measurement protocol (``None``: the default one).
            table: the table to use and extend (default: the target's cached table).
            fit: networks the calibration is fitted to (>= 2).
            held_out: networks it is judged on (>= 2).
            measurer: ``measurer(runners, protocol, reference=...)``; tests pass a deterministic one.

        Raises:
            ValueError: for a target this machine lacks, or fewer than 2 fitting or held-out networks.
        """
        if fit < 2 or held_out < 2:
            raise ValueError(f"a latency calibration needs at least 2 fitting and 2 held-out networks, got {fit} and "
                             f"{held_out}")
        target.check_available()
        protocol = protocol if protocol is not None else Protocol()
        table = table if table is not None else LatencyTable.cached(target, protocol)
        table.measure(spec.layer_keys(), measurer)
        stored = table.calibrations.get(spec.digest())
        if stored is None or stored.get("fitted") != fit or stored.get("held_out") != held_out:
            genotypes = spec.genotypes(1 + fit + held_out)
            found = _measure_networks(spec, target, protocol, genotypes, None, measurer)
            reference_ms = found[0].ms
            ms = [m.ms for m in found[1:]]
            sums = [table.by_group(spec.plan(g)) for g in genotypes[1:]]
            calibration = calibrate(sums[:fit], ms[:fit], sums[fit:], ms[fit:],
                                    [spec.madds(g) for g in genotypes[1 + fit:]])
            stored = {**calibration.to_data(), "reference_ms": reference_ms}
            table.calibrations[spec.digest()] = stored
            table.save()
            log.info("latency predictor on %s: Kendall tau %.3f, median relative error %.1f%% on %d held-out networks "
                     "(MAdds: tau %.3f)", target.kind, calibration.kendall_tau, 100 * calibration.median_relative_error,
                     held_out, calibration.madds_kendall_tau)
        data = {k: v for k, v in stored.items() if k != "reference_ms"}
        return cls(spec, target, protocol, table, Calibration.from_data(data), stored["reference_ms"])

    def table_sum(self, genotype: Any) -> float:
        """The sum of the table's milliseconds over ``genotype``'s layer groups."""
        return self.table.total(self.spec.plan(genotype))

    def predict(self, genotype: Any) -> float:
        """The predicted milliseconds of ``genotype``'s network: its table milliseconds by group, calibrated."""
        return self.calibration.apply(self.table.by_group(self.spec.plan(genotype)))

    def measure(self, network: nn.Module | Any, measurer: Measure = measure) -> Measurement:
        """Measure one network paired with the reference network (see the module docstring).

        Args:
            network: a module returning logits (put in eval mode and on the target's device) or a genotype of the
                spec (its network is built).
            measurer: as in :meth:`build`.
        """
        if not isinstance(network, nn.Module):
            network = self.spec.network(network)
        return _measure_networks(self.spec, self.target, self.protocol, [network], self._reference_network(),
                                 measurer, self.reference_ms)[0]

    def _reference_network(self) -> nn.Module:
        if self._reference is None:
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(CALIBRATION_SEED)
                self._reference = self.spec.network(self.spec.genotypes(1)[0])
        return self._reference

    def snapshot(self) -> dict[str, Any]:
        """Everything a prediction reads, as plain data."""
        return {"format": SNAPSHOT_FORMAT, "spec": self.spec.describe(), "target": self.target.identity(),
                "settings": {"kind": self.target.kind, "threads": self.target.threads,
                             "batch_size": self.target.batch_size, "clock": self.target.clock},
                "protocol": self.protocol.describe(), "entries": self.table.subset(self.spec.layer_keys()),
                "calibration": self.calibration.to_data(), "reference_ms": self.reference_ms}

    @classmethod
    def from_snapshot(cls, data: Mapping[str, Any]) -> LatencyPredictor:
        """A predictor from :meth:`snapshot`'s data (nothing is measured or read from the cache).

        Raises:
            ValueError: for data of another format.
        """
        if data.get("format") != SNAPSHOT_FORMAT:
            raise ValueError(f"latency snapshot format {data.get('format')!r} is not {SNAPSHOT_FORMAT}")
        spec = NetworkSpec(data["spec"]["space"], data["spec"]["size"], data["spec"]["options"])
        target, protocol = Target(**data["settings"]), Protocol(**data["protocol"])
        table = LatencyTable(target, protocol, None, data["entries"])
        return cls(spec, target, protocol, table, Calibration.from_data(data["calibration"]), data["reference_ms"])

    def digest(self) -> str:
        """sha256 of the snapshot's canonical JSON."""
        text = json.dumps(self.snapshot(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()


def _measure_networks(spec: NetworkSpec, target: Target, protocol: Protocol, networks: Sequence[Any],
                      reference: nn.Module | None, measurer: Measure,
                      reference_ms: float | None = None) -> list[Measurement]:
    """Measure networks (modules or genotypes) paired with a reference network (default: the first of
    ``networks``, measured as itself), in chunks; milliseconds are ratios times ``reference_ms`` (default: the
    reference's milliseconds in the first chunk)."""
    modules = [n if isinstance(n, nn.Module) else spec.network(n) for n in networks]
    found: list[Measurement] = []
    if reference is None:
        reference, modules = modules[0], modules[1:]
        found.append(None)  # type: ignore[arg-type] - the reference's own measurement, set below
    example = target.example(_input_shape(spec))
    ref_runner = target.runner(reference.to(target.device), example)
    for start in range(0, len(modules), NETWORKS_PER_CHUNK):
        runners = {"reference": ref_runner}
        runners.update({str(i): target.runner(m.eval().to(target.device), example)
                        for i, m in enumerate(modules[start:start + NETWORKS_PER_CHUNK])})
        with torch.random.fork_rng(devices=[]):
            chunk = measurer(runners, protocol, reference="reference")
        if reference_ms is None:
            reference_ms = chunk["reference"].ms
        for i in range(len(runners) - 1):
            m = chunk[str(i)]
            ratio = m.ratio if m.ratio is not None else m.ms / chunk["reference"].ms
            found.append(Measurement(ratio * reference_ms, m.spread, m.repeats, m.calls, ratio))
    if found and found[0] is None:
        found[0] = Measurement(float(reference_ms), 0.0, 0, 0, 1.0)
    return found


def _input_shape(spec: NetworkSpec) -> tuple[int, int, int]:
    options = spec.options
    size = int(options.get("image_size", 32))
    return int(options.get("in_channels", 3)), size, size
