"""MAdds and parameters of a genotype's network without building the network.

:func:`count_complexity` takes :func:`~nsga_lightning.nn.networks.build_network`'s arguments and returns what
:func:`~nsga_lightning.nn.complexity.count_madds` and :func:`~nsga_lightning.nn.complexity.count_parameters`
would count on the built network, exactly (a test compares them over the zoo and random genomes of both spaces
with every option, both stems and several image channels and sizes). It walks a plan of the network that mirrors
the constructors (the stem, the channels and input sides of every cell or phase, which nodes are computed, the
strides) and adds up cached per-layer-group costs (:mod:`nsga_lightning.nn.layer_costs`); only those small layer
groups are ever built, once per kind, with the networks' own builders.

Conventions, as the networks' counters: MAdds of one image (batch 1) of the size and channels the network is built
for (``image_size``, ``in_channels``) in eval mode, so never the auxiliary head; parameters without the auxiliary
head (``params``) and with it (``params_total``); the layers of a micro node the cell output does not depend on
hold parameters but add no MAdds (the cell does not compute them).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

from nsga_lightning.nn import layer_costs as costs
from nsga_lightning.nn.base import check_in_channels
from nsga_lightning.nn.input_size import check_micro_image_size, macro_feature_size, resolve_stem
from nsga_lightning.nn.macro import MacroNetwork
from nsga_lightning.nn.macro import _check_options as check_macro_options  # the constructors' own checks
from nsga_lightning.nn.micro import MicroNetwork
from nsga_lightning.nn.micro import _check_options as check_micro_options
from nsga_lightning.nn.networks import network_arguments
from nsga_lightning.nn.ops import OP_BUILDERS
from nsga_lightning.nn.phases import DENSE_GROWTH
from nsga_lightning.spaces.macro import MacroGenotype, PhaseGraph
from nsga_lightning.spaces.micro import MicroGenotype, live_nodes, validate_genotype


class Complexity(NamedTuple):
    """A network's complexity, as :meth:`~nsga_lightning.module.ArchitectureModule.compute_complexity` reports it.

    Attributes:
        madds: multiply-adds of one image of the size and channels the network is built for, without the
            auxiliary head.
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
    in_channels: int = 3,
    stem: str = "auto",
) -> Complexity:
    """MAdds and parameters of ``build_network(space, genotype, ...)``, counted without building it.

    Equal to ``count_madds(net)`` (one image of ``net.input_shape()``, i.e. ``(1, in_channels, image_size,
    image_size)``), ``count_parameters(net)`` and ``count_parameters(net, include_auxiliary=True)`` of the built
    network ``net``; the same arguments are refused, with the same error, as by
    :func:`~nsga_lightning.nn.networks.build_network`. The keywords are :func:`build_network`'s.

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
        image_size: side of the square images the network is built for; MAdds are counted at it.
        in_channels: channels of the input images.
        stem: ``"auto"``, ``"cifar"`` or ``"imagenet"``, as :func:`~nsga_lightning.nn.networks.build_network`.

    Returns:
        The :class:`Complexity` (MAdds, parameters without and with the auxiliary head).

    Raises:
        ValueError: for an argument ``build_network`` refuses (e.g. an ``image_size`` the network cannot process).
        KeyError: for an unknown zoo name.
    """
    network, resolved, options = network_arguments(
        space, genotype, num_classes=num_classes, init_channels=init_channels, layers=layers,
        filter_increment=filter_increment, se=se, auxiliary=auxiliary, decoder=decoder, channels=channels,
        n_nodes=n_nodes, image_size=image_size, in_channels=in_channels, stem=stem,
    )
    if network is MicroNetwork:
        return micro_complexity(resolved, **options)
    if network is MacroNetwork:
        return macro_complexity(resolved, **options)
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
    in_channels: int,
    stem: str,
) -> Complexity:
    """:func:`count_complexity` of a :class:`~nsga_lightning.nn.micro.MicroNetwork` (its constructor's arguments).

    Raises:
        ValueError: for arguments the network refuses.
    """
    # the constructor's checks, in its order (the first failing one names the error)
    check_micro_options(num_classes, init_channels, layers, filter_increment, in_channels)
    validate_genotype(genotype, ops=tuple(OP_BUILDERS))
    stem_type = resolve_stem(stem, image_size)
    cell_sides = check_micro_image_size(image_size, layers, auxiliary, stem)  # output side of every cell
    reduction_cells = (layers // 3, 2 * layers // 3)
    # the stem is one term, counted alone on the image: it gives the first cell's inputs (channels, sides) and
    # says whether that cell reads input 0 through a FactorizedReduce (imagenet: 1/4 and 1/8 of the image side)
    stem_cost = costs.micro_stem_cost(stem_type, in_channels, init_channels, image_size)
    live = {False: live_nodes(genotype.normal, genotype.normal_concat),
            True: live_nodes(genotype.reduce, genotype.reduce_concat)}
    madds, params = stem_cost.madds, stem_cost.params
    prev_prev = prev = stem_cost.channels
    side_prev_prev, side_prev = stem_cost.sides
    reduction_prev = stem_cost.reduction_prev
    cell_channels = init_channels
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
    head = costs.auxiliary_head_params(stem_type, auxiliary_channels, num_classes) if auxiliary else 0
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
    in_channels: int,
    stem: str,
) -> Complexity:
    """:func:`count_complexity` of a :class:`~nsga_lightning.nn.macro.MacroNetwork` (its constructor's arguments).

    Raises:
        ValueError: for arguments the network refuses.
    """
    # the constructor's checks, in its order
    channels = check_macro_options(genotype, num_classes, channels, decoder)
    check_in_channels(in_channels)
    stem_type = resolve_stem(stem, image_size)
    phases = genotype.active_phases
    # the imagenet stem ends in the first phase's channels; without it the image enters the first phase, whose
    # unpadded entry conv (present when the channels change) serves as the stem
    width = channels[0] if stem_type == "imagenet" else in_channels
    macro_feature_size(image_size, len(phases), bool(phases) and width != channels[0], stem)
    madds = params = 0
    side = image_size
    if stem_type == "imagenet":  # one term, counted alone on the image
        stem_cost = costs.macro_stem_cost(in_channels, channels[0], image_size)
        madds, params, side = stem_cost.madds, stem_cost.params, stem_cost.side
    for k, graph in enumerate(phases):
        out_channels = channels[k]  # truncated from the front, as the network does
        if k > 0:
            side //= 2  # the 2x2 max pool before every later phase
        if width != out_channels:
            conv = costs.entry_conv_cost(width, out_channels, k == 0, side)
            madds, params, side = madds + conv.madds, params + conv.params, conv.side
        phase_madds, phase_params = _phase_cost(decoder, graph, out_channels, side)
        madds, params = madds + phase_madds, params + phase_params
        width = out_channels
    classifier = costs.classifier_cost(width, num_classes)  # the global average pool adds nothing
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
