"""The initial population: uniform random (the published code) or from prior knowledge (the paper).

``prior`` starts the search from hand-crafted designs, as the paper's abstract describes and its 2018 code did:

* macro: per phase a VGG-like chain (node k -> k+1, skip bit 0), a ResNet-like chain (the same with the skip
  bit set) and a DenseNet-like phase (every connection bit set), for any ``n_nodes``; the population gets
  these phase kinds combined across the three phases: first the three homogeneous networks (VGG, ResNet,
  DenseNet in every phase), then the other 24 combinations in a seeded random order;
* micro: the published cells of the zoo (NSGANet, NASNet, AmoebaNet, ENAS, DARTS) that fit the space (its op
  set and block count; one that does not is skipped with a log line);
* a space of your own: its ``prior_genomes(rng)`` (:class:`~nsga_lightning.spaces.PriorSpace`), where it has
  them; a space without them starts at random (said in a log line).

``initial_architectures`` (zoo names of the built-in spaces, or genomes) come first in either mode. Duplicates by canonical key are
never admitted; random genomes fill the population up to ``pop_size``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from itertools import product
from typing import Any

import numpy as np

from nsga_lightning.spaces import MACRO_ZOO, MICRO_ZOO, MacroSpace, MicroSpace, PriorSpace, SearchSpace
from nsga_lightning.spaces.genome import parse_genome_text

log = logging.getLogger(__name__)

INITIALIZATIONS = ("random", "prior")
MACRO_PHASE_KINDS = ("vgg", "resnet", "densenet")
MICRO_PRIOR = ("NSGANet", "NASNet", "AmoebaNet", "ENAS", "DARTS")


def macro_phase_bits(kind: str, n_nodes: int) -> list[int]:
    """One phase's bits of a hand-crafted kind: ``vgg`` (chain), ``resnet`` (chain + skip), ``densenet``.

    Bits come in groups of 1, 2, ..., n-1 (group j: edges into node j+1 from nodes 1..j), then the skip bit.
    """
    if kind not in MACRO_PHASE_KINDS:
        raise ValueError(f"unknown macro phase kind {kind!r}; choose one of {', '.join(MACRO_PHASE_KINDS)}")
    bits: list[int] = []
    for j in range(1, n_nodes):
        bits += [1] * j if kind == "densenet" else [0] * (j - 1) + [1]
    return bits + [1 if kind == "resnet" else 0]


def macro_prior(n_nodes: int, rng: np.random.Generator) -> list[np.ndarray]:
    """The 27 macro networks of hand-crafted phases: the homogeneous three first, the rest shuffled by ``rng``."""
    combos = list(product(MACRO_PHASE_KINDS, repeat=3))
    homogeneous = [c for c in combos if len(set(c)) == 1]
    mixed = [c for c in combos if len(set(c)) > 1]
    order = [mixed[i] for i in rng.permutation(len(mixed))]
    return [np.array([b for kind in combo for b in macro_phase_bits(kind, n_nodes)], dtype=np.int64)
            for combo in homogeneous + order]


def micro_prior(space: SearchSpace) -> list[np.ndarray]:
    """The published cells that fit ``space``, in :data:`MICRO_PRIOR` order."""
    out = []
    for name in MICRO_PRIOR:
        try:
            out.append(space.encode(MICRO_ZOO[name]))
        except ValueError as reason:
            log.info("prior initialization: %s skipped (%s)", name, reason)
    return out


def resolve_architecture(space: SearchSpace, value: Any) -> np.ndarray:
    """A genome of ``space`` from a zoo name, a list of integers or their text (``"1,0,2,..."``).

    Raises:
        ValueError: naming the value, for an unknown name or a genome the space rejects.
    """
    zoo = _zoo(space)
    if isinstance(value, str) and value in zoo:
        try:
            return space.encode(zoo[value])
        except ValueError as reason:
            raise ValueError(f"search.initial_architectures: {value} does not fit this space ({reason})") from None
    genome = value
    if isinstance(value, str):
        try:
            genome = parse_genome_text(value)
        except ValueError as reason:
            raise ValueError(f"search.initial_architectures: {reason}") from None
        if genome is None:
            names = f"a {space.name} zoo name ({', '.join(zoo)})" if zoo else f"a zoo name (the {space.name} space has none)"
            raise ValueError(f"search.initial_architectures: {value!r} is neither {names} nor a genome")
    try:
        return space.validate(genome)
    except (TypeError, ValueError) as reason:
        raise ValueError(f"search.initial_architectures: {value!r} is not a {space.name} genome ({reason})") from None


def resolve_architectures(space: SearchSpace, values: Sequence[Any]) -> list[np.ndarray]:
    """The genomes of ``initial_architectures`` (see :func:`resolve_architecture`), duplicates dropped."""
    return unique_by_key(space, [resolve_architecture(space, value) for value in values])


def unique_by_key(space: SearchSpace, genomes: Sequence[np.ndarray]) -> list[np.ndarray]:
    """``genomes`` without repeated canonical keys, first occurrences kept."""
    seen: set[str] = set()
    unique = []
    for genome in genomes:
        key = space.key(genome)
        if key not in seen:
            seen.add(key)
            unique.append(genome)
    return unique


def initial_genomes(space: SearchSpace, initialization: str, given: Sequence[np.ndarray],
                    rng: np.random.Generator) -> list[np.ndarray]:
    """The genomes that start the population before random filling: ``given`` (resolved genomes) first, then
    the prior; duplicates by canonical key dropped, keeping the first.

    Raises:
        ValueError: for an unknown initialization.
    """
    if initialization not in INITIALIZATIONS:
        raise ValueError(f"search.initialization must be one of {', '.join(INITIALIZATIONS)}, got {initialization!r}")
    genomes = list(given)
    if initialization == "prior":
        genomes += prior_genomes(space, rng)
    return unique_by_key(space, genomes)


def prior_genomes(space: SearchSpace, rng: np.random.Generator) -> list[np.ndarray]:
    """The hand-crafted designs of ``space`` (see the module docstring), validated."""
    if isinstance(space, MacroSpace):
        return macro_prior(space.n_nodes, rng)
    if isinstance(space, MicroSpace):
        return micro_prior(space)
    if isinstance(space, PriorSpace):
        return [space.validate(genome) for genome in space.prior_genomes(rng)]
    log.info("prior initialization: the %s space offers no designs (a space gives them with prior_genomes(rng)); "
             "the population starts at random", space.name)
    return []


def _zoo(space: SearchSpace) -> dict[str, Any]:
    """The published genotypes of a built-in space by name (none for other spaces)."""
    return MICRO_ZOO if isinstance(space, MicroSpace) else MACRO_ZOO if isinstance(space, MacroSpace) else {}
