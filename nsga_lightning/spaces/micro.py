"""The micro (cell) search space: a NASNet/DARTS-like normal cell and reduction cell.

A genome is a flat integer vector of ``2 cells x n_blocks x [op_A, in_A, op_B, in_B]`` (40 integers for the
default 5 blocks). Input index 0 is the cell two steps back (``h[i-1]``), 1 the previous cell (``h[i]``) and
``k >= 2`` the output of block ``k - 2`` of the same cell. A block outputs ``op_A(in_A) + op_B(in_B)``; the
cell outputs the concatenation of the blocks that no unit of that cell reads ("loose ends").
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np

from nsga_lightning.spaces.genome import IntegerGenomeSpace

# The searchable operations, in the original's index order (there is no "none" op in the search).
OPS: tuple[str, ...] = (
    "max_pool_3x3",
    "avg_pool_3x3",
    "skip_connect",
    "sep_conv_3x3",
    "sep_conv_5x5",
    "dil_conv_3x3",
    "dil_conv_5x5",
    "sep_conv_7x7",
    "conv_7x1_1x7",
)

Unit = tuple[str, int]


class MicroGenotype(NamedTuple):
    """A decoded pair of cells: lists of ``(op, input)`` units, two per block, and the concat lists."""

    normal: tuple[Unit, ...]
    normal_concat: tuple[int, ...]
    reduce: tuple[Unit, ...]
    reduce_concat: tuple[int, ...]

    @property
    def n_blocks(self) -> int:
        """Number of blocks per cell."""
        return len(self.normal) // 2

    def to_dict(self) -> dict[str, list]:
        """Return plain lists (JSON/YAML friendly): ``{"normal": [[op, input], ...], ...}``."""
        return {
            "normal": [[op, idx] for op, idx in self.normal],
            "normal_concat": list(self.normal_concat),
            "reduce": [[op, idx] for op, idx in self.reduce],
            "reduce_concat": list(self.reduce_concat),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MicroGenotype:
        """Build a genotype from :meth:`to_dict` output (or the original's namedtuple fields), validated.

        Raises:
            ValueError: if a key is missing, an op is unknown or an input index is out of range.
        """
        required = ("normal", "normal_concat", "reduce", "reduce_concat")
        missing = [k for k in required if k not in data]
        unknown = [k for k in data if k not in required]
        if missing or unknown:
            raise ValueError(
                f"micro genotype needs exactly the keys {list(required)}; missing {missing}, unknown {unknown}"
            )
        genotype = cls(
            normal=tuple((str(op), int(i)) for op, i in data["normal"]),
            normal_concat=tuple(int(i) for i in data["normal_concat"]),
            reduce=tuple((str(op), int(i)) for op, i in data["reduce"]),
            reduce_concat=tuple(int(i) for i in data["reduce_concat"]),
        )
        validate_genotype(genotype)
        return genotype


def validate_genotype(genotype: MicroGenotype, ops: Sequence[str] | None = None) -> None:
    """Check a genotype's structure; ``ops`` defaults to :data:`OPS` (the published ones use only those).

    Raises:
        ValueError: naming the cell, the unit and what is allowed.
    """
    allowed_ops = tuple(ops) if ops is not None else OPS
    for cell, units, concat in (
        ("normal", genotype.normal, genotype.normal_concat),
        ("reduce", genotype.reduce, genotype.reduce_concat),
    ):
        if len(units) == 0 or len(units) % 2:
            raise ValueError(f"{cell} cell needs an even, non-zero number of units, got {len(units)}")
        for position, (op, idx) in enumerate(units):
            if op not in allowed_ops:
                raise ValueError(f"{cell} unit {position}: unknown op {op!r}; allowed: {', '.join(allowed_ops)}")
            highest = position // 2 + 1
            if not 0 <= idx <= highest:
                raise ValueError(f"{cell} unit {position}: input {idx} outside the allowed range 0..{highest}")
        n_nodes = len(units) // 2 + 2
        if not concat or any(not 2 <= c < n_nodes for c in concat):
            raise ValueError(f"{cell}_concat {list(concat)} must list block nodes in 2..{n_nodes - 1}")


def loose_ends(units: Sequence[Unit]) -> tuple[int, ...]:
    """Block nodes (2..n_blocks+1) that no unit of the cell reads, ascending: the cell's concat list."""
    used = {idx for _, idx in units}
    return tuple(node for node in range(2, len(units) // 2 + 2) if node not in used)


def live_nodes(units: Sequence[Unit], concat: Sequence[int]) -> frozenset[int]:
    """Nodes (0/1 the cell inputs, ``k >= 2`` block ``k - 2``) that the concatenated output depends on.

    A cell input no unit reads, or a block neither read nor concatenated (possible in a hand-written
    genotype), is not among them: networks keep such layers but do not compute them.
    """
    live = set(concat)
    for node in range(len(units) // 2 + 1, 1, -1):  # a block reads only earlier nodes: one backward sweep
        if node in live:
            live.update(idx for _, idx in units[2 * (node - 2) : 2 * (node - 2) + 2])
    return frozenset(live)


class MicroSpace(IntegerGenomeSpace):
    """Bounds, sampling, validation, decoding and canonical keys of the micro space.

    Args:
        n_blocks: blocks per cell (the original uses 5).

    Raises:
        ValueError: if ``n_blocks`` is not positive.
    """

    name = "micro"
    genotype_kind = MicroGenotype
    size_setting = "n_blocks"

    def __init__(self, n_blocks: int = 5) -> None:
        if n_blocks < 1:
            raise ValueError(f"n_blocks must be >= 1, got {n_blocks}")
        self.n_blocks = n_blocks
        cell_upper = [bound for b in range(n_blocks) for bound in (len(OPS) - 1, b + 1, len(OPS) - 1, b + 1)]
        self.upper = np.array(cell_upper * 2, dtype=np.int64)
        self.lower = np.zeros_like(self.upper)

    def describe_position(self, position: int) -> str:
        """Human name of a genome position, e.g. ``"reduce block 2 unit B input"``."""
        cell = "normal" if position < self.n_var // 2 else "reduce"
        within = position % (self.n_var // 2)
        block, slot = divmod(within, 4)
        unit = "A" if slot < 2 else "B"
        kind = "op" if slot % 2 == 0 else "input"
        return f"{cell} block {block} unit {unit} {kind}"

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """Draw ``n`` genomes uniformly within the bounds; returns an ``(n, n_var)`` int64 array."""
        return rng.integers(self.lower, self.upper + 1, size=(n, self.n_var), dtype=np.int64)

    def decode(self, genome: Sequence[int] | np.ndarray) -> MicroGenotype:
        """Decode a genome into a :class:`MicroGenotype` with loose-end concat lists."""
        array = self.validate(genome)
        half = self.n_var // 2
        normal = _decode_cell(array[:half])
        reduce = _decode_cell(array[half:])
        return MicroGenotype(normal, loose_ends(normal), reduce, loose_ends(reduce))

    def encode(self, genotype: MicroGenotype) -> np.ndarray:
        """Encode a genotype with ``n_blocks`` blocks and ops from :data:`OPS` back into a genome.

        The concat lists are not stored in the genome: decoding re-derives them by the loose-ends rule.

        Raises:
            ValueError: if the genotype has another number of blocks or an op outside :data:`OPS`.
        """
        validate_genotype(genotype)
        if genotype.n_blocks != self.n_blocks or len(genotype.reduce) != 2 * self.n_blocks:
            raise ValueError(f"this space has {self.n_blocks} blocks per cell, the genotype has {genotype.n_blocks}")
        genes = [g for units in (genotype.normal, genotype.reduce) for op, idx in units for g in (OPS.index(op), idx)]
        return self.validate(genes)

    def genotype_from_data(self, data: Any) -> MicroGenotype:
        """The genotype of :meth:`genotype_to_data`'s data, validated.

        Raises:
            ValueError: if ``data`` is not a micro genotype mapping.
        """
        if not isinstance(data, dict):
            raise ValueError(f"a stored micro genotype is a mapping, got {type(data).__name__}")
        return MicroGenotype.from_dict(data)

    def key(self, genome: Sequence[int] | np.ndarray) -> str:
        """Canonical key: equal for genomes that build the same network (unit swaps, block reorderings)."""
        array = self.validate(genome)
        half = self.n_var // 2
        canonical = (canonical_cell(array[:half]), canonical_cell(array[half:]))
        return "micro-" + hashlib.sha1(repr(canonical).encode()).hexdigest()[:12]


def _decode_cell(genes: np.ndarray) -> tuple[Unit, ...]:
    return tuple((OPS[int(genes[i])], int(genes[i + 1])) for i in range(0, genes.size, 2))


def canonical_cell(genes: np.ndarray) -> tuple[tuple[tuple[int, int], tuple[int, int]], ...]:
    """The lexicographically smallest form of one cell over all equivalent encodings.

    Equivalent encodings are those reachable by swapping the two units of a block and by renumbering the
    blocks in any order that keeps every input before its reader. With at most 5 blocks the 120 orders are
    enumerated outright, which is exact (a true canonical form) but takes about a millisecond; children share
    most cells with their parents, so the forms are remembered (a pure function of the genes: nothing about a
    search depends on what is remembered).
    """
    return _canonical_cell(tuple(int(g) for g in genes))


@functools.lru_cache(maxsize=1 << 16)
def _canonical_cell(genes: tuple[int, ...]) -> tuple[tuple[tuple[int, int], tuple[int, int]], ...]:
    blocks = [((genes[i], genes[i + 1]), (genes[i + 2], genes[i + 3])) for i in range(0, len(genes), 4)]
    n = len(blocks)
    best: list[tuple[tuple[int, int], tuple[int, int]]] | None = None
    # depth-first over the orders that keep every input before its reader (the others are no encodings), and a
    # prefix already above the best form's cannot become smaller: the same minimum as trying all n! orders
    stack: list[tuple[dict[int, int], list]] = [({0: 0, 1: 1}, [])]
    while stack:
        placed, prefix = stack.pop()
        position = len(prefix)
        if position == n:
            if best is None or prefix < best:
                best = prefix
            continue
        for old in range(n):
            if old + 2 in placed or any(idx not in placed for _, idx in blocks[old]):
                continue
            units = tuple(sorted((op, placed[idx]) for op, idx in blocks[old]))
            if best is not None and (*prefix, units) > tuple(best[:position + 1]):
                continue
            stack.append(({**placed, old + 2: position + 2}, [*prefix, units]))
    assert best is not None  # the blocks' own order is always valid
    return tuple(best)
