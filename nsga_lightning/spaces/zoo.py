"""Published genotypes, as named constants that double as test fixtures.

Micro: the NSGA-Net cell pair and the cells that the NSGA-Net paper compares against (NASNet-A, AmoebaNet-A,
DARTS-V2, ENAS) in the original's ``(op, input)`` convention. Their concat lists are kept as published (not
all follow the loose-ends rule; DARTS has 4 blocks). Macro: the published NSGA-Net macro genome (6 nodes).
"""

from __future__ import annotations

from nsga_lightning.spaces.macro import MacroGenotype, MacroSpace, flatten_nested
from nsga_lightning.spaces.micro import MicroGenotype


def _micro(normal, normal_concat, reduce, reduce_concat) -> MicroGenotype:
    return MicroGenotype(tuple(normal), tuple(normal_concat), tuple(reduce), tuple(reduce_concat))


NSGANET = _micro(
    [("skip_connect", 0), ("max_pool_3x3", 0), ("dil_conv_5x5", 0), ("max_pool_3x3", 0), ("dil_conv_5x5", 1),
     ("sep_conv_3x3", 3), ("max_pool_3x3", 1), ("sep_conv_5x5", 3), ("sep_conv_3x3", 1), ("sep_conv_3x3", 0)],
    [2, 4, 5, 6],
    [("avg_pool_3x3", 0), ("sep_conv_3x3", 1), ("dil_conv_3x3", 1), ("max_pool_3x3", 0), ("skip_connect", 2),
     ("dil_conv_5x5", 1), ("skip_connect", 2), ("avg_pool_3x3", 1), ("dil_conv_5x5", 1), ("dil_conv_3x3", 1)],
    [3, 4, 5, 6],
)

DARTS = _micro(
    [("sep_conv_3x3", 0), ("sep_conv_3x3", 1), ("sep_conv_3x3", 0), ("sep_conv_3x3", 1), ("sep_conv_3x3", 1),
     ("skip_connect", 0), ("skip_connect", 0), ("dil_conv_3x3", 2)],
    [2, 3, 4, 5],
    [("max_pool_3x3", 0), ("max_pool_3x3", 1), ("skip_connect", 2), ("max_pool_3x3", 1), ("max_pool_3x3", 0),
     ("skip_connect", 2), ("skip_connect", 2), ("max_pool_3x3", 1)],
    [2, 3, 4, 5],
)

NASNET = _micro(
    [("sep_conv_5x5", 1), ("sep_conv_3x3", 0), ("sep_conv_5x5", 0), ("sep_conv_3x3", 0), ("avg_pool_3x3", 1),
     ("skip_connect", 0), ("avg_pool_3x3", 0), ("avg_pool_3x3", 0), ("sep_conv_3x3", 1), ("skip_connect", 1)],
    [2, 3, 4, 5, 6],
    [("sep_conv_5x5", 1), ("sep_conv_7x7", 0), ("max_pool_3x3", 1), ("sep_conv_7x7", 0), ("avg_pool_3x3", 1),
     ("sep_conv_5x5", 0), ("skip_connect", 3), ("avg_pool_3x3", 2), ("sep_conv_3x3", 2), ("max_pool_3x3", 1)],
    [4, 5, 6],
)

AMOEBANET = _micro(
    [("avg_pool_3x3", 0), ("max_pool_3x3", 1), ("sep_conv_3x3", 0), ("sep_conv_5x5", 2), ("sep_conv_3x3", 0),
     ("avg_pool_3x3", 3), ("sep_conv_3x3", 1), ("skip_connect", 1), ("skip_connect", 0), ("avg_pool_3x3", 1)],
    [4, 5, 6],
    [("avg_pool_3x3", 0), ("sep_conv_3x3", 1), ("max_pool_3x3", 0), ("sep_conv_7x7", 2), ("sep_conv_7x7", 0),
     ("avg_pool_3x3", 1), ("max_pool_3x3", 0), ("max_pool_3x3", 1), ("conv_7x1_1x7", 0), ("sep_conv_3x3", 5)],
    [3, 4, 6],
)

ENAS = _micro(
    [("sep_conv_3x3", 1), ("skip_connect", 1), ("sep_conv_5x5", 1), ("skip_connect", 0), ("avg_pool_3x3", 0),
     ("sep_conv_3x3", 1), ("sep_conv_3x3", 0), ("avg_pool_3x3", 0), ("sep_conv_5x5", 1), ("avg_pool_3x3", 0)],
    [2, 3, 4, 5, 6],
    [("sep_conv_5x5", 0), ("avg_pool_3x3", 1), ("sep_conv_3x3", 1), ("avg_pool_3x3", 1), ("avg_pool_3x3", 1),
     ("sep_conv_3x3", 1), ("sep_conv_5x5", 4), ("avg_pool_3x3", 1), ("sep_conv_3x3", 5), ("sep_conv_5x5", 0)],
    [2, 3, 6],
)

# The published macro genome (3 phases x 6 nodes, every skip bit 0), in the original's nested form.
NSGANET_MACRO_NESTED = (
    [[1], [0, 0], [0, 1, 0], [0, 1, 1, 1], [1, 0, 0, 1, 1], [0]],
    [[0], [0, 0], [0, 1, 0], [0, 1, 0, 1], [1, 1, 1, 1, 1], [0]],
    [[0], [0, 1], [1, 0, 1], [1, 0, 1, 1], [1, 0, 0, 1, 1], [0]],
)
NSGANET_MACRO: MacroGenotype = MacroSpace(6).decode(flatten_nested(NSGANET_MACRO_NESTED))

MICRO_ZOO: dict[str, MicroGenotype] = {
    "NSGANet": NSGANET, "DARTS": DARTS, "NASNet": NASNET, "AmoebaNet": AMOEBANET, "ENAS": ENAS,
}
MACRO_ZOO: dict[str, MacroGenotype] = {"NSGANet": NSGANET_MACRO}


def micro_genotype(name: str) -> MicroGenotype:
    """Look up a published micro genotype by name.

    Raises:
        KeyError: listing the known names.
    """
    if name not in MICRO_ZOO:
        raise KeyError(f"unknown micro genotype {name!r}; known: {', '.join(MICRO_ZOO)}")
    return MICRO_ZOO[name]


def macro_genotype(name: str) -> MacroGenotype:
    """Look up a published macro genotype by name.

    Raises:
        KeyError: listing the known names.
    """
    if name not in MACRO_ZOO:
        raise KeyError(f"unknown macro genotype {name!r}; known: {', '.join(MACRO_ZOO)}")
    return MACRO_ZOO[name]
