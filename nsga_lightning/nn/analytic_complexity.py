"""MAdds and parameters of a genotype's network without building the network.

:func:`count_complexity` takes :func:`~nsga_lightning.nn.networks.build_network`'s arguments and returns what
:func:`~nsga_lightning.nn.complexity.count_madds` and :func:`~nsga_lightning.nn.complexity.count_parameters`
would count on the built network, exactly (a test compares them over the zoo and random genomes of both spaces
with every option). It walks a plan of the network that mirrors the constructors (the channels and input side of
every cell or phase, which nodes are computed, the strides) and adds up cached per-layer-group costs
(:mod:`nsga_lightning.nn.layer_costs`); only those small layer groups are ever built, once per kind.

Conventions, as the networks' counters: MAdds of one image (batch 1) in eval mode, so never the auxiliary head;
parameters without the auxiliary head (``params``) and with it (``params_total``); the layers of a micro node the
cell output does not depend on hold parameters but add no MAdds (the cell does not compute them).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

from nsga_lightning.nn import layer_costs as costs
from nsga_lightning.nn.input_size import check_micro_image_size, macro_feature_size, micro_feature_sizes
from nsga_lightning.nn.macro import IN_CHANNELS as MACRO_IN_CHANNELS
from nsga_lightning.nn.macro import MacroNetwork
from nsga_lightning.nn.macro import _check_options as check_macro_options  # the constructors' own checks
from nsga_lightning.nn.micro import IN_CHANNELS as MICRO_IN_CHANNELS
from nsga_lightning.nn.micro import STEM_MULTIPLIER, MicroNetwork
from nsga_lightning.nn.micro import _check_options as check_micro_options
from nsga_lightning.nn.networks import network_arguments
from nsga_lightning.nn.ops import OP_BUILDERS
from nsga_lightning.nn.phases import DENSE_GROWTH
from nsga_lightning.spaces.macro import MacroGenotype, PhaseGraph
from nsga_lightning.spaces.micro import MicroGenotype, live_nodes, validate_genotype


class Complexity(NamedTuple):
    """A network's complexity, as :meth:`~nsga_lightning.module.ArchitectureModule.compute_complexity` reports it.

    Attributes:
        madds: multiply-adds of one image at the counted size, without the auxiliary head.
        params: parameters without the auxiliary head.
        params_total: parameters with the auxiliary head (equal to ``params`` without one).
    """

    madds: int
    params: int
    params_total: int


def count_complexity(
    space: str,
    genotype: Any,
    *,
    num_classes: int = 10,
    init_channels: int = 16,
    layers: int = 8,
    filter_increment: int | None = None,
    se: bool = False,
    auxiliary: bool = False,
    decoder: str = "residual",
    channels: list[int] | None = None,
    n_nodes: int = 6,
    image_size: int = 32,
    madds_image_size: int = 32,
) -> Complexity:
    """MAdds and parameters of ``build_network(space, genotype, ...)``, counted without building it.

    Equal to ``count_madds(net, (1, 3, madds_image_size, madds_image_size))``, ``count_parameters(net)`` and
    ``count_parameters(net, include_auxiliary=True)`` of the built network ``net``; the same arguments are
    refused (with ``ValueError``/``KeyError``) as by :func:`~nsga_lightning.nn.networks.build_network`.

    Args:
        space: ``"micro"`` or ``"macro"``.
        genotype: anything :func:`~nsga_lightning.nn.networks.build_network` accepts.
        num_classes: number of classes.
        init_channels: as :func:`~nsga_lightning.nn.networks.build_network`.
        layers: as :func:`~nsga_lightning.nn.networks.build_network`.
        filter_increment: as :func:`~nsga_lightning.nn.networks.build_network`.
        se: as :func:`~nsga_lightning.nn.networks.build_network`.
        auxiliary: as :func:`~nsga_lightning.nn.networks.build_network`.
        decoder: as :func:`~nsga_lightning.nn.networks.build_network`.
        channels: as :func:`~nsga_lightning.nn.networks.build_network`.
        n_nodes: as :func:`~nsga_lightning.nn.networks.build_network`.
        image_size: side of the images the network is built for (checked as the network checks it).
        madds_image_size: side of the square image MAdds are counted at (the networks' objective today: 32,
            ``count_madds``' default input 1x3x32x32).

    Returns:
        The :class:`Complexity` (MAdds, parameters without and with the auxiliary head).

    Raises:
        ValueError: for an argument ``build_network`` refuses, or a ``madds_image_size`` the network cannot
            process.
        KeyError: for an unknown zoo name.
    """
    network, resolved, options = network_arguments(
        space, genotype, num_classes=num_classes, init_channels=init_channels, layers=layers,
        filter_increment=filter_increment, se=se, auxiliary=auxiliary, decoder=decoder, channels=channels,
        n_nodes=n_nodes, image_size=image_size,
    )
    if network is MicroNetwork:
        return micro_complexity(resolved, **options, madds_image_size=madds_image_size)
    if network is MacroNetwork:
        return macro_complexity(resolved, **options, madds_image_size=madds_image_size)
    raise ValueError(f"no analytic count for {network.__name__}")  # pragma: no cover - a new network class


def micro_complexity(
    genotype: MicroGenotype,
    *,
    num_classes: int,
    init_channels: int,
    layers: int,
    filter_increment: int | None,
    se: bool,
    auxiliary: bool,
    image_size: int,
    madds_image_size: int,
) -> Complexity:
    """:func:`count_complexity` of a :class:`~nsga_lightning.nn.micro.MicroNetwork` (its constructor's arguments).

    Raises:
        ValueError: for arguments the network refuses.
    """
    check_micro_options(num_classes, init_channels, layers, filter_increment)
    validate_genotype(genotype, ops=tuple(OP_BUILDERS))
    check_micro_image_size(image_size, layers, auxiliary)
    reduction_cells = (layers // 3, 2 * layers // 3)
    stem_channels = STEM_MULTIPLIER * init_channels
    # the stem is one term, counted alone on the image; the cells start from the side it outputs
    stem = costs.stem_cost(MICRO_IN_CHANNELS, stem_channels, madds_image_size)
    cell_sides = micro_feature_sizes(stem.side, reduction_cells, layers)  # output side of every cell
    live = {False: live_nodes(genotype.normal, genotype.normal_concat),
            True: live_nodes(genotype.reduce, genotype.reduce_concat)}
    madds, params = stem.madds, stem.params
    prev_prev, prev, cell_channels = stem_channels, stem_channels, init_channels
    side_prev_prev = side_prev = stem.side
    reduction_prev = False
    auxiliary_channels = 0
    for i in range(layers):
        reduction = i in reduction_cells
        if reduction and filter_increment is None:
            cell_channels *= 2
        units, concat = ((genotype.reduce, genotype.reduce_concat) if reduction
                         else (genotype.normal, genotype.normal_concat))
        cell_madds, cell_params = _cell_cost(
            units, live[reduction], prev_prev, prev, cell_channels, reduction, reduction_prev,
            (side_prev_prev, side_prev, cell_sides[i]),
        )
        out_channels = len(concat) * cell_channels
        if se:
            se_layer = costs.se_cost(out_channels, cell_sides[i])
            cell_madds, cell_params = cell_madds + se_layer.madds, cell_params + se_layer.params
        madds, params = madds + cell_madds, params + cell_params
        prev_prev, prev = prev, out_channels
        side_prev_prev, side_prev = side_prev, cell_sides[i]
        reduction_prev = reduction
        if i == 2 * layers // 3:
            auxiliary_channels = prev
        if filter_increment is not None:
            cell_channels += filter_increment
    pool, classifier = costs.global_pool_cost(prev, side_prev), costs.classifier_cost(prev, num_classes)
    madds += pool.madds + classifier.madds
    params += pool.params + classifier.params
    head = costs.auxiliary_head_params(auxiliary_channels, num_classes) if auxiliary else 0
    return Complexity(madds, params, params + head)


def _cell_cost(
    units: Sequence[tuple[str, int]],
    live: frozenset[int],
    in_channels_prev_prev: int,
    in_channels_prev: int,
    channels: int,
    reduction: bool,
    reduction_prev: bool,
    sides: tuple[int, int, int],
) -> tuple[int, int]:
    """MAdds and parameters of one cell (without its SE layer); ``sides`` are those of its two inputs and its
    output. Mirrors :class:`~nsga_lightning.nn.cells.Cell`: every layer holds parameters, only live nodes'
    layers are computed."""
    side_prev_prev, side_prev, side_out = sides
    preprocess = (
        costs.preprocess_cost(in_channels_prev_prev, channels, reduction_prev, side_prev_prev),
        costs.preprocess_cost(in_channels_prev, channels, False, side_prev),
    )
    params = preprocess[0].params + preprocess[1].params
    madds = sum(cost.madds for node, cost in enumerate(preprocess) if node in live)
    for position, (name, idx) in enumerate(units):
        # the cell inputs are at the input side (preprocessed to it); blocks are at the output side
        stride, side = (2 if reduction else 1, side_prev) if idx < 2 else (1, side_out)
        op = costs.op_cost(name, channels, stride, side)
        params += op.params
        if position // 2 + 2 in live:
            madds += op.madds
    return madds, params


def macro_complexity(
    genotype: MacroGenotype,
    *,
    num_classes: int,
    channels: Sequence[int],
    decoder: str,
    image_size: int,
    madds_image_size: int,
) -> Complexity:
    """:func:`count_complexity` of a :class:`~nsga_lightning.nn.macro.MacroNetwork` (its constructor's arguments).

    Raises:
        ValueError: for arguments the network refuses.
    """
    channels = check_macro_options(genotype, num_classes, channels, decoder)
    phases = genotype.active_phases
    entry = bool(phases) and channels[0] != MACRO_IN_CHANNELS  # the first phase's unpadded 3x3 entry conv
    macro_feature_size(image_size, len(phases), entry)
    macro_feature_size(madds_image_size, len(phases), entry)  # the counted size must fit as well
    madds = params = 0
    in_channels, side = MACRO_IN_CHANNELS, madds_image_size  # no stem: the image enters the first phase
    for k, graph in enumerate(phases):
        out_channels = channels[k]  # truncated from the front, as the network does
        if k > 0:
            side //= 2  # the 2x2 max pool before every later phase
        if in_channels != out_channels:
            conv = costs.entry_conv_cost(in_channels, out_channels, k == 0, side)
            madds, params, side = madds + conv.madds, params + conv.params, conv.side
        phase_madds, phase_params = _phase_cost(decoder, graph, out_channels, side)
        madds, params = madds + phase_madds, params + phase_params
        in_channels = out_channels
    classifier = costs.classifier_cost(in_channels, num_classes)  # the global average pool adds nothing
    return Complexity(madds + classifier.madds, params + classifier.params, params + classifier.params)


def _phase_cost(decoder: str, graph: PhaseGraph, channels: int, side: int) -> tuple[int, int]:
    """MAdds and parameters of one phase after its entry conv. Mirrors
    :class:`~nsga_lightning.nn.phases.ResidualPhase` and :class:`~nsga_lightning.nn.phases.DensePhase`."""
    parts = []
    if decoder == "residual":
        readers = [graph.inputs[node - 1] for node in graph.active_nodes] + [graph.output]
        parts += [costs.residual_node_cost(channels, side)] * len(graph.active_nodes)
        parts += [costs.residual_fuse_cost(len(preds), channels, side) for preds in readers if len(preds) > 1]
        parts.append(costs.residual_output_cost(channels, side))
    else:
        def width(preds: Sequence[int]) -> int:
            return sum(channels if p == 0 else DENSE_GROWTH for p in preds)

        parts += [costs.dense_node_cost(width(graph.inputs[node - 1]), side) for node in graph.active_nodes]
        parts.append(costs.dense_output_cost(width(graph.output), channels, side))
    return sum(part.madds for part in parts), sum(part.params for part in parts)
