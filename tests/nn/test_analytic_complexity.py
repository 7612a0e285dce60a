"""The analytic count equals counting the built network, for the zoo and random genomes with every option."""

from __future__ import annotations

import numpy as np
import pytest

from nsga_lightning.nn import build_network, count_madds, count_parameters, layer_costs
from nsga_lightning.nn.analytic_complexity import Complexity, count_complexity
from nsga_lightning.spaces import MACRO_ZOO, MICRO_ZOO, MacroSpace, MicroGenotype, MicroSpace

# Small networks, every micro option: (build options, side MAdds are counted at)
MICRO_OPTIONS = [
    ({"init_channels": 8, "layers": 5}, 32),
    ({"init_channels": 8, "layers": 6, "filter_increment": 2, "se": True, "auxiliary": True}, 32),
    ({"init_channels": 6, "layers": 4, "filter_increment": 0, "num_classes": 100}, 32),
    ({"init_channels": 4, "layers": 3, "se": True, "image_size": 16, "num_classes": 7}, 16),
    ({"init_channels": 8, "layers": 5, "auxiliary": True, "image_size": 36}, 36),
    ({"init_channels": 4, "layers": 7, "filter_increment": 4, "image_size": 20}, 20),
    ({"init_channels": 4, "layers": 3, "auxiliary": True, "image_size": 40, "num_classes": 2}, 32),
    ({"init_channels": 2, "layers": 5, "se": True, "image_size": 8}, 8),
]
MACRO_OPTIONS = [
    ({"init_channels": 8}, 32),
    ({"init_channels": 4, "num_classes": 100}, 32),
    ({"decoder": "dense", "channels": [16, 16, 16]}, 32),
    ({"decoder": "dense", "channels": [3, 8, 4], "image_size": 12, "num_classes": 5}, 12),
    ({"channels": [3, 3, 6], "image_size": 7}, 7),
    ({"init_channels": 2, "image_size": 20}, 20),
]


def assert_counts_equal(space: str, genotype: object, options: dict, side: int) -> None:
    """The analytic count of ``genotype`` equals the counters applied to its built network."""
    net = build_network(space, genotype, **options)
    expected = Complexity(
        count_madds(net, (1, 3, side, side)),
        count_parameters(net),
        count_parameters(net, include_auxiliary=True),
    )
    assert count_complexity(space, genotype, **options, madds_image_size=side) == expected


@pytest.mark.parametrize(("options", "side"), MICRO_OPTIONS)
@pytest.mark.parametrize("name", sorted(MICRO_ZOO))
def test_micro_zoo(name, options, side):
    assert_counts_equal("micro", name, options, side)


@pytest.mark.parametrize(("options", "side"), MACRO_OPTIONS)
@pytest.mark.parametrize("name", sorted(MACRO_ZOO))
def test_macro_zoo(name, options, side):
    assert_counts_equal("macro", name, options, side)


@pytest.mark.parametrize("seed", range(24))
def test_random_micro_genomes(seed):
    rng = np.random.default_rng(seed)
    space = MicroSpace(n_blocks=(5, 5, 3, 1)[seed % 4])
    genotype = space.decode(space.sample(rng, 1)[0])
    options, side = MICRO_OPTIONS[seed % len(MICRO_OPTIONS)]
    assert_counts_equal("micro", genotype, options, side)


@pytest.mark.parametrize("seed", range(24))
def test_random_macro_genomes(seed):
    rng = np.random.default_rng(seed)
    n_nodes = (3, 4, 5, 6)[seed % 4]
    genome = MacroSpace(n_nodes).sample(rng, 1)[0]
    if seed % 5 == 0:  # a vanished phase (all connection bits zero) drops out with its pooling layer
        genome[: n_nodes * (n_nodes - 1) // 2] = 0
    options, side = MACRO_OPTIONS[seed % len(MACRO_OPTIONS)]
    assert_counts_equal("macro", genome.tolist(), {**options, "n_nodes": n_nodes}, side)


def test_macro_network_without_active_phases():
    assert_counts_equal("macro", [0] * MacroSpace(4).n_var, {"n_nodes": 4, "init_channels": 8}, 32)


def test_dead_nodes_hold_parameters_but_add_no_madds():
    # normal: input 0 never read and block 4 ("none") neither read nor concatenated; reduce: input 1 unread
    genotype = MicroGenotype(
        normal=(("sep_conv_3x3", 1), ("skip_connect", 1), ("dil_conv_5x5", 2), ("max_pool_3x3", 1),
                ("sep_conv_7x7", 1), ("none", 3)),
        normal_concat=(2, 3),
        reduce=(("conv_7x1_1x7", 0), ("skip_connect", 0), ("sep_conv_5x5", 2), ("avg_pool_3x3", 0)),
        reduce_concat=(3,),
    )
    for options, side in MICRO_OPTIONS[:3]:
        assert_counts_equal("micro", genotype, options, side)
    before = count_complexity("micro", genotype, init_channels=8, layers=5)
    heavier = genotype._replace(normal=genotype.normal[:-1] + (("sep_conv_7x7", 3),))  # in the dead block
    after = count_complexity("micro", heavier, init_channels=8, layers=5)
    assert after.params > before.params and after.madds == before.madds


@pytest.mark.parametrize(
    ("name", "options"),
    [
        ("NSGANet", {}),  # the micro search proxy: C=16, 8 cells
        ("NSGANet", {"init_channels": 34, "layers": 20, "filter_increment": 4, "auxiliary": True}),
    ],
)
def test_search_proxy_and_published_size(name, options):
    assert_counts_equal("micro", name, options, 32)
    assert_counts_equal("macro", name, {"init_channels": options.get("init_channels", 16)}, 32)


@pytest.mark.parametrize(
    ("space", "options"),
    [
        ("nano", {}),
        ("micro", {"decoder": "dense"}),
        ("micro", {"channels": [8, 8, 8]}),
        ("micro", {"layers": 2}),
        ("micro", {"init_channels": 0}),
        ("micro", {"num_classes": 0}),
        ("micro", {"filter_increment": -1}),
        ("micro", {"image_size": 30}),  # a reduction cell would get an odd map
        ("micro", {"auxiliary": True, "image_size": 16}),  # the auxiliary head needs 8x8 to 10x10 maps
        ("micro", {"genotype": "NoSuchNet"}),
        ("micro", {"genotype": [0, 1]}),
        ("macro", {"decoder": "sparse"}),
        ("macro", {"se": True}),
        ("macro", {"auxiliary": True}),
        ("macro", {"filter_increment": 2}),
        ("macro", {"init_channels": 0}),
        ("macro", {"channels": [8, 8]}),
        ("macro", {"num_classes": 0}),
        ("macro", {"image_size": 5}),
        ("macro", {"genotype": [1] * 66, "n_nodes": 7}),
    ],
)
def test_refuses_what_the_builder_refuses_with_its_message(space, options):
    options = dict(options)
    genotype = options.pop("genotype", "NSGANet")
    with pytest.raises((ValueError, KeyError)) as built:
        build_network(space, genotype, **options)
    with pytest.raises(built.type) as counted:
        count_complexity(space, genotype, **options)
    assert str(counted.value) == str(built.value)


@pytest.mark.parametrize(
    ("space", "genotype", "options"),
    [
        ("micro", "NSGANet", {"init_channels": 3, "layers": 3, "filter_increment": 1}),  # odd C after a reduction
        ("micro", MicroGenotype((("sep_conv_3x3", 0), ("sep_conv_3x3", 1)), (2,),
                                (("skip_connect", 1), ("max_pool_3x3", 0)), (2,)),  # stride-2 skip on odd C
         {"init_channels": 3, "layers": 3, "filter_increment": 2}),
    ],
)
def test_refuses_odd_channels_where_a_factorized_reduce_is_needed(space, genotype, options):
    with pytest.raises(ValueError):
        build_network(space, genotype, **options)
    with pytest.raises(ValueError, match="even"):
        count_complexity(space, genotype, **options)


@pytest.mark.parametrize(("space", "side"), [("micro", 18), ("macro", 5)])
def test_refuses_a_counted_size_the_network_cannot_run(space, side):
    net = build_network(space, "NSGANet")
    with pytest.raises(RuntimeError):
        count_madds(net, (1, 3, side, side))
    with pytest.raises(ValueError, match="image_size"):
        count_complexity(space, "NSGANet", madds_image_size=side)


def test_a_warm_count_builds_nothing(monkeypatch):
    genomes = MicroSpace().sample(np.random.default_rng(0), 3)
    warm = [count_complexity("micro", g.tolist()) for g in genomes]

    def refuse(*args, **kwargs):
        raise AssertionError("a warm count built a layer group")

    monkeypatch.setattr(layer_costs, "measure", refuse)
    monkeypatch.setattr("nsga_lightning.nn.micro.MicroNetwork.__init__", refuse)
    assert [count_complexity("micro", g.tolist()) for g in genomes] == warm
    layer_costs.op_cost.cache_clear()  # a cold count does build its layer groups
    with pytest.raises(AssertionError, match="built a layer group"):
        count_complexity("micro", genomes[0].tolist())
