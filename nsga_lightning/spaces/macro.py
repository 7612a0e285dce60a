"""The macro search space: three phases, each a DAG of ``n_nodes`` computation nodes (Genetic-CNN style).

Per phase the genome holds ``n(n-1)/2`` connection bits in groups of size 1, 2, ..., n-1 (bit k of group j:
an edge from node k to node j+1) and one skip bit (the phase input also feeds the phase output). Decoding
repairs the graph as the original does: a node with inputs but no reader feeds the output, a node with
readers but no inputs reads the phase input, a node with neither vanishes, and a phase whose connection
bits are all zero vanishes together with its pooling layer.
"""

from __future__ import annotations

import functools
import hashlib
import itertools
from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np

from nsga_lightning.spaces.genome import IntegerGenomeSpace

N_PHASES = 3
ALLOWED_NODES = (3, 4, 5, 6)


class PhaseGraph(NamedTuple):
    """One repaired phase. Node 0 is the phase input; nodes are numbered 1..n_nodes.

    Attributes:
        inputs: for each node 1..n_nodes the sorted node ids it reads, or ``None`` if the node vanished.
        output: node ids concatenated into the phase output (0 when the skip bit is set), ascending.
    """

    inputs: tuple[tuple[int, ...] | None, ...]
    output: tuple[int, ...]

    @property
    def active_nodes(self) -> tuple[int, ...]:
        """Ids of the nodes that are built."""
        return tuple(i + 1 for i, preds in enumerate(self.inputs) if preds is not None)


class MacroGenotype(NamedTuple):
    """A decoded macro genome: its bits and, per phase, the repaired graph (``None`` for a vanished phase)."""

    n_nodes: int
    bits: tuple[int, ...]
    phases: tuple[PhaseGraph | None, ...]

    @property
    def active_phases(self) -> tuple[PhaseGraph, ...]:
        """The phases that are built, in order."""
        return tuple(p for p in self.phases if p is not None)

    def to_dict(self) -> dict[str, Any]:
        """Plain data (JSON/YAML friendly): ``{"n_nodes": 6, "genome": [0, 1, ...]}``."""
        return {"n_nodes": self.n_nodes, "genome": list(self.bits)}

    def nested(self) -> list[list[list[int]]]:
        """The original's nested form: per phase ``[[b], [b, b], ..., [skip]]``."""
        return nested_genome(self.bits, self.n_nodes)


def bits_per_phase(n_nodes: int) -> int:
    """Connection bits plus the skip bit of one phase."""
    return n_nodes * (n_nodes - 1) // 2 + 1


def nested_genome(bits: Sequence[int], n_nodes: int) -> list[list[list[int]]]:
    """Split flat bits into the original's nested per-phase groups."""
    per_phase = bits_per_phase(n_nodes)
    nested = []
    for p in range(N_PHASES):
        phase = list(bits[p * per_phase:(p + 1) * per_phase])
        groups, start = [], 0
        for size in range(1, n_nodes):
            groups.append([int(b) for b in phase[start:start + size]])
            start += size
        groups.append([int(phase[-1])])
        nested.append(groups)
    return nested


def flatten_nested(nested: Sequence[Sequence[Sequence[int]]]) -> tuple[int, ...]:
    """Inverse of :func:`nested_genome`."""
    return tuple(int(b) for phase in nested for group in phase for b in group)


def decode_phase(bits: Sequence[int], n_nodes: int) -> PhaseGraph | None:
    """Repair one phase's graph exactly as the original does; ``None`` if all connection bits are zero."""
    connection, skip = list(bits[:-1]), int(bits[-1])
    if not any(connection):
        return None
    preds: list[list[int]] = [[] for _ in range(n_nodes + 1)]  # index = node id, 0 unused
    start = 0
    for j in range(1, n_nodes):
        group = connection[start:start + j]
        start += j
        preds[j + 1] = [k + 1 for k, bit in enumerate(group) if bit]
    has_reader = {k for node in range(1, n_nodes + 1) for k in preds[node]}
    output = [0] if skip else []
    inputs: list[tuple[int, ...] | None] = []
    for node in range(1, n_nodes + 1):
        reads, read = preds[node], node in has_reader
        if reads and not read:
            output.append(node)
        if not reads and not read:
            inputs.append(None)
        else:
            inputs.append(tuple(reads) if reads else (0,))
    return PhaseGraph(tuple(inputs), tuple(output))


@functools.lru_cache(maxsize=65536)
def canonical_phase(phase: PhaseGraph) -> tuple:
    """The smallest edge list over all renumberings of the built nodes: equal for isomorphic phases.

    Cached: a search meets the same phase graphs again and again, and 720 renumberings cost ~5 ms.
    """
    nodes = phase.active_nodes
    best = None
    for order in itertools.permutations(range(1, len(nodes) + 1)):
        rename = {0: 0, **dict(zip(nodes, order))}
        edges = tuple(sorted((rename[src], rename[dst]) for dst in nodes for src in phase.inputs[dst - 1]))
        form = (edges, tuple(sorted(rename[n] for n in phase.output)))
        if best is None or form < best:
            best = form
    return best


class MacroSpace(IntegerGenomeSpace):
    """Bounds, sampling, validation, decoding and canonical keys of the macro space.

    Args:
        n_nodes: computation nodes per phase (the paper and the published genome use 6).

    Raises:
        ValueError: if ``n_nodes`` is not one of 3, 4, 5, 6.
    """

    name = "macro"
    genotype_kind = MacroGenotype
    size_setting = "n_nodes"

    def __init__(self, n_nodes: int = 6) -> None:
        if n_nodes not in ALLOWED_NODES:
            raise ValueError(f"n_nodes must be one of {ALLOWED_NODES}, got {n_nodes}")
        self.n_nodes = n_nodes
        self.lower = np.zeros(N_PHASES * bits_per_phase(n_nodes), dtype=np.int64)
        self.upper = np.ones_like(self.lower)

    def describe_position(self, position: int) -> str:
        """Human name of a genome position, e.g. ``"phase 2 skip bit"``."""
        phase, within = divmod(position, bits_per_phase(self.n_nodes))
        if within == bits_per_phase(self.n_nodes) - 1:
            return f"phase {phase + 1} skip bit"
        j = 1
        while within >= j:
            within -= j
            j += 1
        return f"phase {phase + 1} edge node {within + 1} -> node {j + 1}"

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """Draw ``n`` genomes of independent fair bits; returns an ``(n, n_var)`` int64 array."""
        return rng.integers(0, 2, size=(n, self.n_var), dtype=np.int64)

    def decode(self, genome: Sequence[int] | np.ndarray) -> MacroGenotype:
        """Decode a genome into its repaired phase graphs."""
        array = self.validate(genome)
        per_phase = bits_per_phase(self.n_nodes)
        phases = tuple(
            decode_phase(array[p * per_phase:(p + 1) * per_phase].tolist(), self.n_nodes) for p in range(N_PHASES)
        )
        return MacroGenotype(self.n_nodes, tuple(int(b) for b in array), phases)

    def encode(self, genotype: MacroGenotype) -> np.ndarray:
        """Return the genome of a genotype (its bits, validated against this space)."""
        if genotype.n_nodes != self.n_nodes:
            raise ValueError(f"this space has {self.n_nodes} nodes per phase, the genotype has {genotype.n_nodes}")
        return self.validate(genotype.bits)

    def genotype_from_data(self, data: Any) -> MacroGenotype:
        """The genotype of :meth:`genotype_to_data`'s data (``{"n_nodes": n, "genome": [...]}``), validated.

        Raises:
            ValueError: if ``data`` is not such a mapping, or is one of another ``n_nodes``.
        """
        if not isinstance(data, dict) or "genome" not in data or set(data) - {"genome", "n_nodes"}:
            raise ValueError(f"a stored macro genotype is a mapping with 'genome' and 'n_nodes', got {data!r:.80}")
        if int(data.get("n_nodes", self.n_nodes)) != self.n_nodes:
            raise ValueError(f"this space has {self.n_nodes} nodes per phase, the stored genotype {data['n_nodes']}")
        return self.decode(data["genome"])

    def key(self, genome: Sequence[int] | np.ndarray) -> str:
        """Canonical key: equal for genomes whose built networks are the same.

        The network depends only on the sequence of active phases (vanished phases drop out together with a
        pooling layer, and channels are taken from the front), each up to renumbering its nodes.
        """
        genotype = self.decode(genome)
        canonical = tuple(canonical_phase(p) for p in genotype.active_phases)
        return "macro-" + hashlib.sha1(repr(canonical).encode()).hexdigest()[:12]
