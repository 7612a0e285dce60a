"""Zero-cost scores: SynFlow and NASWOT against values worked out by hand, on real proxy networks (finite,
deterministic, the network and the global RNG untouched), and their errors."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from nsga_lightning.module import ArchitectureModule
from nsga_lightning.nn.zero_cost import naswot, synflow


class Flat(nn.Module):
    """(N, 1, 1, 2) -> Linear(2, 2) -> ReLU, weights given."""

    def __init__(self, weight: list[list[float]]) -> None:
        super().__init__()
        self.linear = nn.Linear(2, 2, bias=False)
        with torch.no_grad():
            self.linear.weight.copy_(torch.tensor(weight))
        self.relu = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.relu(self.linear(x.flatten(1)))


def test_synflow_is_the_log_of_sum_abs_theta_times_gradient():
    # |W| = [[1, 2], [3, 4]], input ones: R = 1 + 2 + 3 + 4, dR/dw = 1 for each weight -> sum |w * 1| = 10
    assert synflow(Flat([[1.0, -2.0], [-3.0, 4.0]]), (1, 1, 2)) == pytest.approx(math.log(10.0))


def test_naswot_is_the_log_determinant_of_the_agreement_kernel():
    images = torch.tensor([[1.0, -1.0], [1.0, 1.0], [-1.0, 1.0]]).reshape(3, 1, 1, 2)
    # identity weights: codes [1, 0], [1, 1], [0, 1]; K[i, j] = units where i and j agree
    kernel = torch.tensor([[2.0, 1.0, 0.0], [1.0, 2.0, 1.0], [0.0, 1.0, 2.0]])
    assert naswot(Flat([[1.0, 0.0], [0.0, 1.0]]), images) == pytest.approx(math.log(torch.det(kernel).item()))


def test_naswot_refuses_a_kernel_that_cannot_tell_images_apart_and_a_single_image():
    same = torch.ones(2, 1, 1, 2)
    with pytest.raises(ValueError, match="singular"):
        naswot(Flat([[1.0, 0.0], [0.0, 1.0]]), same)
    with pytest.raises(ValueError, match="N >= 2"):
        naswot(Flat([[1.0, 0.0], [0.0, 1.0]]), same[:1])
    with pytest.raises(ValueError, match="no nn.ReLU"):
        naswot(nn.Sequential(nn.Flatten(), nn.Linear(2, 2)), torch.randn(2, 1, 1, 2))


@pytest.mark.parametrize("genotype", ["NSGANet", "DARTS"])
def test_scores_of_a_proxy_network_are_finite_deterministic_and_leave_network_and_rng_alone(genotype):
    torch.manual_seed(0)
    module = ArchitectureModule(space="micro", genotype=genotype, num_classes=10, init_channels=8, layers=5,
                                image_size=16, auxiliary=False, drop_path_prob=0.2)
    module.train()
    before = {k: v.clone() for k, v in module.state_dict().items()}
    images = torch.randn(16, 3, 16, 16, generator=torch.Generator().manual_seed(1))
    rng = torch.get_rng_state()
    first = (synflow(module.network, (3, 16, 16)), naswot(module.network, images))
    second = (synflow(module.network, (3, 16, 16)), naswot(module.network, images))
    assert first == second and all(math.isfinite(v) for v in first)
    assert torch.equal(torch.get_rng_state(), rng)
    assert module.training and all(torch.equal(before[k], v) for k, v in module.state_dict().items())
    assert all(p.grad is None for p in module.parameters())
