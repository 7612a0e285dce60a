"""Architecture drawings of any genotype: a Figure (e.g. for TensorBoard) or a PNG/SVG/PDF file."""

from __future__ import annotations

from pathlib import Path

from matplotlib.figure import Figure

from nsga_lightning.spaces import MacroGenotype, MicroGenotype
from nsga_lightning.viz.figure_io import DEFAULT_DPI, figure_format, save_figure
from nsga_lightning.viz.macro_drawing import macro_figure
from nsga_lightning.viz.micro_drawing import micro_figure

Genotype = MicroGenotype | MacroGenotype


def figure_for_genotype(genotype: Genotype, title: str | None = None) -> Figure:
    """Draw ``genotype`` into a new figure: both cells for a micro genotype, the network for a macro one.

    The figure sits on an Agg canvas and is not registered with pyplot, so it never leaks into pyplot's figure
    list; pass it to ``SummaryWriter.add_figure`` or :func:`nsga_lightning.viz.figure_io.save_figure`.

    Args:
        genotype: a :class:`MicroGenotype` or a :class:`MacroGenotype`.
        title: optional heading, e.g. the architecture's key.

    Returns:
        The figure.

    Raises:
        ValueError: if ``genotype`` is neither kind.
    """
    if isinstance(genotype, MicroGenotype):
        return micro_figure(genotype, title)
    if isinstance(genotype, MacroGenotype):
        return macro_figure(genotype, title)
    raise ValueError(f"cannot draw a {type(genotype).__name__}; expected a MicroGenotype or a MacroGenotype")


def draw_genotype(
    genotype: Genotype, path: str | Path, title: str | None = None, dpi: int = DEFAULT_DPI
) -> Path:
    """Draw ``genotype`` to ``path``; the extension (``.png``, ``.svg``, ``.pdf``) picks the format.

    Args:
        genotype: a :class:`MicroGenotype` or a :class:`MacroGenotype`.
        path: output file; parent folders are created.
        title: optional heading.
        dpi: resolution of PNG output.

    Returns:
        The written path.

    Raises:
        ValueError: for an unsupported extension (listing the allowed ones) or an unknown genotype kind.
    """
    figure_format(path)
    return save_figure(figure_for_genotype(genotype, title), path, dpi)
