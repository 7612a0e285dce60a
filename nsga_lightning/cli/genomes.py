"""Genomes typed on the command line (``"1,0,2,..."``, ``"[1, 0, 2]"``, ``"1 0 2"``): recognised, parsed (by
``spaces.genome``) and matched to a search space. No torch import (``draw`` uses it)."""

from __future__ import annotations

from nsga_lightning.spaces.genome import GENOME_TEXT, parse_genome_text
from nsga_lightning.spaces.macro import N_PHASES, bits_per_phase

__all__ = ["macro_length", "micro_length", "parse_genome_text", "quote_negative_genomes", "space_of_genome"]


def quote_negative_genomes(args: list[str]) -> list[str]:
    """``args`` with every genome of several integers that starts with a minus sign put in brackets, so that
    the argument parser reads it as a value (``-1,0,...`` would otherwise be an unknown option)."""
    return [f"[{arg}]" if arg.startswith("-") and GENOME_TEXT.fullmatch(arg) and len(arg.split(",")) > 1 else arg
            for arg in args]


def micro_length(n_blocks: int) -> int:
    """Integers of a micro genome: 2 cells x ``n_blocks`` blocks x 2 units x (operation, input)."""
    return 8 * n_blocks


def macro_length(n_nodes: int) -> int:
    """Integers of a macro genome: 3 phases x (``n(n-1)/2`` connection bits + 1 skip bit)."""
    return N_PHASES * bits_per_phase(n_nodes)


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
