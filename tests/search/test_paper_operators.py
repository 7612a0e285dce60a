"""The paper's operators that its code lacked: the prior-knowledge initial population and the homogeneous
crossover; each a switch in the fingerprint, resumable like the published loop, off by default."""

from __future__ import annotations

import logging
import re

import numpy as np
import pytest
from search_helpers import AnalyticEvaluator, make_runner, snapshot, space_by_name

from nsga_lightning.search.build import check_config
from nsga_lightning.search.core.records import ArchiveRow
from nsga_lightning.search.evolution.homogeneous_crossover import macro_children, micro_children
from nsga_lightning.search.evolution.initialization import initial_genomes, macro_phase_bits
from nsga_lightning.search.evolution.operators import NSGANetOperators
from nsga_lightning.search.proposers.exploitation import ChainNetwork, better_half, exploit
from nsga_lightning.spaces import MICRO_ZOO, make_space
from nsga_lightning.spaces.macro import bits_per_phase

PAPER = {"initialization": "prior", "crossover": "homogeneous"}


@pytest.mark.parametrize(("n_nodes", "vgg", "resnet", "densenet"), [
    (4, "1010010", "1010011", "1111110"),  # the 2018 code's 4-node strings (facts file, section 6.2)
    (6, "1010010001000010", "1010010001000011", "1111111111111110"),
])
def test_macro_phase_kinds_are_the_hand_crafted_strings(n_nodes, vgg, resnet, densenet):
    for kind, bits in (("vgg", vgg), ("resnet", resnet), ("densenet", densenet)):
        assert "".join(map(str, macro_phase_bits(kind, n_nodes))) == bits


def test_the_macro_prior_combines_the_phase_kinds_and_random_fills_the_rest():
    space = make_space("macro", n_nodes=6)
    operators = NSGANetOperators(space, 2, initialization="prior")
    pop = operators.initial(30, np.random.default_rng(0))
    keys = [ind.get("key") for ind in pop]
    assert len(keys) == len(set(keys)) == 30
    per_phase = bits_per_phase(6)
    prior = {tuple(macro_phase_bits(k, 6)) for k in ("vgg", "resnet", "densenet")}
    phases = [[tuple(ind.X[p * per_phase:(p + 1) * per_phase]) for p in range(3)] for ind in pop]
    assert all(set(p) <= prior for p in phases[:27])  # the 27 combinations first
    assert [len(set(p)) for p in phases[:3]] == [1, 1, 1]  # the homogeneous networks lead
    assert not all(set(p) <= prior for p in phases[27:])  # then random genomes
    small = NSGANetOperators(space, 2, initialization="prior").initial(8, np.random.default_rng(0))
    assert all({tuple(ind.X[p * per_phase:(p + 1) * per_phase]) for p in range(3)} <= prior for ind in small)


def test_the_micro_prior_is_the_zoo_cells_that_fit(caplog):
    space = make_space("micro", n_blocks=5)
    with caplog.at_level(logging.INFO):
        genomes = initial_genomes(space, "prior", [], np.random.default_rng(0))
    expected = [space.key(space.encode(MICRO_ZOO[n])) for n in ("NSGANet", "NASNet", "AmoebaNet", "ENAS")]
    assert [space.key(g) for g in genomes] == expected
    assert "DARTS skipped" in caplog.text  # 4 blocks per cell
    four = make_space("micro", n_blocks=4)
    assert [four.key(g) for g in initial_genomes(four, "prior", [], np.random.default_rng(0))] == [
        four.key(four.encode(MICRO_ZOO["DARTS"]))]


def test_given_architectures_come_first_and_duplicates_are_never_admitted():
    space = make_space("micro")
    nsganet = space.encode(MICRO_ZOO["NSGANet"])
    swapped = nsganet.copy()
    swapped[0:4] = np.r_[nsganet[2:4], nsganet[0:2]]  # the same network, units swapped
    given = [",".join(map(str, swapped)), "NSGANet", list(map(int, nsganet))]
    operators = NSGANetOperators(space, 2, initialization="prior", initial_architectures=given)
    pop = operators.initial(10, np.random.default_rng(0))
    keys = [ind.get("key") for ind in pop]
    assert len(set(keys)) == 10 and keys[0] == space.key(nsganet)
    assert keys.count(space.key(nsganet)) == 1
    only_given = NSGANetOperators(space, 2, initial_architectures=["ENAS"]).initial(5, np.random.default_rng(0))
    assert only_given[0].get("key") == space.key(space.encode(MICRO_ZOO["ENAS"]))


def test_random_initialization_draws_exactly_what_the_published_loop_draws():
    space = make_space("micro")
    operators = NSGANetOperators(space, 2)
    first = operators.initial(10, np.random.default_rng(3)).get("X")
    assert np.array_equal(first, operators.sample(10, np.random.default_rng(3)).get("X"))
    assert "initialization" not in operators.describe()  # the fingerprint of older runs is unchanged
    assert operators.describe()["crossover"]["class"] == "PointCrossover"


@pytest.mark.parametrize("seed", range(20))
def test_macro_children_keep_the_common_bits_and_never_lose_a_phase(seed):
    rng = np.random.default_rng(seed)
    space = make_space("macro", n_nodes=5)
    per_phase = bits_per_phase(5)
    a, b = space.sample(rng, 2)
    a[:per_phase - 1] = 0  # parent a lost phase 1; b keeps it
    b[0] = 1
    differ = a != b
    low, high = sorted((int(a[differ].sum()), int(b[differ].sum())))
    for child in macro_children(a, b, per_phase, rng):
        space.validate(child)
        assert np.array_equal(child[~differ], a[~differ])
        ones = int(child[differ].sum())
        assert low <= ones <= max(high - 1, low) + 1  # + 1: a repaired phase's first bit
        for p in range(3):
            connections = slice(p * per_phase, (p + 1) * per_phase - 1)
            if a[connections].any() or b[connections].any():
                assert child[connections].any()


@pytest.mark.parametrize("seed", range(20))
def test_micro_children_keep_shared_blocks_and_take_the_rest_whole(seed):
    rng = np.random.default_rng(seed)
    space = make_space("micro")
    a, b = space.sample(rng, 2)
    b[8:12] = np.r_[a[10:12], a[8:10]]  # block 2 of the normal cell shared up to unit order
    first, second = micro_children(a, b, rng)
    for child in (first, second):
        space.validate(child)
        assert np.array_equal(child[8:12], a[8:12])
        for start in range(0, a.size, 4):
            block = child[start:start + 4]
            assert np.array_equal(block, a[start:start + 4]) or np.array_equal(block, b[start:start + 4])
    for start in range(0, a.size, 4):  # the second child takes the other parent's block
        if not np.array_equal(first[start:start + 4], second[start:start + 4]):
            assert {tuple(first[start:start + 4]), tuple(second[start:start + 4])} == {
                tuple(a[start:start + 4]), tuple(b[start:start + 4])}


def _interrupted_then_resumed(run_dir, space: str, settings: dict, stop_at: tuple[int, int]) -> dict:
    """Run a search with ``settings`` until Ctrl-C before the candidate ``stop_at``, resume it; its snapshot."""
    evaluator = AnalyticEvaluator(stop_at=stop_at, signal="interrupt")
    with make_runner(run_dir, space=space, evaluator=evaluator, **settings) as runner, \
            pytest.raises(KeyboardInterrupt):
        runner.run()
    with make_runner(run_dir, space=space, **settings) as runner:
        runner.run()
    return snapshot(run_dir)


@pytest.mark.parametrize("space", ["micro", "macro6"])
def test_the_paper_operators_search_and_resume_identically(tmp_path, space):
    with make_runner(tmp_path / "reference", space=space, **PAPER) as runner:
        reference = runner.run()
    assert reference.status == "completed"
    assert _interrupted_then_resumed(tmp_path / "run", space, PAPER, (3, 2)) == snapshot(tmp_path / "reference")
    with make_runner(tmp_path / "published", space=space) as runner:
        runner.run()
    assert snapshot(tmp_path / "published")["rows"] != snapshot(tmp_path / "reference")["rows"]


@pytest.mark.parametrize(("given", "message"), [
    ({"crossover": "two_point"}, r'operators.crossover.class: stored "HomogeneousCrossover" -> given "PointCrossover"'),
    ({"initialization": "random", "crossover": "homogeneous"}, r"operators.initialization"),
])
def test_another_paper_setting_refuses_the_resume(tmp_path, given, message):
    with make_runner(tmp_path, n_gens=1, **PAPER) as runner:
        runner.run()
    with pytest.raises(ValueError, match=message):
        make_runner(tmp_path, n_gens=2, **given)


@pytest.mark.parametrize(("search", "message"), [
    ({"crossover": "uniform"}, "crossover"),
    ({"initialization": "hand"}, "initialization"),
    ({"n_gens": 3, "exploitation_gens": 3}, r"exploitation_gens must be an integer from 0 to n_gens - 1 \(2\), got 3"),
    ({"initial_architectures": ["NASNet", "Resnet"]}, "'Resnet' is neither a micro zoo name"),
])
def test_bad_paper_settings_are_one_line(search, message):
    config = {"search": {"pop_size": 2, "run_dir": "run", **search},
              "data": {"class_path": "nsga_lightning.data.DigitsDataModule"}}
    with pytest.raises(ValueError, match=message):
        check_config(config)


def test_an_initial_architecture_that_does_not_fit_names_it():
    with pytest.raises(ValueError, match=r"search.initial_architectures: 'Resnet' is neither a micro zoo name"):
        NSGANetOperators(space_by_name("micro"), 2, initial_architectures=["Resnet"])
    with pytest.raises(ValueError, match=r"initial_architectures: \[1, 2\] is not a micro genome"):
        NSGANetOperators(space_by_name("micro"), 2, initial_architectures=[[1, 2]])


# -- exploitation: the Bayesian network of the archive ---------------------------------------------------------

def _row(key: str, genome, error: float, madds: float, status: str = "ok", generation: int = 0) -> ArchiveRow:
    return ArchiveRow(key, list(genome), None, generation, 0, status, {"error": error, "madds": madds}, 1.0, None, "")


def test_the_better_half_is_whole_fronts_in_order():
    rows = [_row("d", [0], 4, 4), _row("c", [0], 3, 2), _row("b", [0], 2, 3), _row("a", [0], 1, 1),
            _row("f", [0], 0, 0, status="failed")]
    # half of 4 is 2: the first front (a) is not enough, the whole second front (b, c) comes too
    assert [r.key for r in better_half(rows, ("error", "madds"))] == ["a", "b", "c"]
    assert better_half([], ("error", "madds")) == []


def test_without_smoothing_the_network_only_joins_neighbours_it_has_seen():
    space = make_space("macro", n_nodes=4)
    rng = np.random.default_rng(0)
    fitted = space.sample(rng, 6)
    network = ChainNetwork(space, fitted, alpha=0.0)
    per_phase = bits_per_phase(4)
    phases = [[tuple(g[p * per_phase:(p + 1) * per_phase]) for p in range(3)] for g in fitted]
    pairs = {(p[i], p[i + 1]) for p in phases for i in range(2)}
    for _ in range(200):
        child = network.sample(rng)
        drawn = [tuple(child[p * per_phase:(p + 1) * per_phase]) for p in range(3)]
        assert drawn[0] in {p[0] for p in phases}
        assert (drawn[0], drawn[1]) in pairs and (drawn[1], drawn[2]) in pairs


def test_smoothing_keeps_unseen_values_possible_and_micro_children_are_valid():
    space = make_space("micro")
    nsganet = space.encode(MICRO_ZOO["NSGANet"])
    network = ChainNetwork(space, np.array([nsganet] * 4), alpha=1.0)
    rng = np.random.default_rng(0)
    children = [network.sample(rng) for _ in range(200)]
    for child in children:
        space.validate(child)
    same = sum(np.array_equal(c, nsganet) for c in children)
    assert 0 < same < 200  # mostly copied (block by block, 4/5 each), sometimes a new block
    again = ChainNetwork(space, np.array([nsganet] * 4), alpha=1.0)
    assert all(np.array_equal(a, again.sample(b)) for a, b in
               zip([network.sample(np.random.default_rng(7))], [np.random.default_rng(7)]))


def test_exploit_draws_new_keys_only():
    space = make_space("macro", n_nodes=4)
    genomes = space.sample(np.random.default_rng(1), 10)
    rows = [_row(space.key(g), g, float(i), float(10 - i)) for i, g in enumerate(genomes)]
    taken = {r.key for r in rows}
    children = exploit(space, rows, ("error", "madds"), 8, np.random.default_rng(0), taken)
    keys = [space.key(c) for c in children]
    assert len(set(keys)) == len(keys) and not set(keys) & taken and len(children) == 8


@pytest.mark.parametrize("space", ["micro", "macro6"])
def test_the_exploitation_generations_resume_identically(tmp_path, space, caplog):
    settings = {**PAPER, "exploitation_gens": 2}
    with caplog.at_level(logging.INFO), make_runner(tmp_path / "reference", space=space, **settings) as runner:
        runner.run()
    assert re.findall(r"generation (\d+): 6 of 6 children from the Bayesian", caplog.text) == ["3", "4"]
    assert _interrupted_then_resumed(tmp_path / "run", space, settings, (4, 3)) == snapshot(tmp_path / "reference")
    with make_runner(tmp_path / "mated", space=space, **PAPER) as runner:
        runner.run()
    mated, exploited = snapshot(tmp_path / "mated")["rows"], snapshot(tmp_path / "reference")["rows"]
    assert [r for r in mated if r[3] < 3] == [r for r in exploited if r[3] < 3]  # the same until generation 3
    assert [r for r in mated if r[3] >= 3] != [r for r in exploited if r[3] >= 3]


def test_another_exploitation_setting_refuses_the_resume_and_a_negative_one_is_refused(tmp_path):
    with make_runner(tmp_path / "a", n_gens=2, exploitation_gens=1) as runner:
        runner.run()
    with pytest.raises(ValueError, match=r"exploitation"):
        make_runner(tmp_path / "a", n_gens=3)
    with pytest.raises(ValueError, match="exploitation_gens must be an integer >= 0"):
        make_runner(tmp_path / "b", exploitation_gens=-1)


def test_exploitation_gens_must_leave_the_initial_generation(tmp_path):
    with pytest.raises(ValueError, match=r"exploitation_gens \(5\) must be below n_gens \(5\)"):
        make_runner(tmp_path / "run", n_gens=5, exploitation_gens=5)
    assert not (tmp_path / "run").exists()


def test_the_network_reproduces_the_archives_conditional_frequencies():
    space = make_space("macro", n_nodes=4)
    per_phase = bits_per_phase(4)
    a, b, c = (np.array(macro_phase_bits(k, 4)) for k in ("vgg", "resnet", "densenet"))
    # phase 1: a (3 rows) or b (1 row); phase 2 follows phase 1: a -> c always, b -> a; phase 3: copy of phase 2
    genomes = [np.r_[a, c, c]] * 3 + [np.r_[b, a, a]]
    network = ChainNetwork(space, np.array(genomes), alpha=0.0)
    rng = np.random.default_rng(0)
    draws = [network.sample(rng) for _ in range(4000)]
    first = np.mean([np.array_equal(d[:per_phase], a) for d in draws])
    assert first == pytest.approx(0.75, abs=0.03)
    for d in draws:
        expected = c if np.array_equal(d[:per_phase], a) else a
        assert np.array_equal(d[per_phase:2 * per_phase], expected)
        assert np.array_equal(d[2 * per_phase:], d[per_phase:2 * per_phase])
    smoothed = ChainNetwork(space, np.array(genomes), alpha=1.0)  # 1 / (4 + 1) of first phases are uniform
    draws = [smoothed.sample(rng) for _ in range(4000)]
    first = np.mean([np.array_equal(d[:per_phase], a) for d in draws])
    assert first == pytest.approx(0.8 * 0.75 + 0.2 / 2 ** per_phase, abs=0.03)


@pytest.mark.parametrize(("name", "options"), [("micro", {"n_blocks": 2}), ("micro", {"n_blocks": 5}),
                                               ("micro", {"n_blocks": 7}), ("macro", {"n_nodes": 3}),
                                               ("macro", {"n_nodes": 5}), ("macro", {"n_nodes": 6})])
def test_every_paper_operator_gives_valid_genomes(name, options):
    space = make_space(name, **options)
    for seed in range(10):
        rng = np.random.default_rng(seed)
        for genome in initial_genomes(space, "prior", [], rng):
            space.validate(genome)
        a, b = space.sample(rng, 2)
        children = (macro_children(a, b, space.n_var // 3, rng) if name == "macro" else micro_children(a, b, rng))
        network = ChainNetwork(space, space.sample(rng, 6))
        for genome in [*children, *(network.sample(rng) for _ in range(5))]:
            space.validate(genome)
