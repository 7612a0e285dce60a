"""Layered (Sugiyama-style) layout of the small DAGs that architecture drawings show (pure geometry, numpy).

Nodes are put in layers by longest path from the sources. Ranks are doubled as Graphviz's ``dot`` does for
labelled edges: real nodes sit on even ranks and every edge passes through one virtual item on each odd (and
skipped even) rank it crosses. The item just before the edge's head carries the edge label and is as large as
the label, so labels take part in ordering and spacing like nodes and can never overlap a node or each other.
All lengths are in inches.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from itertools import pairwise

import numpy as np

SHAPES = ("box", "circle", "doublecircle")
DIRECTIONS = ("LR", "TB")
Size = tuple[float, float]
Point = tuple[float, float]
Item = tuple[int, float, float, bool]  # rank, size along the rank axis, size along the position axis, is real


@dataclass(frozen=True)
class NodeSpec:
    """One drawn node.

    Attributes:
        id: unique name within the graph.
        label: text inside the node (may be empty).
        shape: one of :data:`SHAPES`.
        facecolor: fill colour.
        textcolor: label colour.
        group: cluster id (a shaded background with a caption), or ``None``.
    """

    id: str
    label: str
    shape: str = "box"
    facecolor: str = "white"
    textcolor: str = "black"
    group: str | None = None


@dataclass(frozen=True)
class EdgeSpec:
    """A directed edge, optionally labelled (short text drawn on the edge) and dashed."""

    src: str
    dst: str
    label: str | None = None
    dashed: bool = False


@dataclass(frozen=True)
class GraphSpec:
    """A graph: nodes, edges, ``direction`` (``"LR"`` or ``"TB"``) and ``(group, caption)`` clusters."""

    nodes: tuple[NodeSpec, ...]
    edges: tuple[EdgeSpec, ...]
    direction: str = "LR"
    clusters: tuple[tuple[str, str], ...] = ()


@dataclass
class GraphLayout:
    """Where everything goes, in inches (y grows upwards).

    Attributes:
        centers: node id -> centre.
        routes: per edge, the points its curve passes through: tail centre, virtual items, head centre.
        label_centers: edge index -> centre of its label.
        axis: unit vector of the rank direction (curves leave and enter every point along it).
        clusters: group -> ``(x0, y0, x1, y1)`` rectangle.
    """

    centers: dict[str, Point]
    routes: list[list[Point]]
    label_centers: dict[int, Point]
    axis: Point
    clusters: dict[str, tuple[float, float, float, float]]


@dataclass(frozen=True)
class Spacing:
    """Gaps in inches: between ranks, between two real items of a rank, and otherwise (edges, labels)."""

    rank_sep: float = 0.5
    node_sep: float = 0.3
    edge_sep: float = 0.12
    cluster_pad: float = 0.12


DEFAULT_SPACING = Spacing()


def node_layers(spec: GraphSpec) -> dict[str, int]:
    """Longest-path layer of every node (sources are layer 0).

    Raises:
        ValueError: for a duplicate node id, an unknown shape, an edge to an unknown node or a cycle.
    """
    ids = [n.id for n in spec.nodes]
    if len(set(ids)) != len(ids):
        raise ValueError(f"duplicate node ids in {ids}")
    odd = [n.id for n in spec.nodes if n.shape not in SHAPES]
    if odd:
        raise ValueError(f"nodes {odd} have an unknown shape; allowed: {', '.join(SHAPES)}")
    preds: dict[str, list[str]] = {i: [] for i in ids}
    for e in spec.edges:
        if e.src not in preds or e.dst not in preds:
            raise ValueError(f"edge {e.src}->{e.dst} names an unknown node; nodes: {ids}")
        preds[e.dst].append(e.src)
    layer: dict[str, int] = {}
    for _ in range(len(ids)):
        for i in ids:
            if i not in layer and all(p in layer for p in preds[i]):
                layer[i] = 1 + max((layer[p] for p in preds[i]), default=-1)
    if len(layer) != len(ids):
        raise ValueError(f"the graph has a cycle through {sorted(set(ids) - set(layer))}")
    return layer


def layout_graph(
    spec: GraphSpec,
    node_sizes: dict[str, Size],
    label_sizes: dict[int, Size],
    spacing: Spacing = DEFAULT_SPACING,
) -> GraphLayout:
    """Lay out ``spec`` given each node's ``(width, height)`` and each labelled edge's label size.

    Raises:
        ValueError: for an unknown direction, a cycle or an edge to an unknown node.
    """
    if spec.direction not in DIRECTIONS:
        raise ValueError(f"unknown direction {spec.direction!r}; allowed: {', '.join(DIRECTIONS)}")
    lr = spec.direction == "LR"
    layer = node_layers(spec)
    items: list[Item] = []
    item_of_node: dict[str, int] = {}
    for n in spec.nodes:
        w, h = node_sizes[n.id]
        item_of_node[n.id] = len(items)
        items.append((2 * layer[n.id], w if lr else h, h if lr else w, True))
    chains: list[list[int]] = []
    links: list[tuple[int, int]] = []
    for k, e in enumerate(spec.edges):
        chain = [item_of_node[e.src]]
        head_rank = 2 * layer[e.dst]
        for rank in range(2 * layer[e.src] + 1, head_rank):
            lw, lh = label_sizes[k] if (rank == head_rank - 1 and k in label_sizes) else (0.0, 0.0)
            chain.append(len(items))
            items.append((rank, lw if lr else lh, lh if lr else lw, lw > 0))
        chain.append(item_of_node[e.dst])
        links.extend(pairwise(chain))
        chains.append(chain)
    n_ranks = 1 + max(r for r, *_ in items)
    ranks: list[list[int]] = [[] for _ in range(n_ranks)]
    for i, (r, *_) in enumerate(items):
        ranks[r].append(i)
    ranks = _order(ranks, links)
    pos = _positions(ranks, links, items, spacing)
    extent = [max((items[i][1] for i in rank), default=0.0) for rank in ranks]
    rank_pos = np.zeros(n_ranks)
    for r in range(1, n_ranks):
        rank_pos[r] = rank_pos[r - 1] + (extent[r - 1] + extent[r]) / 2 + spacing.rank_sep / 2

    def xy(rank_coord: float, pos_coord: float) -> Point:
        return (float(rank_coord), float(-pos_coord)) if lr else (float(pos_coord), float(-rank_coord))

    centers = {n.id: xy(rank_pos[items[item_of_node[n.id]][0]], pos[item_of_node[n.id]]) for n in spec.nodes}
    routes = [[xy(rank_pos[items[i][0]], pos[i]) for i in chain] for chain in chains]
    label_centers = {k: routes[k][-2] for k in label_sizes if k < len(chains) and len(chains[k]) > 2}
    clusters = {}
    for group, _ in spec.clusters:
        member_ranks = [items[item_of_node[n.id]][0] for n in spec.nodes if n.group == group]
        if not member_ranks:
            continue
        lo, hi = min(member_ranks), max(member_ranks)
        inside = [i for r in range(lo, hi + 1) for i in ranks[r]]
        pad = spacing.cluster_pad
        r0, r1 = rank_pos[lo] - extent[lo] / 2 - pad, rank_pos[hi] + extent[hi] / 2 + pad
        p0 = min(pos[i] - items[i][2] / 2 for i in inside) - pad
        p1 = max(pos[i] + items[i][2] / 2 for i in inside) + pad
        (xa, ya), (xb, yb) = xy(r0, p0), xy(r1, p1)
        clusters[group] = (min(xa, xb), min(ya, yb), max(xa, xb), max(ya, yb))
    return GraphLayout(centers, routes, label_centers, (1.0, 0.0) if lr else (0.0, -1.0), clusters)


def _crossings(upper: list[int], lower: list[int], links: list[tuple[int, int]]) -> int:
    """Number of crossing links between two consecutive ranks."""
    pu = {item: i for i, item in enumerate(upper)}
    pl = {item: i for i, item in enumerate(lower)}
    pairs = [(pu[a], pl[b]) for a, b in links if a in pu and b in pl]
    return sum(1 for i, (a1, b1) in enumerate(pairs) for a2, b2 in pairs[i + 1:] if (a1 - a2) * (b1 - b2) < 0)


def _total_crossings(ranks: list[list[int]], links: list[tuple[int, int]]) -> int:
    return sum(_crossings(ranks[r], ranks[r + 1], links) for r in range(len(ranks) - 1))


def _order(ranks: list[list[int]], links: list[tuple[int, int]]) -> list[list[int]]:
    """Reduce crossings: barycentre sweeps down and up, keeping the best, then adjacent transpositions."""
    preds: dict[int, list[int]] = defaultdict(list)
    succs: dict[int, list[int]] = defaultdict(list)
    for a, b in links:
        succs[a].append(b)
        preds[b].append(a)
    current = [list(r) for r in ranks]
    best, best_count = [list(r) for r in current], _total_crossings(current, links)
    for sweep in range(16):
        down = sweep % 2 == 0
        neighbours = preds if down else succs
        for r in range(1, len(current)) if down else range(len(current) - 2, -1, -1):
            where = {item: i for rank in current for i, item in enumerate(rank)}
            current[r] = sorted(current[r], key=lambda item, w=where, ns=neighbours: _barycentre(item, w, ns))
        count = _total_crossings(current, links)
        if count < best_count:
            best, best_count = [list(r) for r in current], count
    for _ in range(8):
        improved = False
        for r, rank in enumerate(best):
            for i in range(len(rank) - 1):
                before = _local_crossings(best, r, links)
                rank[i], rank[i + 1] = rank[i + 1], rank[i]
                if _local_crossings(best, r, links) < before:
                    improved = True
                else:
                    rank[i], rank[i + 1] = rank[i + 1], rank[i]
        if not improved:
            break
    return best


def _barycentre(item: int, where: dict[int, int], neighbours: dict[int, list[int]]) -> float:
    """Mean index of an item's neighbours in the adjacent rank (its own index if it has none)."""
    ns = neighbours[item]
    return sum(where[n] for n in ns) / len(ns) if ns else float(where[item])


def _local_crossings(ranks: list[list[int]], r: int, links: list[tuple[int, int]]) -> int:
    count = _crossings(ranks[r - 1], ranks[r], links) if r > 0 else 0
    return count + (_crossings(ranks[r], ranks[r + 1], links) if r + 1 < len(ranks) else 0)


def _positions(
    ranks: list[list[int]], links: list[tuple[int, int]], items: list[Item], spacing: Spacing
) -> np.ndarray:
    """Coordinates along the position axis: items pulled to their neighbours' mean, order and gaps kept."""
    mean_of_neighbours = np.zeros((len(items), len(items)))
    for a, b in links:
        mean_of_neighbours[a, b] += 1.0
        mean_of_neighbours[b, a] += 1.0
    lonely = mean_of_neighbours.sum(axis=1) == 0
    mean_of_neighbours[lonely, lonely] = 1.0
    mean_of_neighbours /= mean_of_neighbours.sum(axis=1, keepdims=True)
    gaps = []
    pos = np.zeros(len(items))
    for rank in ranks:
        g = [
            (items[a][2] + items[b][2]) / 2
            + (spacing.node_sep if items[a][3] and items[b][3] else spacing.edge_sep)
            for a, b in pairwise(rank)
        ]
        gaps.append(np.array(g))
        offsets = np.concatenate([[0.0], np.cumsum(g)])
        pos[rank] = offsets - offsets[-1] / 2
    for sweep in range(40):
        for r in range(len(ranks)) if sweep % 2 == 0 else range(len(ranks) - 1, -1, -1):
            pos[ranks[r]] = _project(mean_of_neighbours[ranks[r]] @ pos, gaps[r])
    return pos - pos.min()


def _project(desired: np.ndarray, gaps: np.ndarray) -> np.ndarray:
    """Least-squares closest ``y`` to ``desired`` with ``y[i+1] - y[i] >= gaps[i]`` (adjacent violators)."""
    offsets = np.concatenate([[0.0], np.cumsum(gaps)])
    target = desired - offsets
    blocks: list[list[float]] = []  # [mean, count]
    for value in target:
        blocks.append([float(value), 1.0])
        while len(blocks) > 1 and blocks[-2][0] > blocks[-1][0]:
            m2, c2 = blocks.pop()
            m1, c1 = blocks.pop()
            blocks.append([(m1 * c1 + m2 * c2) / (c1 + c2), c1 + c2])
    fitted = np.concatenate([np.full(int(c), m) for m, c in blocks])
    return fitted + offsets
