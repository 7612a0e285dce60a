"""The analytic count equals counting the built network, for the zoo and random genomes with every option."""

from __future__ import annotations

import inspect

import numpy as np
import pytest

from nsga_lightning.nn import build_network, count_madds, count_parameters, layer_costs
from nsga_lightning.nn.analytic_complexity import Complexity, count_complexity
from nsga_lightning.spaces import MACRO_ZOO, MICRO_ZOO, MacroSpace, MicroGenotype, MicroSpace

# Small networks, every micro option (MAdds are counted at each network's image_size and in_channels)
MICRO_OPTIONS = [
    {"init_channels": 8, "layers": 5},
    {"init_channels": 8, "layers": 6, "filter_increment": 2, "se": True, "auxiliary": True},
    {"init_channels": 6, "layers": 4, "filter_increment": 0, "num_classes": 100},
    {"init_channels": 4, "layers": 3, "se": True, "image_size": 16, "num_classes": 7},
    {"init_channels": 8, "layers": 5, "auxiliary": True, "image_size": 36, "in_channels": 1},
    {"init_channels": 4, "layers": 7, "filter_increment": 4, "image_size": 20, "in_channels": 4},
    {"init_channels": 4, "layers": 3, "auxiliary": True, "image_size": 40, "num_classes": 2},
    {"init_channels": 2, "layers": 5, "se": True, "image_size": 8},
    # the imagenet stem: the first cell reads its 1/4 map (FactorizedReduce) and its 1/8 map
    {"init_channels": 4, "layers": 3, "stem": "imagenet", "in_channels": 1},
    {"init_channels": 4, "layers": 4, "stem": "imagenet", "image_size": 61, "se": True, "in_channels": 4},
    {"init_channels": 2, "layers": 3, "image_size": 96, "num_classes": 5},  # auto: imagenet
    {"init_channels": 2, "layers": 3, "image_size": 224, "auxiliary": True},  # the imagenet auxiliary head
    {"init_channels": 4, "layers": 6, "filter_increment": 2, "stem": "imagenet", "image_size": 221, "auxiliary": True,
     "in_channels": 4},
    {"init_channels": 2, "layers": 3, "stem": "cifar", "image_size": 96, "in_channels": 4},
]
MACRO_OPTIONS = [
    {"init_channels": 8},
    {"init_channels": 4, "num_classes": 100},
    {"decoder": "dense", "channels": [16, 16, 16]},
    {"decoder": "dense", "channels": [3, 8, 4], "image_size": 12, "num_classes": 5},
    {"channels": [3, 3, 6], "image_size": 7},
    {"init_channels": 2, "image_size": 20},
    {"channels": [1, 2, 4], "image_size": 12, "in_channels": 1},  # the first phase keeps 1 channel: no entry conv
    {"channels": [4, 4, 8], "image_size": 20, "in_channels": 4, "stem": "cifar"},
    # the imagenet stem (no entry conv in the first phase)
    {"init_channels": 4, "stem": "imagenet", "image_size": 29, "in_channels": 1},
    {"decoder": "dense", "channels": [8, 8, 16], "stem": "imagenet", "image_size": 64, "in_channels": 4},
    {"init_channels": 2, "image_size": 96, "num_classes": 3},  # auto: imagenet
]


def assert_counts_equal(space: str, genotype: object, options: dict) -> None:
    """The analytic count of ``genotype`` equals the counters applied to its built network."""
    net = build_network(space, genotype, **options)
    expected = Complexity(count_madds(net), count_parameters(net), count_parameters(net, include_auxiliary=True))
    assert count_complexity(space, genotype, **options) == expected


def test_takes_exactly_the_builders_keywords():
    assert inspect.signature(count_complexity).parameters == inspect.signature(build_network).parameters


@pytest.mark.parametrize("options", MICRO_OPTIONS)
@pytest.mark.parametrize("name", sorted(MICRO_ZOO))
def test_micro_zoo(name, options):
    assert_counts_equal("micro", name, options)


@pytest.mark.parametrize("options", MACRO_OPTIONS)
@pytest.mark.parametrize("name", sorted(MACRO_ZOO))
def test_macro_zoo(name, options):
    assert_counts_equal("macro", name, options)


@pytest.mark.parametrize("seed", range(28))
def test_random_micro_genomes(seed):
    rng = np.random.default_rng(seed)
    space = MicroSpace(n_blocks=(5, 5, 3, 1)[seed % 4])
    genotype = space.decode(space.sample(rng, 1)[0])
    assert_counts_equal("micro", genotype, MICRO_OPTIONS[seed % len(MICRO_OPTIONS)])


@pytest.mark.parametrize("seed", range(22))
def test_random_macro_genomes(seed):
    rng = np.random.default_rng(seed)
    n_nodes = (3, 4, 5, 6)[seed % 4]
    genome = MacroSpace(n_nodes).sample(rng, 1)[0]
    if seed % 5 == 0:  # a vanished phase (all connection bits zero) drops out with its pooling layer
        genome[: n_nodes * (n_nodes - 1) // 2] = 0
    assert_counts_equal("macro", genome.tolist(), {**MACRO_OPTIONS[seed % len(MACRO_OPTIONS)], "n_nodes": n_nodes})


@pytest.mark.parametrize("in_channels", [1, 3, 4])
@pytest.mark.parametrize(
    ("space", "stem", "image_size"),
    [("micro", "cifar", 32), ("micro", "cifar", 64), ("micro", "imagenet", 32), ("micro", "imagenet", 64),
     ("micro", "imagenet", 96), ("micro", "imagenet", 224), ("macro", "cifar", 32), ("macro", "cifar", 64),
     ("macro", "imagenet", 29), ("macro", "imagenet", 64), ("macro", "imagenet", 96), ("macro", "imagenet", 224)],
)
def test_every_stem_and_image_channels_at_the_sizes_it_takes(space, stem, image_size, in_channels):
    options = {"init_channels": 2, "layers": 3} if space == "micro" else {"init_channels": 2}
    assert_counts_equal(space, "NSGANet", {**options, "stem": stem, "image_size": image_size,
                                           "in_channels": in_channels})


@pytest.mark.parametrize("image_size", [221, 224, 253, 256])
def test_the_imagenet_auxiliary_head_at_every_size_it_takes(image_size):
    options = {"init_channels": 2, "layers": 3, "auxiliary": True, "image_size": image_size, "in_channels": 1}
    assert_counts_equal("micro", "DARTS", options)
    with_head = count_complexity("micro", "DARTS", **options)
    assert with_head.params_total > with_head.params  # the ImageNet head's parameters, not the CIFAR head's
    cifar_head = build_network("micro", "DARTS", **{**options, "image_size": 32})
    imagenet_head = build_network("micro", "DARTS", **options)
    assert count_parameters(cifar_head.auxiliary_head) != count_parameters(imagenet_head.auxiliary_head)


@pytest.mark.parametrize("options", [{"init_channels": 8}, {"init_channels": 8, "image_size": 96, "in_channels": 1},
                                     {"channels": [1, 4, 8], "in_channels": 1, "image_size": 16}])
def test_macro_network_without_active_phases(options):
    assert_counts_equal("macro", [0] * MacroSpace(4).n_var, {"n_nodes": 4, **options})


def test_dead_nodes_hold_parameters_but_add_no_madds():
    # normal: input 0 never read and block 4 ("none") neither read nor concatenated; reduce: input 1 unread
    genotype = MicroGenotype(
        normal=(("sep_conv_3x3", 1), ("skip_connect", 1), ("dil_conv_5x5", 2), ("max_pool_3x3", 1),
                ("sep_conv_7x7", 1), ("none", 3)),
        normal_concat=(2, 3),
        reduce=(("conv_7x1_1x7", 0), ("skip_connect", 0), ("sep_conv_5x5", 2), ("avg_pool_3x3", 0)),
        reduce_concat=(3,),
    )
    for options in (*MICRO_OPTIONS[:3], MICRO_OPTIONS[8]):  # the last: the imagenet stem
        assert_counts_equal("micro", genotype, options)
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
    assert_counts_equal("micro", name, options)
    assert_counts_equal("macro", name, {"init_channels": options.get("init_channels", 16)})


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
        ("micro", {"image_size": 0}),
        ("micro", {"image_size": 100}),  # auto: imagenet, whose 1/4 map (25) is odd
        ("micro", {"image_size": 48, "stem": "imagenet"}),
        ("micro", {"image_size": 96, "auxiliary": True}),  # the imagenet head needs 7x7 or 8x8 maps
        ("micro", {"image_size": 224, "auxiliary": True, "stem": "cifar"}),
        ("micro", {"stem": "vgg"}),
        ("micro", {"in_channels": 0}),
        ("micro", {"in_channels": True}),
        ("micro", {"in_channels": 0, "stem": "vgg", "layers": 2}),  # the first of the constructor's checks
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
        ("macro", {"image_size": 20, "stem": "imagenet"}),
        ("macro", {"image_size": 3, "channels": [1, 8, 8], "in_channels": 1}),  # no entry conv, 2 pools: 0x0
        ("macro", {"stem": "vgg"}),
        ("macro", {"in_channels": 0}),
        ("macro", {"in_channels": 0, "stem": "vgg", "channels": [8, 8]}),
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
    ("genotype", "options"),
    [
        ("NSGANet", {"init_channels": 3, "layers": 3, "filter_increment": 1}),  # odd C after a reduction
        (MicroGenotype((("sep_conv_3x3", 0), ("sep_conv_3x3", 1)), (2,),
                       (("skip_connect", 1), ("max_pool_3x3", 0)), (2,)),  # stride-2 skip on odd C
         {"init_channels": 3, "layers": 3, "filter_increment": 2}),
        ("NSGANet", {"init_channels": 3, "layers": 3, "image_size": 96}),  # the imagenet stem's 1/4 map, odd C
    ],
)
def test_refuses_odd_channels_where_a_factorized_reduce_is_needed(genotype, options):
    with pytest.raises(ValueError, match="even") as built:
        build_network("micro", genotype, **options)
    with pytest.raises(ValueError) as counted:
        count_complexity("micro", genotype, **options)
    assert str(counted.value) == str(built.value)


def test_a_warm_count_builds_nothing(monkeypatch):
    genomes = MicroSpace().sample(np.random.default_rng(0), 3)
    options = [{}, {"init_channels": 4, "layers": 3, "image_size": 96, "in_channels": 1}]
    warm = [count_complexity("micro", g.tolist(), **o) for g in genomes for o in options]

    def refuse(*args, **kwargs):
        raise AssertionError("a warm count built a layer group")

    monkeypatch.setattr(layer_costs, "measure", refuse)
    monkeypatch.setattr("nsga_lightning.nn.micro.MicroNetwork.__init__", refuse)
    assert [count_complexity("micro", g.tolist(), **o) for g in genomes for o in options] == warm
    layer_costs.op_cost.cache_clear()  # a cold count does build its layer groups
    with pytest.raises(AssertionError, match="built a layer group"):
        count_complexity("micro", genomes[0].tolist())
