"""Drawings of macro genotypes: one left-to-right row per active phase, rows stacked top to bottom.

For each active phase: its entry node ``0`` (the phase input after the entry conv, a double circle), its
computation nodes ``1..n`` with the repaired edges, the skip edge (dashed, input to output) when the skip bit
is set, and the phase output ``out`` (dark green). A ``max pool 2x2`` box starts every later row, joined to
the previous phase's output by an elbow arrow; ``global avg pool`` and ``linear`` close the network.
Vanished phases are left out and named in the caption.
"""

from __future__ import annotations

from matplotlib.figure import Figure

from nsga_lightning.spaces import MacroGenotype, PhaseGraph
from nsga_lightning.viz.composition import compose_figure
from nsga_lightning.viz.graph_layout import EdgeSpec, GraphSpec, NodeSpec, Spacing
from nsga_lightning.viz.graph_render import TextMeasurer, make_panel

INPUT_COLOR = "#b8e6b0"
NODE_COLOR = "#add8e6"
OUTPUT_COLOR = "#2e7d4f"
POOL_COLOR = "#f9c98b"
HEAD_COLOR = "#d5d5d5"
MACRO_SPACING = Spacing(rank_sep=0.42, node_sep=0.22, edge_sep=0.12, cluster_pad=0.12)


def _phase_nodes(number: int, phase: PhaseGraph) -> tuple[list[NodeSpec], list[EdgeSpec], str, str]:
    """Nodes and edges of one phase; returns them with the ids of its entry and output nodes."""
    prefix = f"p{number}"
    entry, out = f"{prefix}n0", f"{prefix}out"
    group = f"phase{number}"
    nodes = [NodeSpec(entry, "0", "doublecircle", "white")]
    nodes += [
        NodeSpec(f"{prefix}n{j}", str(j), "circle", NODE_COLOR, group=group) for j in phase.active_nodes
    ]
    nodes.append(NodeSpec(out, "out", "circle", OUTPUT_COLOR, textcolor="white"))
    edges = [
        EdgeSpec(f"{prefix}n{k}", f"{prefix}n{j}")
        for j in phase.active_nodes
        for k in phase.inputs[j - 1] or ()
    ]
    edges += [EdgeSpec(f"{prefix}n{k}", out, "skip" if k == 0 else None, dashed=k == 0) for k in phase.output]
    return nodes, edges, entry, out


def macro_rows(genotype: MacroGenotype) -> tuple[list[GraphSpec], list[tuple[str, str]]]:
    """One left-to-right graph per active phase and the ``(out, pool)`` pairs that join consecutive rows.

    The first row starts at ``input``, every later one at the ``max pool 2x2`` that precedes its phase; the
    last row ends with ``global avg pool`` and ``linear``. With no active phase there is one row: input, head.
    """
    active = [(i + 1, p) for i, p in enumerate(genotype.phases) if p is not None]
    rows: list[GraphSpec] = []
    connectors: list[tuple[str, str]] = []
    for position, (number, phase) in enumerate(active):
        if position == 0:
            start = NodeSpec("input", "input", "box", INPUT_COLOR)
        else:
            start = NodeSpec(f"pool{number}", "max pool 2x2", "box", POOL_COLOR)
            connectors.append((f"p{active[position - 1][0]}out", start.id))
        nodes, edges, entry, out = _phase_nodes(number, phase)
        nodes, edges = [start, *nodes], [EdgeSpec(start.id, entry), *edges]
        if position == len(active) - 1:
            nodes, edges = _with_head(nodes, edges, out)
        rows.append(GraphSpec(tuple(nodes), tuple(edges), "LR", ((f"phase{number}", f"phase {number}"),)))
    if not active:
        nodes, edges = _with_head([NodeSpec("input", "input", "box", INPUT_COLOR)], [], "input")
        rows.append(GraphSpec(tuple(nodes), tuple(edges), "LR"))
    return rows, connectors


def _with_head(
    nodes: list[NodeSpec], edges: list[EdgeSpec], last: str
) -> tuple[list[NodeSpec], list[EdgeSpec]]:
    """Append the classifier head (global average pooling, linear) after node ``last``."""
    head = [
        NodeSpec("gap", "global avg pool", "box", HEAD_COLOR),
        NodeSpec("linear", "linear", "box", HEAD_COLOR),
    ]
    return nodes + head, edges + [EdgeSpec(last, "gap"), EdgeSpec("gap", "linear")]


def macro_caption(genotype: MacroGenotype) -> list[str]:
    """Caption lines: what node 0 means, what a dashed edge means where one is drawn, and which phases vanished."""
    skips = [i + 1 for i, p in enumerate(genotype.phases) if p is not None and 0 in p.output]
    skip_text = "dashed = skip bit (phase input to output)" if skips else "no skip bit set"
    lines = [f"{genotype.n_nodes} nodes per phase; node 0 = phase input (entry conv); {skip_text}"]
    vanished = [str(i + 1) for i, p in enumerate(genotype.phases) if p is None]
    if len(vanished) == len(genotype.phases):
        lines.append("all phases vanished (all connection bits 0): the body is the identity")
    elif vanished:
        noun = "phase" if len(vanished) == 1 else "phases"
        lines.append(f"{noun} {', '.join(vanished)} vanished (all connection bits 0), with its pooling layer")
    return lines


def macro_figure(genotype: MacroGenotype, title: str | None = None) -> Figure:
    """A figure of the whole macro network of ``genotype``.

    Args:
        genotype: the decoded (repaired) macro genotype.
        title: optional heading, e.g. the genotype's name.

    Returns:
        A Matplotlib figure on an Agg canvas (not registered with pyplot).
    """
    measurer = TextMeasurer()
    rows, connectors = macro_rows(genotype)
    panels = [make_panel(row, None, measurer, MACRO_SPACING) for row in rows]
    caption = macro_caption(genotype)
    return compose_figure(panels, measurer, title, caption, stacked=True, connectors=connectors)
