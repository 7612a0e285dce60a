"""Saving Matplotlib figures by file extension (PNG, SVG or PDF) without pyplot's global state."""

from __future__ import annotations

import logging
from pathlib import Path

from matplotlib.figure import Figure

log = logging.getLogger(__name__)

FORMATS: tuple[str, ...] = ("png", "svg", "pdf")
DEFAULT_DPI = 150


def figure_format(path: str | Path) -> str:
    """The output format named by ``path``'s extension (lower-cased, without the dot).

    Raises:
        ValueError: if the extension is not one of :data:`FORMATS`, listing them.
    """
    suffix = Path(path).suffix.lower().lstrip(".")
    if suffix not in FORMATS:
        allowed = ", ".join(f".{f}" for f in FORMATS)
        raise ValueError(f"cannot write a figure to {str(path)!r}: unknown extension; allowed: {allowed}")
    return suffix


def save_figure(figure: Figure, path: str | Path, dpi: int = DEFAULT_DPI) -> Path:
    """Write ``figure`` to ``path`` in the format its extension names, creating parent folders.

    The figure is cleared afterwards (it belongs to no pyplot manager, so nothing else keeps it alive).

    Args:
        figure: the figure to write.
        path: output file; ``.png``, ``.svg`` or ``.pdf``.
        dpi: raster resolution (PNG only matters).

    Returns:
        The output path.

    Raises:
        ValueError: for an unsupported extension.
    """
    out = Path(path)
    fmt = figure_format(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    metadata = {"Software": None} if fmt == "png" else {"Creator": None} if fmt == "pdf" else {"Date": None}
    try:
        figure.savefig(out, format=fmt, dpi=dpi, facecolor="white", metadata=metadata)
    finally:
        figure.clear()
    log.debug("wrote %s", out)
    return out
