"""Networks: forward/backward over the zoo and seeded random genomes, the shared interface, bad options."""

import itertools

import numpy as np
import pytest
import torch
from nn_helpers import assert_every_parameter_gets_a_gradient

from nsga_lightning.nn import ArchitectureNetwork, MacroNetwork, MicroNetwork, build_network
from nsga_lightning.spaces import MICRO_ZOO, MacroSpace, MicroGenotype, MicroSpace

SMALL_MICRO = {"init_channels": 8, "layers": 5}
SMALL_MACRO = {"channels": [4, 8, 8]}


@pytest.mark.parametrize("name", sorted(MICRO_ZOO))
def test_micro_zoo_forward_backward(name):
    net = build_network("micro", name, auxiliary=True, num_classes=7, **SMALL_MICRO)
    assert isinstance(net, MicroNetwork)
    assert_every_parameter_gets_a_gradient(net)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_random_micro_genomes_forward_backward(seed):
    genome = MicroSpace().sample(np.random.default_rng(seed), 1)[0]
    net = build_network("micro", genome.tolist(), auxiliary=True, **SMALL_MICRO)
    assert_every_parameter_gets_a_gradient(net)


def test_cell_nodes_the_output_does_not_depend_on_are_kept_frozen_and_not_computed():
    # reduction cell: no op reads input 0; normal cell: block 4 (node 6) is neither read nor concatenated
    normal = [("sep_conv_3x3", 0), ("skip_connect", 1), ("max_pool_3x3", 2), ("sep_conv_5x5", 1)]
    normal += [("avg_pool_3x3", 0), ("dil_conv_3x3", 3)]
    reduce = [("sep_conv_3x3", 1), ("max_pool_3x3", 1), ("skip_connect", 2), ("conv_7x1_1x7", 1)]
    genotype = MicroGenotype(tuple(normal), (3,), tuple(reduce), (3,))
    net = build_network("micro", genotype, **SMALL_MICRO)
    reduction_cell, normal_cell = net.cells[1], net.cells[0]
    assert reduction_cell.reduction and not normal_cell.reduction
    dead = [*reduction_cell.preprocess0.parameters(), *normal_cell.ops[5].parameters()]
    assert dead and not any(p.requires_grad for p in dead)
    assert sum(p.numel() for p in net.parameters() if not p.requires_grad) == sum(
        p.numel() for cell in net.cells for p in cell.parameters() if not p.requires_grad
    )
    calls = []
    reduction_cell.preprocess0.register_forward_hook(lambda *args: calls.append("preprocess0"))
    normal_cell.ops[5].register_forward_hook(lambda *args: calls.append("dead block"))
    assert_every_parameter_gets_a_gradient(net)
    assert calls == []


def test_pyramid_network_with_se_and_aux_forward_backward():
    net = build_network(
        "micro", "AmoebaNet", init_channels=6, layers=4, filter_increment=2, se=True, auxiliary=True
    )
    assert_every_parameter_gets_a_gradient(net)


@pytest.mark.parametrize("decoder", ["residual", "dense"])
def test_macro_zoo_forward_backward(decoder):
    net = build_network("macro", "NSGANet", decoder=decoder, **SMALL_MACRO)
    assert isinstance(net, MacroNetwork) and net.auxiliary_head is None
    assert_every_parameter_gets_a_gradient(net)


@pytest.mark.parametrize(("n_nodes", "seed"), [(6, 0), (6, 1), (6, 2), (4, 3), (4, 4)])
def test_random_macro_genomes_forward_backward(n_nodes, seed):
    genome = MacroSpace(n_nodes).sample(np.random.default_rng(seed), 1)[0]
    for decoder in ("residual", "dense"):
        net = build_network("macro", genome.tolist(), n_nodes=n_nodes, decoder=decoder, **SMALL_MACRO)
        assert_every_parameter_gets_a_gradient(net)


# 4 nodes per phase: 6 connection bits (groups of 1, 2, 3) and a skip bit. Phase 1 has no connection at all
# (its skip bit is set, which does not keep a phase alive); phases 2 and 3 are chains.
INACTIVE_FIRST_PHASE = [0, 0, 0, 0, 0, 0, 1] + [1, 0, 1, 0, 0, 1, 0] + [1, 1, 0, 0, 0, 1, 1]


@pytest.mark.parametrize("decoder", ["residual", "dense"])
def test_an_inactive_phase_drops_out_and_channels_truncate_from_the_front(decoder):
    net = build_network("macro", INACTIVE_FIRST_PHASE, n_nodes=4, decoder=decoder, channels=[4, 6, 8])
    assert len(net.phases) == 2
    assert net.classifier.in_features == 6  # channels[:2] serve the two surviving phases
    assert net.phases[0].entry.kernel_size == (3, 3)  # the first surviving phase is the stem
    assert net.feature_size == 15  # 32 -> 30 (unpadded 3x3) -> one pool -> 15
    assert_every_parameter_gets_a_gradient(net)


@pytest.mark.parametrize(("n_nodes", "decoder"), [(6, "residual"), (4, "dense")])
def test_all_zero_genome_is_an_identity_body(n_nodes, decoder):
    net = build_network("macro", [0] * MacroSpace(n_nodes).n_var, n_nodes=n_nodes, decoder=decoder)
    assert len(net.phases) == 0 and net.classifier.in_features == 3 and net.feature_size == 32
    x = torch.randn(2, 3, 32, 32)
    logits, aux = net.eval()(x)
    assert aux is None
    assert torch.allclose(logits, net.classifier(x.mean(dim=(2, 3))), atol=1e-6)
    assert_every_parameter_gets_a_gradient(net)


def test_macro_entry_convs_are_built_only_where_channels_change():
    net = build_network("macro", "NSGANet", decoder="dense", channels=[16, 16, 32])
    assert [p.entry is not None for p in net.phases] == [True, False, True]
    assert net.phases[2].entry.kernel_size == (1, 1)
    assert net.feature_size == 7  # 32 -> 30 -> 15 -> 7


def test_micro_channel_schedules():
    doubling = build_network("micro", "NSGANet", init_channels=8, layers=6)
    assert [c.out_channels for c in doubling.cells] == [32, 32, 64, 64, 128, 128]
    assert [c.reduction for c in doubling.cells] == [False, False, True, False, True, False]
    pyramid = build_network(
        "micro", "NSGANet", init_channels=26, layers=20, filter_increment=4, se=True, auxiliary=True
    )
    outs = [c.out_channels for c in pyramid.cells]
    assert outs[0] == 104 and outs[-1] == 408 and all(b - a == 16 for a, b in itertools.pairwise(outs))
    assert pyramid.stem[0].out_channels == 78
    assert pyramid.auxiliary_head.features[2].in_channels == 312 and pyramid.classifier.in_features == 408
    darts = build_network("micro", "DARTS", init_channels=8, layers=5)
    assert darts.cells[0].out_channels == 4 * 8  # a 4-block genotype with its own concat list


def test_aux_logits_only_in_training_mode():
    net = build_network("micro", "NSGANet", auxiliary=True, **SMALL_MICRO)
    x = torch.randn(2, 3, 32, 32)
    logits, aux = net.train()(x)
    assert aux is not None and aux.shape == logits.shape == (2, 10)
    assert net.eval()(x)[1] is None
    assert build_network("micro", "NSGANet", **SMALL_MICRO).train()(x)[1] is None


def test_drop_path_acts_in_training_only():
    net = build_network("micro", "NSGANet", **SMALL_MICRO)
    assert isinstance(net, ArchitectureNetwork) and net.drop_path_prob == 0.0
    x = torch.randn(4, 3, 32, 32)
    net.eval()
    reference = net(x)[0]
    net.drop_path_prob = 0.5
    assert torch.equal(net(x)[0], reference)
    net.train()
    torch.manual_seed(0)
    first = net(x)[0]
    torch.manual_seed(1)
    assert not torch.allclose(first, net(x)[0])
    for bad in (-0.1, 1.0):
        with pytest.raises(ValueError, match=r"\[0, 1\)"):
            net.drop_path_prob = bad
    macro = build_network("macro", "NSGANet", **SMALL_MACRO)
    macro.drop_path_prob = 0.3  # accepted and ignored
    assert macro.drop_path_prob == 0.3


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"space": "meso"}, "allowed: micro, macro"),
        ({"space": "macro", "decoder": "variable"}, "allowed: residual, dense"),
        ({"layers": 2}, "layers must be >= 3"),
        ({"filter_increment": -1}, "filter_increment"),
        ({"init_channels": 0}, "init_channels"),
        ({"num_classes": 0}, "num_classes"),
        ({"space": "macro", "channels": [8, 0, 8]}, "positive"),
        ({"space": "macro", "channels": [8, 8]}, "3 positive"),
        ({"space": "macro", "auxiliary": True}, "no auxiliary head"),
        ({"space": "micro", "channels": [8, 8, 8]}, "macro options"),
        ({"init_channels": 7, "filter_increment": 1, "layers": 5}, "even"),
        (
            {
                "genotype": {
                    "normal": [["conv_9x9", 0], ["skip_connect", 1]],
                    "normal_concat": [2],
                    "reduce": [["skip_connect", 0], ["skip_connect", 1]],
                    "reduce_concat": [2],
                }
            },
            "unknown op 'conv_9x9'; allowed: max_pool_3x3",
        ),
    ],
)
def test_bad_options_raise_value_errors_naming_what_is_allowed(kwargs, match):
    options = {"space": "micro", "genotype": "NSGANet", **kwargs}
    with pytest.raises(ValueError, match=match):
        build_network(options.pop("space"), options.pop("genotype"), **options)


def test_micro_network_checks_ops_against_the_op_table():
    ok = MicroGenotype((("none", 0), ("skip_connect", 1)), (2,), (("skip_connect", 0), ("none", 1)), (2,))
    assert MicroNetwork(ok, init_channels=4, layers=3)(torch.randn(1, 3, 32, 32).float())[0].shape == (1, 10)
    bad = ok._replace(normal=(("conv_9x9", 0), ("skip_connect", 1)))
    with pytest.raises(ValueError, match="allowed: none, max_pool_3x3"):
        MicroNetwork(bad, init_channels=4, layers=3)


def test_unknown_zoo_name_is_a_key_error():
    with pytest.raises(KeyError, match="NSGANet"):
        build_network("micro", "ResNet")


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_networks_run_on_cuda_with_drop_path():
    from nsga_lightning.nn import count_madds

    net = build_network("micro", "NSGANet", auxiliary=True, **SMALL_MICRO).cuda()
    net.drop_path_prob = 0.2
    logits, aux = net.train()(torch.randn(4, 3, 32, 32, device="cuda"))
    (logits.sum() + aux.sum()).backward()
    assert logits.device.type == "cuda" and all(p.grad is not None for p in net.parameters())
    cpu_madds = count_madds(build_network("micro", "NSGANet", **SMALL_MICRO))
    assert count_madds(net) == cpu_madds and net.training
