"""Complexity counting speed: the analytic count against building and counting each network, side by side.

For N seeded random genomes of each space, counted with the search proxy's network options (micro: C=16, 8
cells; macro: C=16, residual decoder) for images of ``--image-size`` pixels (default 32; the stem is ``auto``:
imagenet from 96) and ``--in-channels`` channels (default 3), MAdds counted at that input as the search does:

* ``built``: what a candidate costs today: ``build_network``, then ``count_parameters`` without and with the
  auxiliary head and ``count_madds`` (hooks), as ``ArchitectureModule.compute_complexity`` does (without the
  module's metrics, so the baseline is if anything faster than in the search);
* ``analytic``: :func:`nsga_lightning.nn.analytic_complexity.count_complexity` with a warm layer-cost cache (warmed
  on other genomes of the same space, as the first candidates of a search warm it); the cold pass (empty cache,
  the same genomes) is shown too.

Every count is checked equal before any time is reported. The machine may be shared: the ratio of the two
timings, measured in the same run, is the figure to read.

Usage: ``python benchmarks/complexity_speed.py [--n 200] [--seed 0] [--image-size 32] [--in-channels 3]``;
the last line printed is ``speedup=<built time / warm analytic time>`` over both spaces.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import numpy as np
import torch

from nsga_lightning.nn import build_network, count_madds, count_parameters, layer_costs
from nsga_lightning.nn.analytic_complexity import Complexity, count_complexity
from nsga_lightning.spaces import make_space

PROXY_OPTIONS = {"micro": {"init_channels": 16, "layers": 8}, "macro": {"init_channels": 16, "decoder": "residual"}}


def built_count(space: str, genome: list[int]) -> Complexity:
    """Today's count: build the network and count it (at its own input, ``net.input_shape()``)."""
    net = build_network(space, genome, **PROXY_OPTIONS[space])
    return Complexity(count_madds(net), count_parameters(net), count_parameters(net, include_auxiliary=True))


def analytic_count(space: str, genome: list[int]) -> Complexity:
    """The analytic count of the same network."""
    return count_complexity(space, genome, **PROXY_OPTIONS[space])


def timed(count: Callable[[str, list[int]], Complexity], space: str,
          genomes: list[list[int]]) -> tuple[float, list[Complexity]]:
    start = time.perf_counter()
    results = [count(space, genome) for genome in genomes]
    return time.perf_counter() - start, results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200, help="random genomes per space")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--image-size", type=int, default=32, help="side of the images the networks are built for")
    parser.add_argument("--in-channels", type=int, default=3, help="channels of those images")
    args = parser.parse_args()
    for options in PROXY_OPTIONS.values():
        options.update(image_size=args.image_size, in_channels=args.in_channels)
    torch.set_num_threads(1)
    totals = {"built": 0.0, "analytic": 0.0}
    for space_name in ("micro", "macro"):
        space = make_space(space_name)
        rng = np.random.default_rng(args.seed)
        genomes = [g.tolist() for g in space.sample(rng, args.n)]
        warm_up = [g.tolist() for g in space.sample(rng, 50)]

        built_s, expected = timed(built_count, space_name, genomes)
        layer_costs.clear_caches()
        cold_s, cold = timed(analytic_count, space_name, genomes)
        layer_costs.clear_caches()
        timed(analytic_count, space_name, warm_up)
        warm_s, warm = timed(analytic_count, space_name, genomes)
        if cold != expected or warm != expected:
            wrong = sum(a != b for a, b in zip(warm, expected))
            raise SystemExit(f"{space_name}: the analytic count differs from the built count ({wrong} genomes)")
        totals["built"] += built_s
        totals["analytic"] += warm_s
        per = 1e3 / args.n
        print(f"{space_name}: {args.n} genomes, counts equal; built {built_s * per:.2f} ms/genome, analytic cold "
              f"{cold_s * per:.3f} ms/genome, warm {warm_s * per:.3f} ms/genome; speedup warm "
              f"{built_s / warm_s:.0f}x, cold {built_s / cold_s:.1f}x")
    print(f"speedup={totals['built'] / totals['analytic']:.0f}")


if __name__ == "__main__":
    main()
