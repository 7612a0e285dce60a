"""Input image sizes: the build-time checks agree with real forwards for every size from 1 to 40, a refused
size names the option to change, and MAdds are counted at the size a network is built for."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from nsga_lightning.module import ArchitectureModule
from nsga_lightning.nn import build_network, check_micro_image_size, count_madds, macro_feature_size
from nsga_lightning.spaces import MICRO_ZOO, make_space
from nsga_lightning.spaces.micro import MicroGenotype

SIZES = range(1, 41)

# reads both cell inputs through stride-2 skip connections (FactorizedReduce) in its reduction cell
SKIPPY = MicroGenotype(
    normal=MICRO_ZOO["NSGANet"].normal, normal_concat=MICRO_ZOO["NSGANet"].normal_concat,
    reduce=(("skip_connect", 0), ("skip_connect", 1)) * 5, reduce_concat=(2, 3, 4, 5, 6),
)
MICRO_GENOTYPES = {"NSGANet": MICRO_ZOO["NSGANet"], "DARTS": MICRO_ZOO["DARTS"], "skippy": SKIPPY}


def _runs(net: torch.nn.Module, size: int) -> bool:
    try:
        with torch.no_grad():
            net(torch.zeros(2, 3, size, size))
    except RuntimeError:
        return False
    return True


def _accepted(check, *args) -> bool:
    try:
        check(*args)
    except ValueError:
        return False
    return True


@pytest.mark.parametrize("layers", [3, 4, 5, 8])
@pytest.mark.parametrize("auxiliary", [False, True], ids=["plain", "aux"])
def test_micro_check_agrees_with_real_forwards(layers: int, auxiliary: bool) -> None:
    nets = {name: build_network("micro", g, init_channels=2, layers=layers, auxiliary=auxiliary).train()
            for name, g in MICRO_GENOTYPES.items()}  # built for 32x32, run at every size
    for size in SIZES:
        runs = {name: _runs(net, size) for name, net in nets.items()}
        if _accepted(check_micro_image_size, size, layers, auxiliary):
            assert all(runs.values()), (size, runs)  # sound: every accepted size runs, whatever the genotype
        else:
            assert not runs["skippy"], size  # a refused size fails for some genotype
    assert nets["NSGANet"].feature_sizes == check_micro_image_size(32, layers, auxiliary)


def test_micro_feature_sizes_are_the_real_ones() -> None:
    net = build_network("micro", "NSGANet", init_channels=2, layers=5, image_size=20)
    sizes = []
    s0, s1 = net.stem(torch.zeros(1, 3, 20, 20))
    for cell in net.cells:
        s0, s1 = s1, cell(s0, s1)
        sizes.append(s1.shape[-1])
    assert net.feature_sizes == sizes == [20, 10, 10, 5, 5]


@pytest.mark.parametrize("first_channels", [3, 4], ids=["no-entry-conv", "entry-conv"])
def test_macro_check_agrees_with_real_forwards(first_channels: int) -> None:
    """Both decoders keep the size inside a phase (3x3 convolutions, padding 1): the residual one stands for
    both (the dense one's 256-wide bottlenecks are slow at 40x40)."""
    space = make_space("macro", n_nodes=4)
    phase = space.n_var // 3
    genomes = list(space.sample(np.random.default_rng(0), 2))
    tried: set[int] = set()
    for active in range(4):  # 3, 2, 1 and 0 active phases (an all-zero phase vanishes)
        genomes.append(np.array([1] * phase * active + [0] * phase * (3 - active)))
    for genome in genomes:
        net = build_network("macro", genome.tolist(), n_nodes=4, channels=[first_channels, 4, 4]).eval()
        active = len(net.phases)
        tried.add(active)
        entry = bool(active) and net.phases[0].entry is not None
        for size in SIZES:
            if _accepted(macro_feature_size, size, active, entry):
                assert _runs(net, size), (active, entry, size)
                seen: list[int] = []
                hook = net.global_pooling.register_forward_hook(
                    lambda m, i, o, seen=seen: seen.append(i[0].shape[-1]))
                _runs(net, size)
                hook.remove()
                assert seen == [macro_feature_size(size, active, entry)]
            else:
                assert not _runs(net, size), (active, entry, size)
    assert tried == {0, 1, 2, 3}


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"layers": 20, "auxiliary": True, "image_size": 16},
         ("auxiliary head needs feature maps of 8x8 to 10x10 at cell 13; image_size 16 gives 4x4: use auxiliary: "
         "false or an image_size of 32, 36 or 40")),
        ({"layers": 8, "auxiliary": True, "image_size": 48}, "image_size 48 gives 12x12"),
        ({"layers": 8, "image_size": 30},
         ("reduction cells 2 and 5 halve the feature maps and need an even size there (FactorizedReduce), but "
         "reduction cell 5 gets a 15x15 map; use an image_size divisible by 4")),
        ({"layers": 8, "image_size": 2}, "reduction cell 5 gets a 1x1 map"),
        ({"image_size": 0}, "image_size must be a positive integer"),
        ({"space": "macro", "genotype": "NSGANet", "image_size": 5},
         ("image_size 5 is too small for this macro network: an unpadded 3x3 entry convolution (-2 pixels) and 2 "
         "2x2 max pools (halving) over its 3 active phases leave no pixel; it needs an image_size of at least 6")),
    ],
    ids=["aux-16", "aux-48", "odd-reduction", "reduce-1x1", "zero", "macro-5"],
)
def test_the_module_refuses_a_size_naming_the_option(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError) as info:
        ArchitectureModule(**{"init_channels": 4, **kwargs})
    assert message in str(info.value)


@pytest.mark.parametrize("space", ["micro", "macro"])
def test_madds_are_counted_at_the_size_the_network_is_built_for(space: str) -> None:
    at_32 = ArchitectureModule(space=space, init_channels=4, layers=5).compute_complexity()
    at_16 = ArchitectureModule(space=space, init_channels=4, layers=5, image_size=16)
    counted = at_16.compute_complexity()
    assert counted["params"] == at_32["params"]  # the layers do not depend on the size
    assert counted["madds"] == count_madds(at_16.network, input_size=(1, 3, 16, 16)) < at_32["madds"]
    logits = at_16.eval()(torch.zeros(2, 3, 16, 16))  # and it runs on its own size
    assert logits.shape == (2, 10)


def test_the_published_macro_model_keeps_its_madds() -> None:
    net = build_network("macro", "NSGANet", decoder="dense", channels=[128, 128, 128])
    assert net.feature_size == 7  # 32 -> 30 -> 15 -> 7, where the original averages a 7x7 map
    assert count_madds(net) == count_madds(net, method="fvcore") == 1_296_176_768  # the README's 1296.2M
