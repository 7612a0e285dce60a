"""A space of the tests' own whose genotypes build networks: a chain of 1 to ``max_depth`` convolutions of one
width and kernel, then global pooling and a linear classifier. The built-in trainer evaluator trains its candidates
as ``LightningModule`` s (``space: {class_path: chain_space.ChainSpace, ...}`` in a search config)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np
from torch import nn

WIDTHS = (4, 8)
KERNELS = (1, 3)


class Chain(NamedTuple):
    """A decoded chain: convolutions, their output channels and kernel size."""

    depth: int
    width: int
    kernel: int


class ChainSpace:
    """Genome ``[depth - 1, width index, kernel index]``."""

    name = "chain"

    def __init__(self, max_depth: int = 2) -> None:
        self.max_depth = max_depth
        self.lower = np.zeros(3, dtype=np.int64)
        self.upper = np.array([max_depth - 1, len(WIDTHS) - 1, len(KERNELS) - 1], dtype=np.int64)

    @property
    def n_var(self) -> int:
        return 3

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "max_depth": self.max_depth, "widths": list(WIDTHS), "kernels": list(KERNELS)}

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return rng.integers(self.lower, self.upper + 1, size=(n, 3))

    def validate(self, genome: Sequence[int] | np.ndarray) -> np.ndarray:
        array = np.asarray(genome, dtype=np.int64)
        if array.shape != (3,) or (array < self.lower).any() or (array > self.upper).any():
            raise ValueError(f"a chain genome is 3 integers within {self.upper.tolist()}, got {list(genome)}")
        return array

    def decode(self, genome: Sequence[int] | np.ndarray) -> Chain:
        depth, width, kernel = self.validate(genome)
        return Chain(int(depth) + 1, WIDTHS[width], KERNELS[kernel])

    def key(self, genome: Sequence[int] | np.ndarray) -> str:
        return "chain-{}x{}k{}".format(*self.decode(genome))

    def genotype_to_data(self, genotype: Chain) -> dict[str, int]:
        return genotype._asdict()

    def genotype_from_data(self, data: Any) -> Chain:
        return Chain(**data)

    def build_network(self, genotype: Chain, num_classes: int, scale: int = 1) -> nn.Module:
        layers: list[nn.Module] = []
        channels = 3
        for _ in range(genotype.depth):
            width = genotype.width * scale
            layers += [nn.Conv2d(channels, width, genotype.kernel, padding=genotype.kernel // 2), nn.ReLU()]
            channels = width
        return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(channels, num_classes))
