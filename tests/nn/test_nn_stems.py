"""Input channels and stems: 1- and 4-channel images in both spaces and stems, exact complexity at every stem's
sizes, the stem/size checks against real forwards, the published models unchanged, weight import."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from nn_helpers import load_vector, network_for_vector, published_network

from nsga_lightning.nn import (
    AUTO_IMAGENET_FROM,
    AuxiliaryHeadImageNet,
    ImageNetStem,
    MacroImageNetStem,
    build_network,
    check_micro_image_size,
    count_madds,
    count_parameters,
    load_original_state_dict,
    macro_feature_size,
    original_key_map,
    resolve_stem,
)
from nsga_lightning.spaces import MICRO_ZOO, make_space
from nsga_lightning.spaces.micro import MicroGenotype

TINY_MICRO = {"init_channels": 4, "layers": 3}
TINY_MACRO = {"init_channels": 4}
SKIPPY = MicroGenotype(  # stride-2 skip connections (FactorizedReduce) read both inputs of its reduction cells
    normal=MICRO_ZOO["NSGANet"].normal, normal_concat=MICRO_ZOO["NSGANet"].normal_concat,
    reduce=(("skip_connect", 0), ("skip_connect", 1)) * 5, reduce_concat=(2, 3, 4, 5, 6),
)


def _tiny(space: str, **kwargs):
    return build_network(space, "NSGANet", **(TINY_MICRO if space == "micro" else TINY_MACRO), **kwargs)


@pytest.mark.parametrize("space", ["micro", "macro"])
@pytest.mark.parametrize(("stem", "size"), [("cifar", 28), ("imagenet", 96)])
@pytest.mark.parametrize("channels", [1, 4])
def test_grey_and_four_channel_images_train_in_both_spaces_and_stems(space, stem, size, channels):
    torch.manual_seed(0)
    net = _tiny(space, in_channels=channels, stem=stem, image_size=size).train()
    logits, _ = net(torch.randn(2, channels, size, size))
    assert logits.shape == (2, 10)
    logits.sum().backward()
    first = next(m for m in net.modules() if isinstance(m, torch.nn.Conv2d))
    assert first.in_channels == channels and first.weight.grad is not None
    assert (net.in_channels, net.stem_type, net.input_shape(2)) == (channels, stem, (2, channels, size, size))
    with pytest.raises(RuntimeError, match="channels"):
        net(torch.randn(2, 3 if channels != 3 else 1, size, size))


# every size the issue names, for both stems: exact counts where the stem takes the size, a refusal naming the
# stem's sizes (and the other stem) where it does not
SIZES = (28, 40, 96, 224)


@pytest.mark.parametrize("space", ["micro", "macro"])
@pytest.mark.parametrize("stem", ["cifar", "imagenet"])
@pytest.mark.parametrize("size", SIZES)
def test_hook_counts_equal_fvcore_at_every_size_a_stem_takes(space, stem, size):
    try:
        net = _tiny(space, in_channels=4, stem=stem, image_size=size)
    except ValueError as error:
        assert stem == "imagenet" and size in ((28, 40) if space == "micro" else (28,))
        assert "stem: cifar, which takes" in str(error)
        return
    madds = count_madds(net)  # at the size it is built for
    assert madds == count_madds(net, input_size=(1, 4, size, size), method="fvcore")
    assert madds != count_madds(net, input_size=(1, 4, 32, 32))


def test_imagenet_stem_counts_equal_fvcore_at_its_smallest_sizes_too():
    for space, size in (("micro", 32), ("micro", 64), ("macro", 29), ("macro", 40)):
        net = _tiny(space, in_channels=4, stem="imagenet", image_size=size)
        assert count_madds(net) == count_madds(net, input_size=(1, 4, size, size), method="fvcore"), (space, size)


def test_imagenet_counts_with_the_auxiliary_head_and_pyramid_channels_equal_fvcore():
    net = build_network("micro", "DARTS", init_channels=4, layers=6, filter_increment=2, se=True, auxiliary=True,
                        image_size=224, stem="imagenet")
    assert count_madds(net) == count_madds(net, method="fvcore")
    assert count_parameters(net, include_auxiliary=True) > count_parameters(net)


def test_auto_picks_imagenet_from_96_pixels():
    assert AUTO_IMAGENET_FROM == 96
    assert [resolve_stem("auto", s) for s in (32, 95, 96, 224)] == ["cifar", "cifar", "imagenet", "imagenet"]
    assert resolve_stem("cifar", 224) == "cifar" and resolve_stem("imagenet", 32) == "imagenet"
    assert _tiny("micro", image_size=96).stem_type == _tiny("macro", image_size=224).stem_type == "imagenet"
    with pytest.raises(ValueError, match="unknown stem 'resnet'; allowed: auto, cifar, imagenet"):
        _tiny("micro", stem="resnet")


@pytest.mark.parametrize("space", ["micro", "macro"])
def test_in_channels_must_be_positive(space):
    with pytest.raises(ValueError, match="in_channels must be a positive integer"):
        _tiny(space, in_channels=0)


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


@pytest.mark.parametrize("auxiliary", [False, True], ids=["plain", "aux"])
def test_micro_imagenet_check_agrees_with_real_forwards(auxiliary):
    """Sound (an accepted size runs whatever the genotype) and tight (a refused size fails for some genotype);
    every size up to 130, and around 224 and 256 for the auxiliary head."""
    sizes = [*range(1, 131), *range(216, 230), *range(250, 260)] if auxiliary else range(1, 131)
    layers = 3
    nets = [build_network("micro", g, init_channels=2, layers=layers, auxiliary=auxiliary, stem="imagenet",
                          image_size=96 if not auxiliary else 224).train() for g in (MICRO_ZOO["NSGANet"], SKIPPY)]
    accepted = []
    for size in sizes:
        runs = [_runs(net, size) for net in nets]
        if _accepted(check_micro_image_size, size, layers, auxiliary, "imagenet"):
            accepted.append(size)
            assert all(runs), size
        else:
            assert not runs[1], size
    expected = [s for s in sizes if (s + 3) // 4 % 8 == 0]  # 32k-3 .. 32k
    assert accepted == ([s for s in expected if 221 <= s <= 224 or 253 <= s <= 256] if auxiliary else expected)


def test_macro_imagenet_check_agrees_with_real_forwards():
    space = make_space("macro", n_nodes=4)
    phase = space.n_var // 3
    for active in range(4):
        genome = [1] * phase * active + [0] * phase * (3 - active)
        net = build_network("macro", genome, n_nodes=4, channels=[4, 4, 4], stem="imagenet", image_size=64).eval()
        assert len(net.phases) == active and all(p.entry is None for p in net.phases[:1])
        for size in range(1, 70):
            if _accepted(macro_feature_size, size, active, False, "imagenet"):
                seen: list[int] = []
                hook = net.global_pooling.register_forward_hook(lambda m, i, o, seen=seen: seen.append(i[0].shape[-1]))
                assert _runs(net, size), (active, size)
                hook.remove()
                assert seen == [macro_feature_size(size, active, False, "imagenet")]
            else:
                assert not _runs(net, size), (active, size)


def test_the_imagenet_stems_reduce_224_to_28():
    micro = build_network("micro", "NSGANet", init_channels=8, layers=8, image_size=224, stem="imagenet",
                          auxiliary=True)
    assert isinstance(micro.stem, ImageNetStem)
    assert micro.feature_sizes == [28, 28, 14, 14, 14, 7, 7, 7]
    s0, s1 = micro.stem(torch.zeros(1, 3, 224, 224))
    assert s0.shape == (1, 8, 56, 56) and s1.shape == (1, 8, 28, 28)
    assert micro.cells[0].preprocess0.__class__.__name__ == "FactorizedReduce"  # reads the 56x56 map
    assert isinstance(micro.auxiliary_head, AuxiliaryHeadImageNet)
    assert not any(isinstance(m, torch.nn.BatchNorm2d) and m.num_features == 768
                   for m in micro.auxiliary_head.modules())  # no BN after the 768 conv, as in DARTS
    logits, aux = micro.train()(torch.randn(2, 3, 224, 224))
    assert aux.shape == logits.shape == (2, 10)
    macro = build_network("macro", "NSGANet", channels=[8, 16, 32], image_size=224, stem="imagenet")
    assert isinstance(macro.stem, MacroImageNetStem) and macro.phases[0].entry is None
    assert macro.stem(torch.zeros(1, 3, 224, 224)).shape == (1, 8, 28, 28)
    assert macro.feature_size == 7  # 28 -> 14 -> 7 over three phases, as 30 -> 15 -> 7 on CIFAR
    empty = build_network("macro", [0] * make_space("macro").n_var, channels=[8, 16, 32], image_size=96,
                          in_channels=4)
    assert empty.stem_type == "imagenet" and empty.classifier.in_features == 8  # the stem's output is averaged


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"image_size": 100, "stem": "imagenet"},
         "use an image_size from 32k-3 to 32k (nearest: 96 or 125), or stem: cifar, which takes 100"),
        ({"image_size": 100},
         "nearest: 96 or 125), or stem: cifar, which takes 100 (stem: auto picks imagenet from 96 pixels"),
        ({"image_size": 30, "stem": "cifar"}, "divisible by 4 (nearest: 28 or 32), or stem: imagenet, which takes 30"),
        ({"image_size": 96, "auxiliary": True},
         ("auxiliary head of the imagenet stem needs feature maps of 7x7 to 8x8 at cell 2; image_size 96 gives 3x3: "
         "use auxiliary: false or an image_size of 221-224 or 253-256")),
        ({"image_size": 224, "auxiliary": True, "stem": "cifar"},
         "or an image_size of 32, 36 or 40, or stem: imagenet, whose auxiliary head takes 224"),
        ({"space": "macro", "image_size": 20, "stem": "imagenet"},
         ("the imagenet stem (two stride-2 convolutions and a 2x2 max pool, 1/8) and 2 2x2 max pools (halving) over "
         "its 3 active phases leave no pixel; it needs an image_size of at least 29, or stem: cifar, which takes 20")),
    ],
    ids=["micro-100", "micro-100-auto", "micro-30-cifar", "aux-96", "aux-224-cifar", "macro-20"],
)
def test_a_refused_stem_and_size_says_which_combinations_work(kwargs, message):
    space = kwargs.pop("space", "micro")
    with pytest.raises(ValueError) as info:
        _tiny(space, **kwargs)
    assert message in str(info.value)


@pytest.mark.parametrize("name", ["micro_nsganet_c34_inc4_aux_L20_c10", "macro_nsganet_dense_128"])
def test_published_models_are_built_with_the_cifar_stem_and_counted_at_32(name):
    net = published_network(name)
    assert (net.stem_type, net.in_channels, net.input_shape()) == ("cifar", 3, (1, 3, 32, 32))
    explicit = build_network(net.space, net.genotype, **_published_options(net), stem="cifar")
    assert list(explicit.state_dict()) == list(net.state_dict())
    assert count_madds(net) == count_madds(net, input_size=(1, 3, 32, 32))


def _published_options(net) -> dict:
    if net.space == "micro":
        return {"init_channels": 34, "layers": 20, "filter_increment": 4, "auxiliary": True}
    return {"decoder": "dense", "channels": list(net.channels)}


@pytest.mark.parametrize("case", ["micro_cifar_nsganet_c8_L5", "macro_residual_nsganet_8_16_32"])
def test_original_weights_into_a_grey_network_name_the_channels(case):
    vector = load_vector(case)
    grey = build_network(**{**_vector_kwargs(vector["config"]), "in_channels": 1})
    with pytest.raises(ValueError, match=r"the weights are for 3-channel images, but this (Micro|Macro)Network is "
                                         r"built for 1-channel images \(in_channels"):
        load_original_state_dict(grey, vector["state_dict"])
    load_original_state_dict(network_for_vector(vector["config"]), vector["state_dict"])  # 3 channels: loads


def _vector_kwargs(config: dict) -> dict:
    net = network_for_vector(config)
    if net.space == "micro":
        return {"space": "micro", "genotype": net.genotype, "num_classes": config["num_classes"],
                "init_channels": config["init_channels"], "layers": config["layers"], "se": config["se"],
                "auxiliary": config["auxiliary"]}
    return {"space": "macro", "genotype": net.genotype, "num_classes": config["num_classes"],
            "decoder": config["decoder"], "channels": list(net.channels)}


def test_imagenet_weights_map_to_the_original_network_imagenet_names():
    micro = build_network("micro", "NSGANet", init_channels=4, layers=3, image_size=224, stem="imagenet",
                          auxiliary=True)
    names = original_key_map(micro)
    assert names["stem.stem0.0.weight"] == "stem0.0.weight" and names["stem.stem1.1.weight"] == "stem1.1.weight"
    macro = build_network("macro", "NSGANet", init_channels=4, image_size=96)
    with pytest.raises(ValueError, match="no macro network with the imagenet stem"):
        original_key_map(macro)


def test_random_genomes_count_exactly_with_the_imagenet_stem():
    rng = np.random.default_rng(3)
    for space in ("micro", "macro"):
        for genome in make_space(space).sample(rng, 3):
            kwargs = {"init_channels": 4, **({"layers": 3} if space == "micro" else {})}
            net = build_network(space, genome.tolist(), image_size=96, in_channels=2, **kwargs)
            assert net.stem_type == "imagenet"
            assert count_madds(net) == count_madds(net, method="fvcore")
