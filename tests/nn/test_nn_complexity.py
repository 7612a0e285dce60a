"""Parameter counts and MAdds against the paper/README and the original's measured numbers.

Measured here (fvcore, 1x3x32x32, eval mode, no aux head), for the record:

| model | params | MAdds (fvcore) | README / repo counter |
| --- | --- | --- | --- |
| micro C=26 inc 4 SE aux L20 | 1,974,364 | 409.31M | 1.97M / 417M |
| micro C=34 inc 4 aux L20 | 2,196,980 | 538.63M | 2.20M / 550M |
| micro C=36 inc 6 SE aux L20 | 4,053,502 | 804.66M | 4.05M / 817M |
| same, CIFAR-100 | 4,107,592 | 804.71M | 4.1M / 817M |
| macro dense 128 | 3,337,482 | 1296.18M | 3.37M (incl. 32,768 unused) / 1240M (repo counter 1299M) |
| NetworkCIFAR C=16 L=8 NSGANet | 287,354 | 51.06M | 0.2874M / 52.87M |
| NetworkCIFAR C=24 L=11 NSGANet | 853,954 | 144.61M | 0.8540M / 148.22M |
| NetworkCIFAR C=36 L=20 DARTS aux | 3,349,342 (3,825,768 with aux) | 539.12M | 3.3493M (3.8258M) / 547.47M |
| macro residual 32/64/128 | 1,342,634 | 163.62M | 1.3426M / 164.02M |

fvcore counts conv/linear multiply-accumulates plus BatchNorm and adaptive-pool terms; the original's counter
also counts ReLU and pooling elements, hence fvcore is 1.5-3.5% lower on the micro models.
"""

import numpy as np
import pytest
import torch
from nn_helpers import published_network
from torch import nn

from nsga_lightning.nn import build_network, count_madds, count_parameters
from nsga_lightning.spaces import MACRO_ZOO, MICRO_ZOO, MacroSpace, MicroSpace

UNUSED_ENTRY_CONVS = 32_768

# name -> (README params in M, rounding digits, README MAdds in M, relative tolerance)
PUBLISHED = {
    "micro_nsganet_c26_inc4_se_aux_L20_c10": (1.97, 2, 417, 0.03),
    "micro_nsganet_c34_inc4_aux_L20_c10": (2.20, 2, 550, 0.03),
    "micro_nsganet_c36_inc6_se_aux_L20_c10": (4.05, 2, 817, 0.03),
    "micro_nsganet_c36_inc6_se_aux_L20_c100": (4.1, 1, 817, 0.03),
    "macro_nsganet_dense_128": (3.34, 2, 1240, 0.05),
}


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_published_model_parameters_match_the_readme(name):
    params, digits, _, _ = PUBLISHED[name]
    net = published_network(name)
    assert round(count_parameters(net) / 1e6, digits) == params
    if name.startswith("macro"):  # the README's 3.37M includes two 1x1 entry convs the original never applies
        assert round((count_parameters(net) + UNUSED_ENTRY_CONVS) / 1e6, 2) == 3.37
    else:
        assert count_parameters(net, include_auxiliary=True) > count_parameters(net)


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_published_model_madds_match_the_readme(name):
    _, _, madds, tolerance = PUBLISHED[name]
    assert count_madds(published_network(name)) / 1e6 == pytest.approx(madds, rel=tolerance)


@pytest.mark.parametrize(
    ("kwargs", "params_m", "digits", "repo_flops_m"),
    [
        ({"space": "micro", "genotype": "NSGANet", "init_channels": 16, "layers": 8}, 0.2874, 4, 52.87),
        ({"space": "micro", "genotype": "NSGANet", "init_channels": 24, "layers": 11}, 0.8540, 4, 148.22),
        (
            {"space": "micro", "genotype": "DARTS", "init_channels": 36, "layers": 20, "auxiliary": True},
            3.3493,
            4,
            547.47,
        ),
        ({"space": "macro", "genotype": "NSGANet", "init_channels": 32}, 1.3426, 4, 164.02),
        ({"space": "macro", "genotype": "NSGANet", "init_channels": 16}, 0.337, 3, 41.5),
        ({"space": "macro", "genotype": "NSGANet", "init_channels": 24}, 0.756, 3, 92.6),
    ],
)
def test_search_size_models_match_the_original(kwargs, params_m, digits, repo_flops_m):
    net = build_network(kwargs.pop("space"), kwargs.pop("genotype"), **kwargs)
    assert round(count_parameters(net) / 1e6, digits) == params_m
    assert count_madds(net) / 1e6 == pytest.approx(repo_flops_m, rel=0.05)


def test_darts_aux_head_parameters_count_only_on_request():
    net = build_network("micro", "DARTS", init_channels=36, layers=20, auxiliary=True)
    assert round(count_parameters(net, include_auxiliary=True) / 1e6, 4) == 3.8258


def test_dense_macro_at_32_channels_matches_the_original():
    net = build_network("macro", "NSGANet", decoder="dense", init_channels=32)
    assert count_parameters(net) / 1e6 == pytest.approx(3.236, abs=1e-3)
    assert count_madds(net) / 1e6 == pytest.approx(1235.0, rel=0.01)


def test_count_madds_restores_the_mode_and_scales_with_the_batch():
    net = build_network("micro", "NSGANet", init_channels=8, layers=5, auxiliary=True)
    net.train()
    single = count_madds(net)
    assert net.training
    assert count_madds(net, input_size=(2, 3, 32, 32)) == 2 * single
    net.eval()
    count_madds(net)
    assert not net.training
    with pytest.raises(ValueError, match=r"\(N, C, H, W\)"):
        count_madds(net, input_size=(3, 32, 32))


def test_count_madds_excludes_the_auxiliary_head():
    torch.manual_seed(0)
    with_aux = build_network("micro", "NSGANet", init_channels=8, layers=5, auxiliary=True)
    without = build_network("micro", "NSGANet", init_channels=8, layers=5)
    assert count_madds(with_aux) == count_madds(without)


def _networks_of_every_kind():
    """Small networks of every zoo genotype and of random genomes, in every network variant."""
    rng = np.random.default_rng(7)
    nets = []
    for genotype in [*MICRO_ZOO, *MicroSpace().sample(rng, 12)]:
        nets.append(build_network("micro", genotype, init_channels=8, layers=5))
        nets.append(
            build_network("micro", genotype, init_channels=8, layers=5, filter_increment=2, se=True, auxiliary=True)
        )
    for genotype in [*MACRO_ZOO, *MacroSpace().sample(rng, 6)]:
        for decoder in ("residual", "dense"):
            nets.append(build_network("macro", genotype, init_channels=8, decoder=decoder))
    return nets


def test_the_hooks_counter_equals_fvcore_on_every_kind_of_network():
    nets = _networks_of_every_kind()
    assert len(nets) > 40
    for net in nets:
        assert count_madds(net) == count_madds(net, method="fvcore"), net


def test_the_hooks_counter_refuses_a_layer_it_has_no_formula_for():
    net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.LayerNorm([4, 30, 30]))
    with pytest.raises(ValueError, match=r"does not know layer 1 \(LayerNorm\); use method='fvcore'"):
        count_madds(net)
    assert count_madds(net, method="fvcore") > 4 * 27 * 900
    with pytest.raises(ValueError, match="method must be one of"):
        count_madds(net, method="guess")
