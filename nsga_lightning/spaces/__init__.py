"""Search spaces: genomes <-> genotypes, canonical keys and the published zoo (numpy only)."""

from nsga_lightning.spaces.macro import MacroGenotype, MacroSpace, PhaseGraph
from nsga_lightning.spaces.micro import OPS, MicroGenotype, MicroSpace
from nsga_lightning.spaces.protocol import (
    CategoricalSpace,
    DescribedSpace,
    DrawableSpace,
    NetworkSpace,
    PriorSpace,
    SearchSpace,
    categorical_positions,
    check_space,
    space_block,
)
from nsga_lightning.spaces.registry import (
    genotype_from_data,
    genotype_to_data,
    make_space,
    resolve_genotype,
    space_from_block,
)
from nsga_lightning.spaces.zoo import MACRO_ZOO, MICRO_ZOO, macro_genotype, micro_genotype

__all__ = [
    "MACRO_ZOO",
    "MICRO_ZOO",
    "OPS",
    "CategoricalSpace",
    "DescribedSpace",
    "DrawableSpace",
    "MacroGenotype",
    "MacroSpace",
    "MicroGenotype",
    "MicroSpace",
    "NetworkSpace",
    "PhaseGraph",
    "PriorSpace",
    "SearchSpace",
    "categorical_positions",
    "check_space",
    "genotype_from_data",
    "genotype_to_data",
    "macro_genotype",
    "make_space",
    "micro_genotype",
    "resolve_genotype",
    "space_block",
    "space_from_block",
]
