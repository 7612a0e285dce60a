"""Architecture drawings of any genotype: a Figure (e.g. for TensorBoard) or a PNG/SVG/PDF file.

The built-in micro and macro genotypes are drawn here; a space of your own draws its genotypes itself where it
defines ``draw(genotype, title) -> Figure`` (:class:`~nsga_lightning.spaces.DrawableSpace`). Where nothing can draw
a genotype, the report and TensorBoard say so in one line (:func:`no_drawing`).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from matplotlib.figure import Figure

from nsga_lightning.spaces import DrawableSpace, MacroGenotype, MicroGenotype
from nsga_lightning.viz.figure_io import DEFAULT_DPI, figure_format, save_figure
from nsga_lightning.viz.macro_drawing import macro_figure
from nsga_lightning.viz.micro_drawing import micro_figure

log = logging.getLogger(__name__)

Genotype = MicroGenotype | MacroGenotype


def can_draw(genotype: Any, space: Any = None) -> bool:
    """Whether :func:`figure_for_genotype` can draw ``genotype``: a built-in genotype, or a space that draws."""
    return isinstance(genotype, (MicroGenotype, MacroGenotype)) or isinstance(space, DrawableSpace)


def no_drawing(space: Any) -> str:
    """The one line that says a space's architectures have no drawing."""
    name = getattr(space, "name", type(space).__name__)
    return f"no drawing: the {name} space does not draw its architectures (a space draws with draw(genotype, title))"


def figure_for_genotype(genotype: Any, title: str | None = None, space: Any = None) -> Figure:
    """Draw ``genotype`` into a new figure: both cells for a micro genotype, the network for a macro one, and the
    space's own drawing (``space.draw(genotype, title)``) for a genotype of another space.

    The built-in figures sit on an Agg canvas and are not registered with pyplot, so they never leak into pyplot's
    figure list; pass the figure to ``SummaryWriter.add_figure`` or :func:`nsga_lightning.viz.figure_io.save_figure`.

    Args:
        genotype: a :class:`MicroGenotype`, a :class:`MacroGenotype`, or a genotype of ``space``.
        title: optional heading, e.g. the architecture's key.
        space: the genotype's space, for genotypes of a space of your own.

    Returns:
        The figure.

    Raises:
        ValueError: if nothing can draw ``genotype`` (:func:`no_drawing`'s line), or the space's drawing is no
            figure.
    """
    if isinstance(genotype, MicroGenotype):
        return micro_figure(genotype, title)
    if isinstance(genotype, MacroGenotype):
        return macro_figure(genotype, title)
    if isinstance(space, DrawableSpace):
        figure = space.draw(genotype, title)
        if not isinstance(figure, Figure):
            raise ValueError(f"the {space.name} space's draw() returned a {type(figure).__name__}, not a matplotlib "
                             "Figure")
        return figure
    raise ValueError(no_drawing(space) if space is not None else
                     f"cannot draw a {type(genotype).__name__}; expected a MicroGenotype or a MacroGenotype, or the "
                     "genotype of a space that draws")


def drawing_or_note(genotype: Any, title: str | None = None, space: Any = None) -> Figure | str:
    """The figure of ``genotype``, or one line saying why there is none (the space draws nothing, or its drawing
    failed: logged as a warning); never an exception, so a report or a search goes on without the picture."""
    if not can_draw(genotype, space):
        return no_drawing(space)
    try:
        return figure_for_genotype(genotype, title, space)
    except Exception as error:  # noqa: BLE001 - a space's own drawing code failing costs only its picture
        line = " ".join(str(error).split()) or type(error).__name__
        log.warning("drawing %s failed: %s", title or "an architecture", line)
        return f"no drawing: drawing it failed ({type(error).__name__}: {line})"


def draw_genotype(
    genotype: Any, path: str | Path, title: str | None = None, dpi: int = DEFAULT_DPI, space: Any = None
) -> Path:
    """Draw ``genotype`` to ``path``; the extension (``.png``, ``.svg``, ``.pdf``) picks the format.

    Args:
        genotype: a :class:`MicroGenotype`, a :class:`MacroGenotype`, or a genotype of ``space``.
        path: output file; parent folders are created.
        title: optional heading.
        dpi: resolution of PNG output.
        space: the genotype's space, for genotypes of a space of your own.

    Returns:
        The written path.

    Raises:
        ValueError: for an unsupported extension (listing the allowed ones) or a genotype nothing can draw.
    """
    figure_format(path)
    return save_figure(figure_for_genotype(genotype, title, space), path, dpi)
