"""Torch modules built from genotypes: operations, cells, phases, stems, networks, input sizes, complexity (counted
on a network or analytically from the genotype) and weight import."""

from nsga_lightning.nn.analytic_complexity import Complexity, count_complexity
from nsga_lightning.nn.base import ArchitectureNetwork
from nsga_lightning.nn.cells import AuxiliaryHeadCIFAR, AuxiliaryHeadImageNet, Cell
from nsga_lightning.nn.complexity import count_madds, count_parameters
from nsga_lightning.nn.input_size import (
    AUTO_IMAGENET_FROM,
    STEM_OPTIONS,
    STEMS,
    check_micro_image_size,
    macro_feature_size,
    micro_feature_sizes,
    resolve_stem,
)
from nsga_lightning.nn.macro import DECODERS, MacroNetwork
from nsga_lightning.nn.micro import MicroNetwork
from nsga_lightning.nn.networks import NetworkArguments, build_network, network_arguments
from nsga_lightning.nn.ops import OP_BUILDERS, build_op, drop_path
from nsga_lightning.nn.phases import DensePhase, ResidualPhase
from nsga_lightning.nn.pretrained import (
    convert_original_state_dict,
    load_original_checkpoint,
    load_original_state_dict,
    original_key_map,
)
from nsga_lightning.nn.stems import CIFARStem, ImageNetStem, MacroImageNetStem

__all__ = [
    "AUTO_IMAGENET_FROM",
    "DECODERS",
    "OP_BUILDERS",
    "STEMS",
    "STEM_OPTIONS",
    "ArchitectureNetwork",
    "AuxiliaryHeadCIFAR",
    "AuxiliaryHeadImageNet",
    "CIFARStem",
    "Cell",
    "Complexity",
    "DensePhase",
    "ImageNetStem",
    "MacroImageNetStem",
    "MacroNetwork",
    "MicroNetwork",
    "NetworkArguments",
    "ResidualPhase",
    "build_network",
    "build_op",
    "check_micro_image_size",
    "convert_original_state_dict",
    "count_complexity",
    "count_madds",
    "count_parameters",
    "drop_path",
    "load_original_checkpoint",
    "load_original_state_dict",
    "macro_feature_size",
    "micro_feature_sizes",
    "network_arguments",
    "original_key_map",
    "resolve_stem",
]
