"""The one builder of architecture networks from a space name and any genotype value."""

from __future__ import annotations

from typing import Any, NamedTuple

from nsga_lightning.nn.base import ArchitectureNetwork
from nsga_lightning.nn.macro import DECODERS, MacroNetwork
from nsga_lightning.nn.micro import MicroNetwork
from nsga_lightning.spaces.macro import MacroGenotype
from nsga_lightning.spaces.micro import MicroGenotype
from nsga_lightning.spaces.registry import SPACES, resolve_genotype


class NetworkArguments(NamedTuple):
    """What :func:`build_network` builds: the network class, the resolved genotype and the constructor's options.

    ``network(genotype, **options)`` is the network; :mod:`nsga_lightning.nn.analytic_complexity` counts the
    same arguments without building it.
    """

    network: type[ArchitectureNetwork]
    genotype: MicroGenotype | MacroGenotype
    options: dict[str, Any]


def build_network(
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
) -> ArchitectureNetwork:
    """Build the network of ``genotype`` in ``space``.

    Args:
        space: ``"micro"`` or ``"macro"``.
        genotype: anything :func:`nsga_lightning.spaces.resolve_genotype` accepts: a zoo name, a genome, a
            genotype mapping or a decoded genotype.
        num_classes: number of classes.
        init_channels: micro: ``C`` of the first cell; macro: ``C`` of the default channels ``[C, 2C, 4C]``.
        layers: micro: number of cells (>= 3). Ignored by macro.
        filter_increment: micro: ``None`` for the search network (channels double at reductions), an int for
            the pyramid network (cell ``i`` has ``C + i * increment`` channels). Must be None for macro.
        se: micro: squeeze-and-excitation after every cell. Must be False for macro.
        auxiliary: micro: CIFAR auxiliary head. Must be False for macro.
        decoder: macro: ``"residual"`` (search) or ``"dense"`` (published). Must stay ``"residual"``
            for micro.
        channels: macro: per-phase output channels (default ``[C, 2C, 4C]``). Must be None for micro.
        n_nodes: macro: nodes per phase when ``genotype`` is a flat genome.
        image_size: side of the square input images the network must process (the CLI links it from the
            datamodule): a size these options cannot process is refused here, naming the option to change
            (:mod:`nsga_lightning.nn.input_size`). MAdds are counted at this size.
        in_channels: channels of the input images (the CLI takes them from the datamodule).
        stem: ``"cifar"`` (the published networks'), ``"imagenet"`` (the side divided by 8 before the first
            cell or phase) or ``"auto"`` (imagenet from 96 pixels, else cifar); see
            :mod:`nsga_lightning.nn.input_size`.

    Returns:
        A :class:`~nsga_lightning.nn.base.ArchitectureNetwork`.

    Raises:
        ValueError: for an unknown space, decoder or stem, an option the space does not support, or an
            ``image_size`` the network cannot process with this stem.
        KeyError: for an unknown zoo name.
    """
    network, resolved, options = network_arguments(
        space, genotype, num_classes=num_classes, init_channels=init_channels, layers=layers,
        filter_increment=filter_increment, se=se, auxiliary=auxiliary, decoder=decoder, channels=channels,
        n_nodes=n_nodes, image_size=image_size, in_channels=in_channels, stem=stem,
    )
    return network(resolved, **options)


def network_arguments(
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
) -> NetworkArguments:
    """Check :func:`build_network`'s arguments and resolve them into the network class, genotype and options.

    Takes exactly :func:`build_network`'s arguments; the checks that depend on the network's structure (e.g.
    ``image_size``) are left to the network's constructor.

    Returns:
        The :class:`NetworkArguments` of the network.

    Raises:
        ValueError: for an unknown space or decoder, or an option the space does not support.
        KeyError: for an unknown zoo name.
    """
    if space not in SPACES:
        raise ValueError(f"unknown search space {space!r}; allowed: {', '.join(SPACES)}")
    if decoder not in DECODERS:
        raise ValueError(f"unknown macro decoder {decoder!r}; allowed: {', '.join(DECODERS)}")
    resolved = resolve_genotype(space, genotype, n_nodes=n_nodes)
    if space == "micro":
        if channels is not None or decoder != "residual":
            raise ValueError(
                "channels and decoder are macro options; micro networks take init_channels, layers, "
                "filter_increment, se and auxiliary (leave channels=None, decoder='residual')"
            )
        options = {"num_classes": num_classes, "init_channels": init_channels, "layers": layers,
                   "filter_increment": filter_increment, "se": se, "auxiliary": auxiliary, "image_size": image_size,
                   "in_channels": in_channels, "stem": stem}
        return NetworkArguments(MicroNetwork, resolved, options)
    if auxiliary or se or filter_increment is not None:
        raise ValueError(
            "macro networks have no auxiliary head, squeeze-and-excitation or filter increment; set "
            "auxiliary=False, se=False and filter_increment=None"
        )
    if init_channels < 1:
        raise ValueError(f"init_channels must be >= 1, got {init_channels}")
    if channels is None:
        channels = [init_channels, 2 * init_channels, 4 * init_channels]
    options = {"num_classes": num_classes, "channels": channels, "decoder": decoder, "image_size": image_size,
               "in_channels": in_channels, "stem": stem}
    return NetworkArguments(MacroNetwork, resolved, options)
