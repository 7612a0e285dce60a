"""Micro space: bounds, decoding, round trips, bad input and canonical keys."""

import itertools

import numpy as np
import pytest

from nsga_lightning.spaces import MICRO_ZOO, OPS, MicroGenotype, MicroSpace
from nsga_lightning.spaces.micro import canonical_cell, live_nodes, loose_ends

NSGANET_GENOME = [2, 0, 0, 0, 6, 0, 0, 0, 6, 1, 3, 3, 0, 1, 4, 3, 3, 1, 3, 0,
                  1, 0, 3, 1, 5, 1, 0, 0, 2, 2, 6, 1, 2, 2, 1, 1, 6, 1, 5, 1]


def test_bounds_and_ops_match_the_original():
    space = MicroSpace()
    assert space.n_var == 40
    assert OPS[0] == "max_pool_3x3" and OPS[8] == "conv_7x1_1x7" and len(OPS) == 9
    cell = [8, 1, 8, 1, 8, 2, 8, 2, 8, 3, 8, 3, 8, 4, 8, 4, 8, 5, 8, 5]
    assert space.upper.tolist() == cell * 2
    assert space.lower.tolist() == [0] * 40


def test_published_nsganet_genome_decodes_to_the_zoo_genotype():
    space = MicroSpace()
    assert space.decode(NSGANET_GENOME) == MICRO_ZOO["NSGANet"]
    assert space.encode(MICRO_ZOO["NSGANet"]).tolist() == NSGANET_GENOME


@pytest.mark.parametrize("name", [n for n, g in MICRO_ZOO.items() if g.n_blocks == 5])
def test_zoo_round_trip_keeps_every_unit(name):
    space = MicroSpace()
    genotype = MICRO_ZOO[name]
    decoded = space.decode(space.encode(genotype))
    assert decoded.normal == genotype.normal and decoded.reduce == genotype.reduce
    assert decoded.normal_concat == loose_ends(genotype.normal)


def test_four_block_genotype_round_trips_in_a_four_block_space():
    space = MicroSpace(n_blocks=4)
    genotype = MICRO_ZOO["DARTS"]
    assert space.decode(space.encode(genotype)).normal == genotype.normal
    with pytest.raises(ValueError, match="5 blocks per cell, the genotype has 4"):
        MicroSpace().encode(genotype)


@pytest.mark.parametrize("seed", range(20))
def test_random_genomes_round_trip(seed):
    space = MicroSpace()
    genome = space.sample(np.random.default_rng(seed), 1)[0]
    assert np.array_equal(space.encode(space.decode(genome)), genome)
    assert MicroGenotype.from_dict(space.decode(genome).to_dict()) == space.decode(genome)


def test_sampling_stays_in_bounds_and_is_seeded():
    space = MicroSpace()
    a = space.sample(np.random.default_rng(1), 500)
    assert a.shape == (500, 40) and a.dtype == np.int64
    assert (a >= space.lower).all() and (a <= space.upper).all()
    assert (a.max(axis=0) == space.upper).all()  # every bound is reachable
    assert np.array_equal(a, space.sample(np.random.default_rng(1), 500))


def test_concat_is_the_loose_ends():
    genotype = MicroSpace().decode(NSGANET_GENOME)
    assert genotype.normal_concat == (2, 4, 5, 6) and genotype.reduce_concat == (3, 4, 5, 6)


@pytest.mark.parametrize(
    ("genome", "message"),
    [
        ([0] * 39, "has 40 integers"),
        ([0] * 41, "has 40 integers"),
        ([9] + [0] * 39, r"position 0 \(normal block 0 unit A op\): value 9 outside the allowed range 0..8"),
        ([0, 2] + [0] * 38, r"position 1 \(normal block 0 unit A input\): value 2 outside the allowed range 0..1"),
        ([0] * 39 + [6], r"position 39 \(reduce block 4 unit B input\): value 6 outside the allowed range 0..5"),
        ([0] * 5 + [-1] + [0] * 34, "position 5 .* value -1"),
        ([0.5] + [0] * 39, "position 0: value 0.5 is not an integer"),
        (["a"] * 40, "must hold integers"),
    ],
)
def test_bad_genomes_name_the_position_and_range(genome, message):
    with pytest.raises(ValueError, match=message):
        MicroSpace().decode(genome)


def test_bad_genotypes_are_rejected():
    data = MICRO_ZOO["NSGANet"].to_dict()
    data["normal"][0] = ["conv_9x9", 0]
    with pytest.raises(ValueError, match="unknown op 'conv_9x9'; allowed: max_pool_3x3"):
        MicroGenotype.from_dict(data)
    data = MICRO_ZOO["NSGANet"].to_dict()
    data["reduce"][2] = ["skip_connect", 3]
    with pytest.raises(ValueError, match="reduce unit 2: input 3 outside the allowed range 0..2"):
        MicroGenotype.from_dict(data)
    with pytest.raises(ValueError, match="missing \\['reduce_concat'\\]"):
        MicroGenotype.from_dict({k: v for k, v in MICRO_ZOO["NSGANet"].to_dict().items() if k != "reduce_concat"})
    with pytest.raises(ValueError, match="n_blocks must be >= 1"):
        MicroSpace(0)


# --- canonical keys -----------------------------------------------------------------------------------------

def _cell_blocks(cell):
    return [cell[i:i + 4] for i in range(0, 20, 4)]


def _swap_units(cell, rng):
    out = []
    for block in _cell_blocks(cell):
        out += block[2:] + block[:2] if rng.random() < 0.5 else block
    return out


def _valid_orders(cell):
    """All block orders that keep inputs before readers, with the renumbered cells."""
    blocks = _cell_blocks(cell)
    results = []
    for order in itertools.permutations(range(5)):
        rename = {0: 0, 1: 1, **{old + 2: new + 2 for new, old in enumerate(order)}}
        new = []
        ok = True
        for pos, old in enumerate(order):
            a_op, a_in, b_op, b_in = blocks[old]
            if rename[a_in] >= pos + 2 or rename[b_in] >= pos + 2:
                ok = False
                break
            new += [a_op, rename[a_in], b_op, rename[b_in]]
        if ok:
            results.append(new)
    return results


@pytest.mark.parametrize("seed", range(30))
def test_equivalent_genomes_share_a_key(seed):
    space = MicroSpace()
    rng = np.random.default_rng(seed)
    genome = space.sample(rng, 1)[0].tolist()
    normal, reduce = genome[:20], genome[20:]
    orders_n, orders_r = _valid_orders(normal), _valid_orders(reduce)
    for _ in range(5):
        twin_n = _swap_units(orders_n[rng.integers(len(orders_n))], rng)
        twin_r = _swap_units(orders_r[rng.integers(len(orders_r))], rng)
        assert space.key(twin_n + twin_r) == space.key(genome)


def _unit_forms(cell):
    return [tuple(sorted([tuple(b[:2]), tuple(b[2:])])) for b in _cell_blocks(cell)]


def _equivalent_by_brute_force(cell_a, cell_b):
    """True if some block order of ``cell_a`` plus unit swaps gives ``cell_b`` exactly."""
    target = _unit_forms(cell_b)
    return any(_unit_forms(candidate) == target for candidate in _valid_orders(cell_a))


def test_canonical_form_is_exact_against_brute_force():
    rng = np.random.default_rng(7)
    # A small op/input alphabet makes look-alike cells (same nodes, different wiring) frequent.
    originals = []
    for _ in range(40):
        cell = []
        for b in range(5):
            cell += [int(rng.integers(0, 2)), int(rng.integers(0, b + 2)), int(rng.integers(0, 2)),
                     int(rng.integers(0, b + 2))]
        originals.append(cell)
    twins = []
    for cell in originals:
        orders = _valid_orders(cell)
        twins.append(_swap_units(orders[rng.integers(len(orders))], rng))
    cells = originals + twins
    equal_pairs = 0
    for a, b in itertools.combinations(cells, 2):
        same_form = canonical_cell(np.array(a)) == canonical_cell(np.array(b))
        assert same_form == _equivalent_by_brute_force(a, b), (a, b)
        equal_pairs += same_form
    assert equal_pairs >= len(originals)  # both outcomes were exercised
    space = MicroSpace()
    assert space.key(NSGANET_GENOME) != space.key(NSGANET_GENOME[20:] + NSGANET_GENOME[:20])


def test_shared_versus_separate_inputs_are_different_networks():
    # Block 2 and block 3 are both "max_pool(h[i-1]) + max_pool(h[i-1])"; wiring later blocks to one or the
    # other copy changes the network even though every node looks alike in isolation.
    x = [0, 0, 0, 0]
    a = x + x + [3, 2, 4, 2] + [5, 3, 6, 0] + [1, 0, 1, 0]
    b = x + x + [3, 2, 4, 3] + [5, 2, 6, 0] + [1, 0, 1, 0]
    assert canonical_cell(np.array(a)) != canonical_cell(np.array(b))


def test_live_nodes_are_what_the_concatenated_output_depends_on():
    units = [("sep_conv_3x3", 1), ("skip_connect", 1), ("max_pool_3x3", 2), ("sep_conv_5x5", 1),
             ("avg_pool_3x3", 0), ("dil_conv_3x3", 3)]
    assert live_nodes(units, (3,)) == {1, 2, 3}  # input 0 and block node 4 feed nothing that is output
    assert live_nodes(units, (3, 4)) == {0, 1, 2, 3, 4}
    for genotype in MICRO_ZOO.values():  # published cells use every input and every block
        for cell, concat in ((genotype.normal, genotype.normal_concat), (genotype.reduce, genotype.reduce_concat)):
            assert live_nodes(cell, concat) == set(range(len(cell) // 2 + 2))


def _canonical_by_every_order(genes):
    """The canonical form by brute force: every one of the n! block orders, the valid ones compared."""
    blocks = [((genes[i], genes[i + 1]), (genes[i + 2], genes[i + 3])) for i in range(0, len(genes), 4)]
    forms = []
    for order in itertools.permutations(range(len(blocks))):
        new_node = {0: 0, 1: 1, **{old + 2: new + 2 for new, old in enumerate(order)}}
        form = [tuple(sorted((op, new_node[idx]) for op, idx in blocks[old])) for old in order]
        if all(idx < position + 2 for position, units in enumerate(form) for _, idx in units):
            forms.append(tuple(form))
    return min(forms)


@pytest.mark.parametrize("n_blocks", [2, 3, 5])
def test_the_canonical_cell_is_the_smallest_form_over_every_block_order(n_blocks):
    space = MicroSpace(n_blocks=n_blocks)
    rng = np.random.default_rng(n_blocks)
    cells = [g[: space.n_var // 2] for g in space.sample(rng, 300)]
    # the most symmetric cells too: every block reads only the two cell inputs
    cells += [np.array([v for _ in range(n_blocks) for v in (rng.integers(0, 3), 0, rng.integers(0, 3), 1)])
              for _ in range(100)]
    for genes in cells:
        assert canonical_cell(genes) == _canonical_by_every_order([int(g) for g in genes]), genes
