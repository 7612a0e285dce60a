"""The search-space protocol: what the search asks of a space, the optional parts it uses where a space has them,
and the space's own block of the run fingerprint.

A space is any object with the members of :class:`SearchSpace` (integer bounds, sampling, validation, decoding, a
canonical key, and how its decoded genotype is stored and read back). The search never looks at what a genome
means: it samples and varies integer vectors within ``lower..upper``, asks ``key`` which of them are the same
architecture, stores ``genotype_to_data(decode(genome))`` in the archive and hands ``decode(genome)`` to the
evaluator. The optional parts, each a small runtime-checkable protocol:

* :class:`DescribedSpace` ``describe()``: the space's fingerprint block (default: name, bounds and class);
* :class:`DrawableSpace` ``draw(genotype, title)``: a matplotlib figure for the report and TensorBoard (without
  it they say in one line that the space draws nothing);
* :class:`NetworkSpace` ``build_network(genotype, num_classes, **options)``: a ``torch.nn.Module``, so the
  built-in trainer evaluator can train the space's candidates as a ``LightningModule``;
* :class:`PriorSpace` ``prior_genomes(rng)``: the hand-crafted designs ``search.initialization: prior`` starts
  from;
* :class:`CategoricalSpace` ``categorical``: which genome positions are categories (an operation, an input
  index) rather than ordered integers (a channel count, a repeat); with ``search.genes: space`` mutation resamples
  a category instead of perturbing it, and the surrogate encodes it one-hot (:func:`categorical_positions`).

The built-in micro and macro spaces have ``describe`` and ``categorical`` (every position of both is a category:
operations, inputs, connection bits), not the other three (their drawings live in ``viz``, their networks in ``nn``
and their prior designs in the search's initialisation, which know them by class).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

import numpy as np

from nsga_lightning.options import class_path
from nsga_lightning.spaces.genome import bounds_block

# what every space has (attributes and methods), in the order a missing one is named
REQUIRED_MEMBERS = ("name", "lower", "upper", "n_var", "sample", "validate", "decode", "key", "genotype_to_data",
                    "genotype_from_data")


class SearchSpace(Protocol):
    """What the search needs of a space.

    Attributes:
        name: a short name (titles, logs; the built-in ones are ``micro`` and ``macro``).
        lower: the smallest value of every genome position (int array of length ``n_var``).
        upper: the largest value of every genome position.
    """

    name: str
    lower: np.ndarray
    upper: np.ndarray

    @property
    def n_var(self) -> int:
        """Genome length."""

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """``n`` genomes drawn with ``rng`` only (an ``(n, n_var)`` int array): resume needs nothing else."""

    def validate(self, genome: Sequence[int] | np.ndarray) -> np.ndarray:
        """The genome as an int array, or ``ValueError`` naming the bad position and its range."""

    def decode(self, genome: Sequence[int] | np.ndarray) -> Any:
        """The genotype of a genome: what an evaluator receives as ``candidate.genotype`` (picklable, so that worker
        processes can receive it)."""

    def key(self, genome: Sequence[int] | np.ndarray) -> str:
        """The canonical key: equal for genomes that are the same architecture (evaluated once)."""

    def genotype_to_data(self, genotype: Any) -> Any:
        """The genotype as plain JSON data (dicts, lists, strings, numbers), as the archive stores it."""

    def genotype_from_data(self, data: Any) -> Any:
        """The genotype back from :meth:`genotype_to_data`'s data (``ValueError`` for data that is not one)."""


@runtime_checkable
class DescribedSpace(Protocol):
    """A space that gives its own fingerprint block: every setting that changes its genomes, keys or decoding."""

    def describe(self) -> dict[str, Any]: ...


@runtime_checkable
class DrawableSpace(Protocol):
    """A space that draws its genotypes (a ``matplotlib.figure.Figure``, e.g. on an Agg canvas)."""

    def draw(self, genotype: Any, title: str | None = None) -> Any: ...


@runtime_checkable
class NetworkSpace(Protocol):
    """A space whose genotypes build a ``torch.nn.Module`` returning class logits (or ``(logits, aux_logits)``)."""

    def build_network(self, genotype: Any, num_classes: int, **options: Any) -> Any: ...


@runtime_checkable
class PriorSpace(Protocol):
    """A space with hand-crafted designs to start a search from (``search.initialization: prior``)."""

    def prior_genomes(self, rng: np.random.Generator) -> Sequence[Sequence[int] | np.ndarray]: ...


@runtime_checkable
class CategoricalSpace(Protocol):
    """A space that says which genome positions are categories: ``categorical[i]`` is true where the values of
    position ``i`` name things with no order between them (an operation, an input index), false where they are
    ordered integers (a channel count, a repeat)."""

    categorical: Sequence[bool]


def categorical_positions(space: Any) -> np.ndarray | None:
    """The space's categorical positions as a bool array of length ``n_var``, or ``None`` when it declares none.

    Raises:
        ValueError: one line if the declaration is not one truth value per genome position.
    """
    if not isinstance(space, CategoricalSpace):
        return None
    declared = np.asarray(space.categorical)
    if declared.shape != (int(space.n_var),) or declared.dtype.kind not in "bui":
        raise ValueError(f"the {space.name} space's categorical must be one true/false per genome position "
                         f"({space.n_var}), got {space.categorical!r}")
    return declared.astype(bool)


def check_space(space: Any, where: str = "space") -> SearchSpace:
    """Return ``space`` if it has every member of :class:`SearchSpace`.

    Raises:
        ValueError: one line naming the missing members and what a space needs.
    """
    missing = [name for name in REQUIRED_MEMBERS if not hasattr(space, name)]
    if missing:
        raise ValueError(f"{where}: a {type(space).__name__} is not a search space: it lacks {', '.join(missing)} "
                         f"(a space needs {', '.join(REQUIRED_MEMBERS)}; see nsga_lightning.spaces.SearchSpace)")
    return space


def is_built_in(space: Any) -> bool:
    """Whether ``space`` is one of the package's own spaces (micro, macro)."""
    from nsga_lightning.spaces.macro import MacroSpace
    from nsga_lightning.spaces.micro import MicroSpace

    return type(space) in (MicroSpace, MacroSpace)


def space_block(space: SearchSpace) -> dict[str, Any]:
    """The space's block of the run fingerprint.

    A space's own ``describe()`` where it has one, else its name, genome length and bounds; a space that is not
    built in also carries its ``class_path`` (a resume with another class is refused, and the run directory
    rebuilds the space from it). The built-in spaces give the block they always gave.
    """
    if isinstance(space, DescribedSpace):
        block = dict(space.describe())
    else:
        block = bounds_block(str(space.name), space.lower, space.upper)
    if not is_built_in(space):
        block.setdefault("class_path", class_path(space))
    return block
