"""Drawings of micro genotypes: the normal and the reduction cell side by side, as the original draws them.

Inputs ``h[i-1]`` and ``h[i]`` are green boxes, every block sum is a light-blue ``+`` node, edges carry the
short operation names, the blocks in the concat list feed a pink ``concat`` box and the cell output
``h[i+1]`` is yellow. Matplotlib only (no Graphviz); the layout is layered left to right.
"""

from __future__ import annotations

from collections.abc import Sequence

from matplotlib.figure import Figure

from nsga_lightning.spaces import MicroGenotype
from nsga_lightning.viz.composition import compose_figure
from nsga_lightning.viz.graph_layout import EdgeSpec, GraphSpec, NodeSpec
from nsga_lightning.viz.graph_render import TextMeasurer, make_panel

INPUT_COLOR = "#b8e6b0"
BLOCK_COLOR = "#add8e6"
CONCAT_COLOR = "#f6b8c8"
OUTPUT_COLOR = "#f5e38a"

SHORT_OP_NAMES: dict[str, str] = {
    "max_pool_3x3": "max 3x3",
    "avg_pool_3x3": "avg 3x3",
    "skip_connect": "identity",
    "sep_conv_3x3": "sep 3x3",
    "sep_conv_5x5": "sep 5x5",
    "sep_conv_7x7": "sep 7x7",
    "dil_conv_3x3": "dil 3x3",
    "dil_conv_5x5": "dil 5x5",
    "conv_7x1_1x7": "7x1 1x7",
    "none": "zero",
}


def short_op_name(op: str) -> str:
    """The edge label of an op, e.g. ``"sep_conv_3x3" -> "sep 3x3"`` (unknown ops: underscores to spaces)."""
    return SHORT_OP_NAMES.get(op, op.replace("_", " "))


def cell_graph(units: Sequence[tuple[str, int]], concat: Sequence[int], prefix: str = "") -> GraphSpec:
    """The graph of one cell: inputs, one ``+`` node per block, labelled unit edges, concat and output.

    Args:
        units: ``(op, input)`` pairs, two per block (input 0 = ``h[i-1]``, 1 = ``h[i]``, k >= 2 = block k-2).
        concat: node indices (>= 2) concatenated into the cell output.
        prefix: prepended to every node id (``in0``, ``in1``, ``b0``.., ``concat``, ``out``), so that two
            cells in one figure have distinct ids.

    Raises:
        ValueError: if an input or concat index does not name an earlier node.
    """
    n_blocks = len(units) // 2
    names = [f"{prefix}in0", f"{prefix}in1"] + [f"{prefix}b{b}" for b in range(n_blocks)]
    concat_id, out_id = f"{prefix}concat", f"{prefix}out"
    nodes = [NodeSpec(names[0], "h[i-1]", "box", INPUT_COLOR), NodeSpec(names[1], "h[i]", "box", INPUT_COLOR)]
    nodes += [NodeSpec(name, "+", "circle", BLOCK_COLOR) for name in names[2:]]
    nodes.append(NodeSpec(concat_id, "concat", "box", CONCAT_COLOR))
    nodes.append(NodeSpec(out_id, "h[i+1]", "box", OUTPUT_COLOR))
    edges = []
    for position, (op, index) in enumerate(units):
        block = position // 2
        if not 0 <= index < block + 2:
            raise ValueError(
                f"unit {position} reads node {index}; block {block} may read nodes 0..{block + 1}"
            )
        edges.append(EdgeSpec(names[index], names[block + 2], short_op_name(op)))
    for index in concat:
        if not 2 <= index < n_blocks + 2:
            raise ValueError(f"concat index {index} is not a block node 2..{n_blocks + 1}")
        edges.append(EdgeSpec(names[index], concat_id))
    edges.append(EdgeSpec(concat_id, out_id))
    return GraphSpec(tuple(nodes), tuple(edges), "LR")


def micro_figure(genotype: MicroGenotype, title: str | None = None) -> Figure:
    """A figure with the normal cell (left) and the reduction cell (right) of ``genotype``.

    Args:
        genotype: the cells to draw.
        title: optional heading, e.g. the genotype's name.

    Returns:
        A Matplotlib figure on an Agg canvas (not registered with pyplot).
    """
    measurer = TextMeasurer()
    normal = cell_graph(genotype.normal, genotype.normal_concat, "normal.")
    reduce = cell_graph(genotype.reduce, genotype.reduce_concat, "reduce.")
    panels = [make_panel(normal, "normal cell", measurer), make_panel(reduce, "reduction cell", measurer)]
    return compose_figure(panels, measurer, title=title)
