"""Genomes typed on the command line (``"1,0,2,..."``, ``"[1, 0, 2]"``, ``"1 0 2"``): recognised, parsed and
matched to a search space. No torch import (``draw`` uses it)."""

from __future__ import annotations

import re

_INTEGERS = r"[-+]?\d+(?:\s*[,\s]\s*[-+]?\d+)*"
_GENOME_TEXT = re.compile(rf"\s*(?:{_INTEGERS}|\[\s*{_INTEGERS}\s*\]|\(\s*{_INTEGERS}\s*\))\s*")
_NUMBERS_TEXT = re.compile(r"[\s\[(]*[-+]?[\d.]+(?:[\s,]+[-+]?[\d.]+)+[\s\])]*")  # a list of numbers
N_PHASES = 3  # macro genomes always hold three phases


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
    if not _GENOME_TEXT.fullmatch(text):
        if _NUMBERS_TEXT.fullmatch(text):
            raise ValueError(f"{text.strip()!r} is not a genome: write integers separated by commas, e.g. 1,0,2")
        return None
    return [int(v) for v in re.split(r"[\s,]+", text.strip().strip("[]()").strip())]


def quote_negative_genomes(args: list[str]) -> list[str]:
    """``args`` with every genome of several integers that starts with a minus sign put in brackets, so that
    the argument parser reads it as a value (``-1,0,...`` would otherwise be an unknown option)."""
    return [f"[{arg}]" if arg.startswith("-") and _GENOME_TEXT.fullmatch(arg) and len(arg.split(",")) > 1 else arg
            for arg in args]


def micro_length(n_blocks: int) -> int:
    """Integers of a micro genome: 2 cells x ``n_blocks`` blocks x 2 units x (operation, input)."""
    return 8 * n_blocks


def macro_length(n_nodes: int) -> int:
    """Integers of a macro genome: 3 phases x (``n(n-1)/2`` connection bits + 1 skip bit)."""
    return N_PHASES * (n_nodes * (n_nodes - 1) // 2 + 1)


def space_of_genome(genome: list[int], n_blocks: int, n_nodes: int) -> str:
    """The space whose genome length (with these options) ``genome`` has: ``"micro"`` or ``"macro"``.

    Args:
        genome: the integers.
        n_blocks: micro blocks per cell.
        n_nodes: macro nodes per phase.

    Returns:
        ``"micro"`` or ``"macro"``.

    Raises:
        ValueError: if the length fits neither space, listing the lengths of both.
    """
    if len(genome) == micro_length(n_blocks):
        return "micro"
    if len(genome) == macro_length(n_nodes):
        return "macro"
    macro_lengths = ", ".join(f"{macro_length(n)} ({n} nodes)" for n in range(3, 8))
    raise ValueError(
        f"a genome of {len(genome)} integers fits neither space: micro needs 8 x n_blocks "
        f"({micro_length(n_blocks)} with --n_blocks {n_blocks}), macro 3 x (n(n-1)/2 + 1) for n nodes per phase "
        f"({macro_length(n_nodes)} with --n_nodes {n_nodes}; {macro_lengths}); give the whole genome, "
        "or --space with --n_blocks/--n_nodes"
    )
