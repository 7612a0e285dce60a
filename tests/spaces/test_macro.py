"""Macro space: bit layout, graph repair, bad input, canonical keys; zoo and genotype resolution."""

import itertools

import numpy as np
import pytest

from nsga_lightning.spaces import (
    MACRO_ZOO,
    MacroSpace,
    macro_genotype,
    make_space,
    micro_genotype,
    resolve_genotype,
)
from nsga_lightning.spaces.macro import decode_phase, flatten_nested, nested_genome
from nsga_lightning.spaces.zoo import NSGANET_MACRO_NESTED

PUBLISHED_FLAT = [1, 0, 0, 0, 1, 0, 0, 1, 1, 1, 1, 0, 0, 1, 1, 0,
                  0, 0, 0, 0, 1, 0, 0, 1, 0, 1, 1, 1, 1, 1, 1, 0,
                  0, 0, 1, 1, 0, 1, 1, 0, 1, 1, 1, 0, 0, 1, 1, 0]


@pytest.mark.parametrize(("n_nodes", "n_var"), [(4, 21), (5, 33), (6, 48)])
def test_genome_lengths(n_nodes, n_var):
    assert MacroSpace(n_nodes).n_var == n_var


def test_published_genome_flat_and_nested_agree():
    assert list(flatten_nested(NSGANET_MACRO_NESTED)) == PUBLISHED_FLAT
    assert nested_genome(PUBLISHED_FLAT, 6) == [list(p) for p in NSGANET_MACRO_NESTED]
    assert macro_genotype("NSGANet").bits == tuple(PUBLISHED_FLAT)


def test_published_genome_repairs_to_the_measured_graphs():
    phases = MacroSpace(6).decode(PUBLISHED_FLAT).phases
    expected = [
        ({1: [0], 2: [1], 3: [0], 4: [2], 5: [2, 3, 4], 6: [1, 4, 5]}, [6]),
        ({1: [0], 2: [0], 3: [0], 4: [2], 5: [2, 4], 6: [1, 2, 3, 4, 5]}, [6]),
        ({1: [0], 2: [0], 3: [2], 4: [1, 3], 5: [1, 3, 4], 6: [1, 4, 5]}, [6]),
    ]
    for phase, (nodes, output) in zip(phases, expected):
        assert {i + 1: list(p) for i, p in enumerate(phase.inputs)} == nodes
        assert list(phase.output) == output


def test_repair_rules():
    # 4 nodes: groups [b12], [b13, b23], [b14, b24, b34], skip
    # only edge 1->3: node 1 reads input, 3 reads 1 and feeds output, nodes 2 and 4 vanish
    phase = decode_phase([0, 1, 0, 0, 0, 0, 1], 4)
    assert phase.inputs == ((0,), None, (1,), None)
    assert phase.output == (0, 3)  # skip bit set: the phase input joins the output first
    # all connection bits zero: the phase vanishes whatever the skip bit
    assert decode_phase([0, 0, 0, 0, 0, 0, 1], 4) is None
    # two sinks both feed the output
    phase = decode_phase([1, 1, 0, 0, 0, 0, 0], 4)
    assert phase.inputs == ((0,), (1,), (1,), None) and phase.output == (2, 3)


def test_all_zero_genome_has_no_active_phase():
    genotype = MacroSpace(4).decode([0] * 21)
    assert genotype.active_phases == ()


@pytest.mark.parametrize(
    ("genome", "message"),
    [
        ([0] * 20, "has 21 integers"),
        ([2] + [0] * 20, r"position 0 \(phase 1 edge node 1 -> node 2\): value 2 outside the allowed range 0..1"),
        ([0] * 6 + [-1] + [0] * 14, r"position 6 \(phase 1 skip bit\)"),
        ([0] * 8 + [5] + [0] * 12, r"position 8 \(phase 2 edge node 1 -> node 3\)"),
    ],
)
def test_bad_genomes(genome, message):
    with pytest.raises(ValueError, match=message):
        MacroSpace(4).decode(genome)


def test_bad_space_options():
    with pytest.raises(ValueError, match="n_nodes must be one of"):
        MacroSpace(7)
    with pytest.raises(ValueError, match="unknown search space 'meso'; choose one of: micro, macro"):
        make_space("meso")


def _relabel(bits, n_nodes, perm):
    """Genome of the same phase with nodes renumbered by ``perm`` (must keep edges forward)."""
    phase = decode_phase(bits, n_nodes)
    edges = {(perm[s], perm[d]) for d in phase.active_nodes for s in phase.inputs[d - 1] if s}
    if any(s >= d for s, d in edges):
        return None
    new = []
    for j in range(1, n_nodes):
        new += [int((k, j + 1) in edges) for k in range(1, j + 1)]
    return new + [bits[-1]]


@pytest.mark.parametrize("seed", range(15))
def test_isomorphic_phases_share_a_key(seed):
    space = MacroSpace(5)
    rng = np.random.default_rng(seed)
    genome = space.sample(rng, 1)[0].tolist()
    per = 11
    twins = 0
    for perm in itertools.permutations(range(1, 6)):
        mapping = {0: 0, **{i + 1: p for i, p in enumerate(perm)}}
        phases = [_relabel(genome[p * per:(p + 1) * per], 5, mapping) for p in range(3)]
        if any(ph is None for ph in phases) or any(decode_phase(genome[p * per:(p + 1) * per], 5) is None
                                                   for p in range(3)):
            continue
        twin = [bit for phase in phases for bit in phase]
        assert space.key(twin) == space.key(genome)
        twins += 1
    assert twins >= 1


def test_vanished_phases_drop_out_of_the_key():
    space = MacroSpace(4)
    a = [1, 0, 0, 0, 0, 0, 0]
    b = [1, 1, 0, 0, 0, 0, 0]
    off = [0, 0, 0, 0, 0, 0, 1]  # inactive even with the skip bit
    assert space.key(off + a + b) == space.key(a + off + b) == space.key(a + b + off)
    assert space.key(a + b + off) != space.key(b + a + off)
    assert space.key(a + a + b) != space.key(a + b + b)


def test_distinct_graphs_get_distinct_keys():
    space = MacroSpace(4)
    keys = {}
    for bits in itertools.product([0, 1], repeat=7):
        phase = decode_phase(list(bits), 4)
        if phase is None:
            continue
        k = space.key(list(bits) * 3)
        keys.setdefault(k, set()).add(
            (frozenset((s, d) for d in phase.active_nodes for s in phase.inputs[d - 1]), phase.output))
    # each key holds only isomorphic graphs: same number of nodes, edges and output width
    for graphs in keys.values():
        sizes = {(len(edges), len(out)) for edges, out in graphs}
        assert len(sizes) == 1
    assert len(keys) > 20


def test_zoo_lookup_and_resolution():
    assert set(MACRO_ZOO) == {"NSGANet"}
    with pytest.raises(KeyError, match="known: NSGANet, DARTS, NASNet, AmoebaNet, ENAS"):
        micro_genotype("nsganet")
    with pytest.raises(KeyError, match="unknown macro genotype 'X'; known: NSGANet"):
        macro_genotype("X")
    assert resolve_genotype("macro", PUBLISHED_FLAT) == macro_genotype("NSGANet")
    assert resolve_genotype("macro", {"genome": PUBLISHED_FLAT, "n_nodes": 6}) == macro_genotype("NSGANet")
    assert resolve_genotype("micro", micro_genotype("DARTS").to_dict()) == micro_genotype("DARTS")
    with pytest.raises(ValueError, match="genotype must be a zoo name"):
        resolve_genotype("micro", 3.5)
    with pytest.raises(ValueError, match="cannot be used in the micro space"):
        resolve_genotype("micro", macro_genotype("NSGANet"))
