"""Listing a small space: every genome grouped by its canonical key.

Where a space's canonical key collapses many genomes into one architecture, a space small enough to list (at most
:data:`MAX_LISTED` genomes, e.g. NAS-Bench-Graph's 59,049 genomes of 26,207 architectures) is listed once per
process: every genome in ``itertools.product`` order, keyed. The surrogate then predicts every architecture not yet
trained instead of running an inner search (``proposers/surrogate_pool.py``), each by its key's first genome. (Drawing the
initial population uniformly over the listed architectures rather than over genomes was measured, and started the
search worse on NAS-Bench-Graph; sampling stays uniform over genomes.)
"""

from __future__ import annotations

import functools
import itertools
import json
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from nsga_lightning.spaces import DescribedSpace, SearchSpace, space_block

MAX_LISTED = 65_536  # genomes; NAS-Bench-Graph's space has 59,049, the built-in spaces far more
_LISTINGS: dict[Any, Listing] = {}


@dataclass(frozen=True)
class Listing:
    """Every genome of a space grouped by key.

    Attributes:
        keys: the distinct keys, in the order of their first genome.
        genomes: every genome, ``(count, n_var)``.
        members: for each key, the rows of ``genomes`` that have it.
    """

    keys: tuple[str, ...]
    genomes: np.ndarray
    members: tuple[np.ndarray, ...]

    @functools.cached_property
    def first(self) -> dict[str, int]:
        """The row of each key's first genome."""
        return {key: int(rows[0]) for key, rows in zip(self.keys, self.members)}


def genome_count(space: SearchSpace) -> int:
    """How many genomes lie within the space's bounds."""
    return math.prod(int(hi) - int(lo) + 1 for lo, hi in zip(space.lower, space.upper))


def listing(space: SearchSpace) -> Listing | None:
    """The space's genomes grouped by key (remembered per process for a space that describes itself, whose
    description fixes its keys), or ``None`` for a space of more than :data:`MAX_LISTED` genomes."""
    if genome_count(space) > MAX_LISTED:
        return None
    identity = (json.dumps(space_block(space), sort_keys=True, default=str) if isinstance(space, DescribedSpace)
                else id(space))
    if identity not in _LISTINGS:
        genomes = np.array(list(itertools.product(*(range(int(lo), int(hi) + 1)
                                                    for lo, hi in zip(space.lower, space.upper)))), dtype=np.int64)
        rows: dict[str, list[int]] = {}
        for row, genome in enumerate(genomes):
            rows.setdefault(space.key(genome), []).append(row)
        _LISTINGS[identity] = Listing(tuple(rows), genomes, tuple(np.array(r) for r in rows.values()))
    return _LISTINGS[identity]
