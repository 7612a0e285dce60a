"""Which input image sizes a network can take: feature-map sizes worked out when the network is built.

A network is built for one ``image_size`` (the side of its square input images) and refuses a size it cannot
process with one ``ValueError`` naming the option, instead of failing inside a convolution at the first batch.
MAdds are still counted at 1x3x32x32 (a size every network takes), whatever ``image_size`` is.

Micro networks (checked against real forwards for every size from 1 to 40 by the tests):

* the stem and normal cells keep the size; a reduction cell maps ``s`` to ``ceil(s / 2)`` (every stride-2
  operation pads so);
* the two branches of a ``FactorizedReduce`` (a stride-2 ``skip_connect``, and the input-0 preprocessing of
  the cell after a reduction cell) only agree on an even size, so the input of every reduction cell must be
  even. This is required whatever the genotype (the check does not depend on it, so a search can apply it
  before its first candidate); it makes ``image_size`` a multiple of 4;
* the CIFAR auxiliary head (5x5 average pooling with stride 3, then a 2x2 convolution feeding a 768-wide
  linear layer) needs a map of 8x8 to 10x10 at cell ``2 * layers // 3``, i.e. ``image_size`` 32, 36 or 40.

Macro networks: the first active phase's entry convolution is 3x3 unpadded (``s -> s - 2``; absent when the
phase keeps the 3 input channels) and a 2x2 max pool with stride 2 precedes every later active phase
(``s -> floor(s / 2)``); the classifier averages whatever map is left, which must be at least 1x1.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence

AUXILIARY_MIN, AUXILIARY_MAX = 8, 10  # feature-map sides the CIFAR auxiliary head works on


def _check_positive(image_size: int) -> None:
    if isinstance(image_size, bool) or not isinstance(image_size, numbers.Integral) or image_size < 1:
        raise ValueError(f"image_size must be a positive integer (the side of the square input images), "
                         f"got {image_size!r}")


def micro_feature_sizes(image_size: int, reduction_cells: Sequence[int], layers: int) -> list[int]:
    """Side of every cell's output map of a micro network.

    Args:
        image_size: side of the square input images.
        reduction_cells: indices of the reduction cells.
        layers: number of cells.

    Returns:
        ``layers`` sizes: the output side of cell ``0 .. layers - 1``.

    Raises:
        ValueError: if ``image_size`` is not positive, or a reduction cell gets an odd size (named with the
            cell and the sizes that would work).
    """
    _check_positive(image_size)
    sizes, size = [], image_size
    for cell in range(layers):
        if cell in reduction_cells:
            if size % 2:
                cells = " and ".join(str(c) for c in reduction_cells)
                raise ValueError(
                    f"image_size {image_size} does not fit a micro network of {layers} cells: reduction cells "
                    f"{cells} halve the feature maps and need an even size there (FactorizedReduce), but reduction "
                    f"cell {cell} gets a {size}x{size} map; use an image_size divisible by {2 ** len(reduction_cells)} "
                    "(e.g. 32)"
                )
            size = (size + 1) // 2
        sizes.append(size)
    return sizes


def check_micro_image_size(image_size: int, layers: int, auxiliary: bool) -> list[int]:
    """Check that a micro network of ``layers`` cells (with or without the auxiliary head) takes ``image_size``.

    Args:
        image_size: side of the square input images.
        layers: number of cells (reductions at ``layers // 3`` and ``2 * layers // 3``).
        auxiliary: whether the CIFAR auxiliary head reads cell ``2 * layers // 3``.

    Returns:
        The output side of every cell.

    Raises:
        ValueError: naming the option to change, for a size no genotype can process with these options.
    """
    reduction_cells = (layers // 3, 2 * layers // 3)
    sizes = micro_feature_sizes(image_size, reduction_cells, layers)
    cell = 2 * layers // 3
    if auxiliary and not AUXILIARY_MIN <= sizes[cell] <= AUXILIARY_MAX:
        # both reductions halve exactly here (even inputs): the head's map is image_size / 4
        sizes_ok = [str(4 * side) for side in range(AUXILIARY_MIN, AUXILIARY_MAX + 1)]
        fitting = f"{', '.join(sizes_ok[:-1])} or {sizes_ok[-1]}"
        raise ValueError(
            f"auxiliary head needs feature maps of {AUXILIARY_MIN}x{AUXILIARY_MIN} to "
            f"{AUXILIARY_MAX}x{AUXILIARY_MAX} at cell {cell}; image_size {image_size} gives "
            f"{sizes[cell]}x{sizes[cell]}: use auxiliary: false or an image_size of {fitting}"
        )
    return sizes


def macro_feature_size(image_size: int, n_active_phases: int, entry_conv: bool) -> int:
    """Side of the last phase's output map of a macro network.

    Args:
        image_size: side of the square input images.
        n_active_phases: phases that are not vanished (a 2x2 max pool precedes each after the first).
        entry_conv: whether the first active phase starts with the unpadded 3x3 entry convolution (it does
            unless its output channels equal the 3 image channels).

    Returns:
        The side of the map the classifier averages (``image_size`` when no phase is active).

    Raises:
        ValueError: if ``image_size`` is not positive or leaves no pixel before a pooling or the classifier
            (naming the smallest size that works).
    """
    _check_positive(image_size)
    pools = max(n_active_phases - 1, 0)
    shrink = 2 if entry_conv and n_active_phases else 0
    smallest = 2**pools + shrink
    if image_size < smallest:
        steps = ["an unpadded 3x3 entry convolution (-2 pixels)"] if shrink else []
        steps += [f"{pools} 2x2 max pool{'s' if pools > 1 else ''} (halving)"] if pools else []
        raise ValueError(
            f"image_size {image_size} is too small for this macro network: {' and '.join(steps)} over its "
            f"{n_active_phases} active phases leave no pixel; it needs an image_size of at least {smallest}"
        )
    size = image_size - shrink
    for _ in range(pools):
        size //= 2
    return size
