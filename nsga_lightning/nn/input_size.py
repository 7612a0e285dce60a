"""Which input images a network can take: the stem, and feature-map sizes worked out when the network is built.

A network is built for one ``image_size`` (the side of its square input images) and refuses a size it cannot
process with one ``ValueError`` naming the option to change and the sizes that work, instead of failing inside a
convolution at the first batch. Its MAdds are counted at that size (``nsga_lightning.nn.complexity``).

Stems (the ``stem`` option of both spaces):

* ``cifar`` (the published networks): micro, Conv3x3 stride 1 -> BN, the cells start at the full image size;
  macro, the first active phase's unpadded 3x3 entry convolution (``s -> s - 2``).
* ``imagenet``: micro, the ImageNet stems of NASNet/DARTS: Conv3x3 stride 2 (C/2) -> BN -> ReLU -> Conv3x3
  stride 2 (C) -> BN, then ReLU -> Conv3x3 stride 2 (C) -> BN; the first cell reads both (the 1/4 map through a
  FactorizedReduce, as a cell after a reduction cell does), so the cells start at 1/8 of the image side
  (224 -> 28, as the CIFAR cells start at 32). Macro, the same reduction by 8 in its own style: Conv3x3 stride 2
  -> BN -> ReLU twice (to the first phase's channels) and a 2x2 max pool, after which the first phase needs no
  entry convolution (224 -> 28 -> 14 -> 7 over three phases, as 32 -> 30 -> 15 -> 7 with the cifar stem).
* ``auto`` (the default): ``imagenet`` for images of :data:`AUTO_IMAGENET_FROM` (96) pixels or more, else
  ``cifar``. The published designs' first cells work at about 30 pixels (32 on CIFAR, 28 on ImageNet); with
  the cifar stem the first cells work at ``s``, with the imagenet stem at ``s / 8``, and the two are equally far
  from 30 (in ratio) at ``s`` = 90. Below 96 the cifar stem is the nearer one (at 64 its cells work at 64, the
  imagenet stem's at 8); from 96 the imagenet stem (cells at 12 and more; at 96 it trains candidates several
  times faster, ``benchmarks/stem_cost.py``).

Micro networks (checked against real forwards of every size by the tests):

* normal cells keep the size; a reduction cell maps ``s`` to ``ceil(s / 2)`` (every stride-2 operation pads so);
  a stride-2 3x3 stem convolution (padding 1) maps ``s`` to ``ceil(s / 2)``;
* the two branches of a ``FactorizedReduce`` (a stride-2 ``skip_connect``, and the input-0 preprocessing of
  the cell after a reduction cell, or of the first cell after the imagenet stem) only agree on an even size, so
  the input of every reduction cell, and the imagenet stem's 1/4 map, must be even. This is required whatever the
  genotype (the check does not depend on it, so a search can apply it before its first candidate): with the
  cifar stem ``image_size`` must be a multiple of 4; with the imagenet stem ``ceil(image_size / 4)`` a multiple
  of 8, i.e. ``image_size`` from ``32k - 3`` to ``32k`` (29-32, 61-64, 93-96, ..., 221-224);
* the auxiliary head reads cell ``2 * layers // 3``. The CIFAR head (5x5 average pooling with stride 3, then a
  2x2 convolution feeding a 768-wide linear layer) needs a map of 8x8 to 10x10 there: ``image_size`` 32, 36 or
  40 with the cifar stem. The ImageNet head (5x5 average pooling with stride 2) needs 7x7 or 8x8: 221-224 or
  253-256 with the imagenet stem.

Macro networks: the cifar stem's unpadded entry convolution (absent when the first active phase keeps the input
channels) or the imagenet stem (``s -> floor(ceil(s / 4) / 2)``), then a 2x2 max pool with stride 2 before
every later active phase (``s -> floor(s / 2)``); the classifier averages whatever map is left, which must be at
least 1x1.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Sequence

STEMS = ("cifar", "imagenet")  # what a network is built with
STEM_OPTIONS = ("auto", *STEMS)  # what the ``stem`` option takes
AUTO_IMAGENET_FROM = 96  # ``auto`` picks the imagenet stem for images of this side or larger (see above)
# feature-map sides the auxiliary head of each stem works on (its pooling must leave a 2x2 map)
AUXILIARY_SIDES = {"cifar": (8, 10), "imagenet": (7, 8)}
AUXILIARY_MIN, AUXILIARY_MAX = AUXILIARY_SIDES["cifar"]
_SEARCH_LIMIT = 1024  # sides scanned for the sizes that work (every stem takes some size below it)


def _check_positive(image_size: int) -> None:
    if isinstance(image_size, bool) or not isinstance(image_size, numbers.Integral) or image_size < 1:
        raise ValueError(f"image_size must be a positive integer (the side of the square input images), "
                         f"got {image_size!r}")


def resolve_stem(stem: str, image_size: int) -> str:
    """The stem a network is built with: ``stem`` itself, or for ``auto`` the one the image size calls for.

    Args:
        stem: ``"auto"``, ``"cifar"`` or ``"imagenet"``.
        image_size: side of the square input images.

    Returns:
        ``"cifar"`` or ``"imagenet"`` (``auto``: imagenet from :data:`AUTO_IMAGENET_FROM` pixels).

    Raises:
        ValueError: for an unknown stem or a non-positive ``image_size``.
    """
    if stem not in STEM_OPTIONS:
        raise ValueError(f"unknown stem {stem!r}; allowed: {', '.join(STEM_OPTIONS)} (auto: imagenet for images "
                         f"of {AUTO_IMAGENET_FROM} pixels or more, else cifar)")
    _check_positive(image_size)
    if stem != "auto":
        return stem
    return "imagenet" if image_size >= AUTO_IMAGENET_FROM else "cifar"


def _half(size: int) -> int:
    """Side after a stride-2 3x3 convolution with padding 1 (or a padded stride-2 cell operation)."""
    return (size + 1) // 2


def micro_stem_sizes(image_size: int, stem: str) -> tuple[int, int]:
    """Sides of the two inputs of a micro network's first cell (``(s, s)`` for cifar, 1/4 and 1/8 for imagenet).

    Raises:
        ValueError: for an unknown stem or a non-positive ``image_size``.
    """
    stem = resolve_stem(stem, image_size)
    if stem == "cifar":
        return image_size, image_size
    quarter = _half(_half(image_size))
    return quarter, _half(quarter)


def _micro_takes(stem: str, image_size: int) -> bool:
    """Whether a micro network with ``stem`` (two reduction cells, no auxiliary head) takes ``image_size``."""
    if stem == "cifar":
        return image_size % 4 == 0
    return _half(_half(image_size)) % 8 == 0


def _spans(sizes: Sequence[int]) -> str:
    """``[32, 36, 40]`` -> ``"32, 36 or 40"``; runs of consecutive sizes as ``"221-224"``."""
    runs: list[list[int]] = []
    for size in sizes:
        if runs and size == runs[-1][-1] + 1:
            runs[-1].append(size)
        else:
            runs.append([size])
    texts = [str(run[0]) if len(run) == 1 else f"{run[0]}-{run[-1]}" for run in runs]
    return texts[0] if len(texts) == 1 else f"{', '.join(texts[:-1])} or {texts[-1]}"


def _nearest(image_size: int, takes: Callable[[int], bool]) -> str:
    """The nearest sizes below and above ``image_size`` that ``takes`` accepts, e.g. ``"28 or 32"``."""
    below = next((s for s in range(image_size - 1, 0, -1) if takes(s)), None)
    above = next(s for s in range(image_size + 1, image_size + _SEARCH_LIMIT) if takes(s))
    return f"{below} or {above}" if below is not None else str(above)


def _micro_remedy(image_size: int, stem: str, given: str) -> str:
    """What to do about a size the micro ``stem`` cannot take: the nearest sizes, and the other stem if it can."""
    rule = "divisible by 4" if stem == "cifar" else "from 32k-3 to 32k"
    text = f"use an image_size {rule} (nearest: {_nearest(image_size, lambda s: _micro_takes(stem, s))})"
    other = STEMS[1 - STEMS.index(stem)]
    if _micro_takes(other, image_size):
        text += f", or stem: {other}, which takes {image_size}"
    return text + _auto_note(given)


def _auto_note(given: str) -> str:
    """Why this stem, when ``auto`` chose it."""
    return f" (stem: auto picks imagenet from {AUTO_IMAGENET_FROM} pixels, cifar below)" if given == "auto" else ""


def micro_feature_sizes(image_size: int, reduction_cells: Sequence[int], layers: int,
                        stem: str = "cifar") -> list[int]:
    """Side of every cell's output map of a micro network.

    Args:
        image_size: side of the square input images.
        reduction_cells: indices of the reduction cells.
        layers: number of cells.
        stem: ``"cifar"``, ``"imagenet"`` or ``"auto"`` (see :func:`resolve_stem`).

    Returns:
        ``layers`` sizes: the output side of cell ``0 .. layers - 1``.

    Raises:
        ValueError: if ``image_size`` is not positive, the imagenet stem's 1/4 map is odd, or a reduction cell
            gets an odd size (named with the cell, the sizes that would work and the other stem if it would).
    """
    resolved = resolve_stem(stem, image_size)
    quarter, size = micro_stem_sizes(image_size, resolved)
    if resolved == "imagenet" and quarter % 2:
        raise ValueError(
            f"image_size {image_size} does not fit a micro network with the imagenet stem: its first two stride-2 "
            f"convolutions give a {quarter}x{quarter} map, which the first cell reads through a FactorizedReduce "
            f"that needs an even size; {_micro_remedy(image_size, resolved, stem)}"
        )
    sizes = []
    for cell in range(layers):
        if cell in reduction_cells:
            if size % 2:
                cells = " and ".join(str(c) for c in reduction_cells)
                with_stem = "" if resolved == "cifar" else " with the imagenet stem"
                raise ValueError(
                    f"image_size {image_size} does not fit a micro network of {layers} cells{with_stem}: reduction "
                    f"cells {cells} halve the feature maps and need an even size there (FactorizedReduce), but "
                    f"reduction cell {cell} gets a {size}x{size} map; {_micro_remedy(image_size, resolved, stem)}"
                )
            size = _half(size)
        sizes.append(size)
    return sizes


def _auxiliary_sizes(stem: str, layers: int) -> list[int]:
    """The image sizes at which the auxiliary head of ``stem`` works (cell ``2 * layers // 3``)."""
    low, high = AUXILIARY_SIDES[stem]
    reduction_cells = (layers // 3, 2 * layers // 3)
    fitting = []
    for size in range(1, _SEARCH_LIMIT):
        if _micro_takes(stem, size):
            side = micro_feature_sizes(size, reduction_cells, layers, stem)[2 * layers // 3]
            if low <= side <= high:
                fitting.append(size)
    return fitting


def check_micro_image_size(image_size: int, layers: int, auxiliary: bool, stem: str = "cifar") -> list[int]:
    """Check that a micro network of ``layers`` cells (with or without the auxiliary head) takes ``image_size``.

    Args:
        image_size: side of the square input images.
        layers: number of cells (reductions at ``layers // 3`` and ``2 * layers // 3``).
        auxiliary: whether the auxiliary head reads cell ``2 * layers // 3``.
        stem: ``"cifar"``, ``"imagenet"`` or ``"auto"`` (see :func:`resolve_stem`).

    Returns:
        The output side of every cell.

    Raises:
        ValueError: naming the option to change, for a size no genotype can process with these options.
    """
    resolved = resolve_stem(stem, image_size)
    reduction_cells = (layers // 3, 2 * layers // 3)
    sizes = micro_feature_sizes(image_size, reduction_cells, layers, stem)
    cell = 2 * layers // 3
    low, high = AUXILIARY_SIDES[resolved]
    if auxiliary and not low <= sizes[cell] <= high:
        head = "auxiliary head" if resolved == "cifar" else "auxiliary head of the imagenet stem"
        text = (f"{head} needs feature maps of {low}x{low} to {high}x{high} at cell {cell}; image_size "
                f"{image_size} gives {sizes[cell]}x{sizes[cell]}: use auxiliary: false or an image_size of "
                f"{_spans(_auxiliary_sizes(resolved, layers))}")
        other = STEMS[1 - STEMS.index(resolved)]
        if image_size in _auxiliary_sizes(other, layers):
            text += f", or stem: {other}, whose auxiliary head takes {image_size}"
        raise ValueError(text + _auto_note(stem))
    return sizes


def _macro_size(image_size: int, n_active_phases: int, entry_conv: bool, stem: str) -> int:
    """Side of the last active phase's output (< 1 when nothing is left)."""
    if stem == "imagenet":
        size = _half(_half(image_size)) // 2
    else:
        size = image_size - (2 if entry_conv and n_active_phases else 0)
    for _ in range(max(n_active_phases - 1, 0)):
        size //= 2
    return size


def macro_feature_size(image_size: int, n_active_phases: int, entry_conv: bool, stem: str = "cifar") -> int:
    """Side of the last phase's output map of a macro network.

    Args:
        image_size: side of the square input images.
        n_active_phases: phases that are not vanished (a 2x2 max pool precedes each after the first).
        entry_conv: whether the first active phase starts with the unpadded 3x3 entry convolution (with the
            cifar stem it does unless its output channels equal the input channels; never with the imagenet
            stem, which already gives the first phase's channels).
        stem: ``"cifar"``, ``"imagenet"`` or ``"auto"`` (see :func:`resolve_stem`).

    Returns:
        The side of the map the classifier averages.

    Raises:
        ValueError: if ``image_size`` is not positive or leaves no pixel before a pooling or the classifier
            (naming the smallest size that works, and the other stem if it takes the size).
    """
    resolved = resolve_stem(stem, image_size)
    entry_conv = entry_conv and resolved == "cifar"
    size = _macro_size(image_size, n_active_phases, entry_conv, resolved)
    if size >= 1:
        return size
    pools = max(n_active_phases - 1, 0)
    smallest = next(s for s in range(1, _SEARCH_LIMIT) if _macro_size(s, n_active_phases, entry_conv, resolved) >= 1)
    if resolved == "imagenet":
        steps = ["the imagenet stem (two stride-2 convolutions and a 2x2 max pool, 1/8)"]
    else:
        steps = ["an unpadded 3x3 entry convolution (-2 pixels)"] if entry_conv and n_active_phases else []
    steps += [f"{pools} 2x2 max pool{'s' if pools > 1 else ''} (halving)"] if pools else []
    text = (f"image_size {image_size} is too small for this macro network: {' and '.join(steps)} over its "
            f"{n_active_phases} active phases leave no pixel; it needs an image_size of at least {smallest}")
    if resolved == "imagenet" and _macro_size(image_size, n_active_phases, True, "cifar") >= 1:
        text += f", or stem: cifar, which takes {image_size}"
    raise ValueError(text + _auto_note(stem))
