"""Cell operations: the op table, shapes at stride 1 and 2, parameter layouts, drop path."""

import pytest
import torch
from torch import nn

from nsga_lightning.nn import OP_BUILDERS, build_op, drop_path
from nsga_lightning.nn.ops import FactorizedReduce, ReLUConvBN, SELayer, SepConv
from nsga_lightning.spaces import OPS


def test_searchable_ops_are_all_in_the_one_table():
    assert set(OPS) <= set(OP_BUILDERS)
    assert "none" in OP_BUILDERS


@pytest.mark.parametrize("stride", [1, 2])
@pytest.mark.parametrize("name", sorted(OP_BUILDERS))
def test_every_op_keeps_channels_and_divides_the_resolution_by_its_stride(name, stride):
    op = build_op(name, 6, stride)
    x = torch.randn(2, 6, 8, 8)
    out = op(x)
    assert out.shape == (2, 6, 8 // stride, 8 // stride)
    if name == "none":
        assert not out.any()


def convs(module: nn.Module) -> list[nn.Conv2d]:
    return [c for c in module.modules() if isinstance(c, nn.Conv2d)]


def test_op_composition_matches_the_original():
    assert isinstance(build_op("skip_connect", 4, 1), nn.Identity)
    assert isinstance(build_op("skip_connect", 4, 2), FactorizedReduce)
    assert all(c.bias is None for name in OP_BUILDERS for c in convs(build_op(name, 4, 2)))
    assert all(
        bn.affine
        for name in OP_BUILDERS
        for bn in build_op(name, 4, 1).modules()
        if isinstance(bn, nn.BatchNorm2d)
    )
    sep = build_op("sep_conv_5x5", 4, 2)
    assert isinstance(sep, SepConv)
    assert [(c.kernel_size, c.stride, c.padding, c.groups) for c in convs(sep)] == [
        ((5, 5), (2, 2), (2, 2), 4),
        ((1, 1), (1, 1), (0, 0), 1),
        ((5, 5), (1, 1), (2, 2), 4),
        ((1, 1), (1, 1), (0, 0), 1),
    ]
    dil = convs(build_op("dil_conv_5x5", 4, 1))
    assert [(c.kernel_size, c.dilation, c.padding, c.groups) for c in dil] == [
        ((5, 5), (2, 2), (4, 4), 4),
        ((1, 1), (1, 1), (0, 0), 1),
    ]
    conv71 = convs(build_op("conv_7x1_1x7", 4, 2))
    assert [(c.kernel_size, c.stride, c.groups) for c in conv71] == [((1, 7), (1, 2), 1), ((7, 1), (2, 1), 1)]
    avg = build_op("avg_pool_3x3", 4, 1)
    assert isinstance(avg, nn.AvgPool2d) and avg.count_include_pad is False
    assert not list(build_op("max_pool_3x3", 4, 2).parameters())


def test_factorized_reduce_reads_two_offset_grids():
    fr = FactorizedReduce(4, 6)
    assert fr(torch.randn(1, 4, 8, 8)).shape == (1, 6, 4, 4)
    assert fr.conv_even.weight.shape == fr.conv_odd.weight.shape == (3, 4, 1, 1)
    with pytest.raises(ValueError, match="even"):
        FactorizedReduce(4, 5)


def test_relu_conv_bn_and_se_layer():
    assert ReLUConvBN(5, 7)(torch.randn(2, 5, 4, 4)).shape == (2, 7, 4, 4)
    se = SELayer(32)
    assert se.excite[0].weight.shape == (2, 32) and se.excite[2].weight.shape == (32, 2)
    x = torch.rand(2, 32, 4, 4)
    y = se(x)
    assert y.shape == x.shape and torch.all(y <= x) and torch.all(y >= 0)
    assert SELayer(8)(torch.rand(1, 8, 2, 2)).shape == (1, 8, 2, 2)  # hidden width clamps to 1


def test_build_op_rejects_unknown_names_and_strides():
    with pytest.raises(ValueError, match="allowed: none, max_pool_3x3"):
        build_op("conv_9x9", 4, 1)
    with pytest.raises(ValueError, match="stride must be 1 or 2"):
        build_op("sep_conv_3x3", 4, 3)


def test_drop_path_with_zero_probability_is_the_identity():
    x = torch.randn(4, 3, 2, 2)
    assert drop_path(x, 0.0) is x


def test_drop_path_zeroes_whole_samples_and_rescales_the_rest():
    torch.manual_seed(0)
    x = torch.ones(256, 3, 2, 2, requires_grad=True)
    out = drop_path(x, 0.25)
    per_sample = out.detach().flatten(1)
    kept = per_sample[:, 0] != 0
    assert torch.allclose(per_sample[kept], torch.full_like(per_sample[kept], 1 / 0.75))
    assert torch.all(per_sample[~kept] == 0)
    assert 0.6 < kept.float().mean().item() < 0.9
    out.sum().backward()  # not in place: autograd works and x is untouched
    assert torch.all(x == 1) and x.grad is not None
    assert out.device == x.device and out.dtype == x.dtype


def test_drop_path_keeps_dtype_and_rejects_bad_probabilities():
    x = torch.ones(8, 2, dtype=torch.float64)
    assert drop_path(x, 0.5).dtype == torch.float64
    for p in (-0.1, 1.0):
        with pytest.raises(ValueError, match=r"\[0, 1\)"):
            drop_path(x, p)
