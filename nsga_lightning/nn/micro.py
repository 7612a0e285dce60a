"""Micro-space networks: the search-time CIFAR network and the final-training pyramid network."""

from __future__ import annotations

from torch import Tensor, nn

from nsga_lightning.nn.base import ArchitectureNetwork, check_in_channels
from nsga_lightning.nn.cells import AUXILIARY_HEADS, Cell
from nsga_lightning.nn.input_size import check_micro_image_size, resolve_stem
from nsga_lightning.nn.ops import OP_BUILDERS
from nsga_lightning.nn.stems import micro_stem
from nsga_lightning.spaces.micro import MicroGenotype, validate_genotype


class MicroNetwork(ArchitectureNetwork):
    """A stack of ``layers`` cells over a stem, with global average pooling and a linear classifier.

    Cells ``layers // 3`` and ``2 * layers // 3`` are reduction cells. With ``filter_increment=None`` this is
    the original's search-time ``NetworkCIFAR``: cell ``i`` works on ``C`` channels, doubled at each reduction
    cell.
    With an integer increment it is the final-training ``PyramidNetworkCIFAR``: cell ``i`` works on
    ``C + i * filter_increment`` channels and reductions do not double. The ``cifar`` stem (the original's) is
    Conv3x3(in_channels -> 3C) -> BN; the ``imagenet`` stem is NASNet's/DARTS' (three stride-2 convolutions to
    ``C`` channels; the first cell treats its input 0 as a cell after a reduction cell does), see
    :mod:`nsga_lightning.nn.stems`.

    Args:
        genotype: the normal and reduction cells (each with its own concat list and number of blocks).
        num_classes: number of classes.
        init_channels: ``C``, the first cell's working channels.
        layers: number of cells (at least 3).
        filter_increment: ``None`` for the doubling network, else the per-cell channel increment (>= 0).
        se: squeeze-and-excitation on the output of every cell.
        auxiliary: auxiliary head on the output of cell ``2 * layers // 3`` (used in training mode only): the
            CIFAR head with the cifar stem, the ImageNet head with the imagenet stem.
        image_size: side of the square images the network is built for (and its MAdds are counted at): with the
            cifar stem a multiple of 4 (both reduction cells halve an even size), and 32, 36 or 40 with the
            auxiliary head; with the imagenet stem 32k-3 to 32k (e.g. 96, 224), and 221-224 or 253-256 with the
            auxiliary head; see :mod:`nsga_lightning.nn.input_size`.
        in_channels: channels of the input images (3: RGB; 1: grey; 4 or more: e.g. multispectral).
        stem: ``"cifar"``, ``"imagenet"`` or ``"auto"`` (imagenet from 96 pixels, else cifar).

    Raises:
        ValueError: for out-of-range options, an ``image_size`` these options cannot process (naming the
            option to change) or a genotype with an unknown op.
    """

    space = "micro"

    def __init__(
        self,
        genotype: MicroGenotype,
        *,
        num_classes: int = 10,
        init_channels: int = 16,
        layers: int = 8,
        filter_increment: int | None = None,
        se: bool = False,
        auxiliary: bool = False,
        image_size: int = 32,
        in_channels: int = 3,
        stem: str = "auto",
    ) -> None:
        super().__init__()
        _check_options(num_classes, init_channels, layers, filter_increment, in_channels)
        validate_genotype(genotype, ops=tuple(OP_BUILDERS))
        self.stem_type = resolve_stem(stem, image_size)
        self.feature_sizes = check_micro_image_size(image_size, layers, auxiliary, stem)  # after each cell
        self.image_size = image_size
        self.in_channels = in_channels
        self.genotype = genotype
        self.layers = layers
        self.filter_increment = filter_increment
        self.reduction_cells = (layers // 3, 2 * layers // 3)
        self.auxiliary_cell = 2 * layers // 3

        self.stem = micro_stem(self.stem_type, in_channels, init_channels)
        # imagenet: input 0 of the first cell is the stem's 1/4 map, twice the size of input 1
        reduction_prev = self.stem.reduction_prev
        prev_prev = prev = self.stem.out_channels
        channels = init_channels
        cells = []
        auxiliary_channels = 0
        for i in range(layers):
            reduction = i in self.reduction_cells
            if reduction and filter_increment is None:
                channels *= 2
            units, concat = (
                (genotype.reduce, genotype.reduce_concat)
                if reduction
                else (genotype.normal, genotype.normal_concat)
            )
            cell = Cell(units, concat, prev_prev, prev, channels, reduction, reduction_prev, se=se)
            cells.append(cell)
            prev_prev, prev = prev, cell.out_channels
            reduction_prev = reduction
            if i == self.auxiliary_cell:
                auxiliary_channels = prev
            if filter_increment is not None:
                channels += filter_increment
        self.cells = nn.ModuleList(cells)
        if auxiliary:
            self.auxiliary_head = AUXILIARY_HEADS[self.stem_type](auxiliary_channels, num_classes)
        self.global_pooling = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(prev, num_classes)

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor | None]:
        """Images ``(N, in_channels, S, S)`` -> ``(logits (N, classes), aux logits (N, classes) or None)``."""
        aux_logits = None
        s0, s1 = self.stem(x)  # cifar: (N, 3C, S, S) twice; imagenet: (N, C, S/4, S/4), (N, C, S/8, S/8)
        for i, cell in enumerate(self.cells):
            s0, s1 = s1, cell(s0, s1, self.drop_path_prob)  # s1: (N, m * C_i, H_i, W_i)
            if i == self.auxiliary_cell and self.auxiliary_head is not None and self.training:
                aux_logits = self.auxiliary_head(s1)  # (N, classes); cifar: an 8x8 to 10x10 map, imagenet: 7-8
        pooled = self.global_pooling(s1).flatten(1)  # (N, m * C_last)
        return self.classifier(pooled), aux_logits


def _check_options(num_classes: int, init_channels: int, layers: int, filter_increment: int | None,
                   in_channels: int) -> None:
    if num_classes < 1:
        raise ValueError(f"num_classes must be >= 1, got {num_classes}")
    check_in_channels(in_channels)
    if init_channels < 1:
        raise ValueError(f"init_channels must be >= 1, got {init_channels}")
    if layers < 3:
        raise ValueError(f"layers must be >= 3 (cells layers//3 and 2*layers//3 reduce), got {layers}")
    if filter_increment is not None and filter_increment < 0:
        raise ValueError(
            f"filter_increment must be None (channels double at reductions) or >= 0, got {filter_increment}"
        )
