"""Shared checks for integer genomes, and genomes written as text (numpy only)."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

import numpy as np

_INTEGERS = r"[-+]?\d+(?:\s*[,\s]\s*[-+]?\d+)*"
GENOME_TEXT = re.compile(rf"\s*(?:{_INTEGERS}|\[\s*{_INTEGERS}\s*\]|\(\s*{_INTEGERS}\s*\))\s*")
_NUMBERS_TEXT = re.compile(r"[\s\[(]*[-+]?[\d.]+(?:[\s,]+[-+]?[\d.]+)+[\s\])]*")  # a list of numbers


def as_int_genome(genome: Sequence[int] | np.ndarray, n_var: int, space: str) -> np.ndarray:
    """Return ``genome`` as a 1-D int64 array of length ``n_var``.

    Raises:
        ValueError: if it has the wrong length or holds a non-integer value.
    """
    array = np.asarray(genome)
    if array.ndim != 1 or array.size != n_var:
        raise ValueError(f"a {space} genome has {n_var} integers, got shape {tuple(array.shape)}")
    if array.dtype.kind == "f":
        if not np.all(np.isfinite(array)) or np.any(array != np.round(array)):
            bad = int(np.flatnonzero(~np.isfinite(array) | (array != np.round(array)))[0])
            raise ValueError(f"{space} genome position {bad}: value {array[bad]} is not an integer")
    elif array.dtype.kind not in "iub":
        raise ValueError(f"a {space} genome must hold integers, got dtype {array.dtype}")
    return array.astype(np.int64)


def check_bounds(
    genome: np.ndarray, lower: np.ndarray, upper: np.ndarray, describe: Callable[[int], str]
) -> None:
    """Raise ``ValueError`` for the first position outside ``[lower, upper]``, naming it and its range."""
    outside = np.flatnonzero((genome < lower) | (genome > upper))
    if outside.size:
        i = int(outside[0])
        raise ValueError(
            f"genome position {i} ({describe(i)}): value {int(genome[i])} outside the allowed range "
            f"{int(lower[i])}..{int(upper[i])}"
        )


def parse_genome_text(text: str) -> list[int] | None:
    """The integers of a genome written as text, or ``None`` when ``text`` is no genome (e.g. a zoo name).

    Args:
        text: comma- or space-separated integers, optionally in brackets or parentheses; signs are allowed,
            so that an out-of-range value such as ``-1`` is reported by the space's range check like any other.

    Returns:
        The integers in order, or ``None``.

    Raises:
        ValueError: for a list of numbers that are not all integers (e.g. ``"1.5,0,2"``).
    """
    if not isinstance(text, str):
        return None
    if not GENOME_TEXT.fullmatch(text):
        if _NUMBERS_TEXT.fullmatch(text):
            raise ValueError(f"{text.strip()!r} is not a genome: write integers separated by commas, e.g. 1,0,2")
        return None
    return [int(v) for v in re.split(r"[\s,]+", text.strip().strip("[]()").strip())]


def bounds_block(name: str, lower: np.ndarray, upper: np.ndarray) -> dict[str, object]:
    """A space's name, genome length and bounds as plain data (the start of its fingerprint block)."""
    return {"name": name, "n_var": int(np.asarray(upper).size), "lower": np.asarray(lower).tolist(),
            "upper": np.asarray(upper).tolist()}



class IntegerGenomeSpace:
    """What the built-in spaces share: the genome length, validation against the bounds, the fingerprint block and
    the stored genotype (its ``to_dict()``).

    Subclasses set ``name``, ``lower``, ``upper``, ``describe_position``, the decoded genotype class
    ``genotype_kind`` and ``size_setting``, the attribute that sizes the genome (``n_blocks``, ``n_nodes``).
    """

    name: str
    lower: np.ndarray
    upper: np.ndarray
    genotype_kind: type
    size_setting: str

    def describe_position(self, position: int) -> str:
        """Human name of a genome position (the subclass says it)."""
        raise NotImplementedError

    @property
    def n_var(self) -> int:
        """Genome length."""
        return int(self.upper.size)

    @property
    def categorical(self) -> np.ndarray:
        """Every position is a category: micro operations and inputs (an input index names a node, no order
        between them), macro connection bits (two categories: mutating one flips it)."""
        return np.ones(self.n_var, dtype=bool)

    def validate(self, genome: Sequence[int] | np.ndarray) -> np.ndarray:
        """Return the genome as an int64 array, or raise ``ValueError`` naming the bad position and range."""
        array = as_int_genome(genome, self.n_var, self.name)
        check_bounds(array, self.lower, self.upper, self.describe_position)
        return array

    def describe(self) -> dict[str, object]:
        """The space's block of the run fingerprint: name, genome length, bounds and the size setting."""
        return {**bounds_block(self.name, self.lower, self.upper), self.size_setting: getattr(self, self.size_setting)}

    def genotype_to_data(self, genotype: object) -> dict[str, object]:
        """The genotype as the archive stores it (its ``to_dict()``).

        Raises:
            TypeError: for anything that is not this space's genotype class.
        """
        if not isinstance(genotype, self.genotype_kind):
            raise TypeError(f"not a {self.genotype_kind.__name__}: {type(genotype).__name__}")
        return genotype.to_dict()
