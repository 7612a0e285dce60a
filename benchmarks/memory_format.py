"""Channels-last against the default (contiguous) memory format for search candidates on the CPU, side by side.

For two recipes, the quickstart's proxies (digits at 16x16, C=8, 5 cells, batch 64) and the fast recipe's
(``configs/search/micro-cifar10-fast.yaml``: 32x32 CIFAR-format images, C=16, 8 cells, batch 128), trains the same
seeded random micro genomes (and the NSGANet cell) through ``TrainerEvaluator`` in both formats, alternating which
goes first, and times the training steps only (``candidate_throughput.StepClock``, after ``--warmup`` steps), at
``--threads`` intra-op threads (the search's default: 1). Prints per recipe the median images/s of each format, the
median of the per-genome ratios (channels-last / contiguous) and how many candidates failed in each format.

``python benchmarks/memory_format.py`` (about 10 minutes on 2 CPU cores). ``ONEDNN_MAX_CPU_ISA=AVX2`` in the
environment shows what an AVX2-only CPU's kernels do with the same candidates.

The last line printed is ``channels_last_speedup=<quickstart ratio>,<fast ratio>`` (medians).
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import tempfile
from dataclasses import dataclass
from typing import Any

import numpy as np
from candidate_throughput import StepClock

from nsga_lightning.data import CIFAR10DataModule, DigitsDataModule, write_cifar_files
from nsga_lightning.search import Candidate, derive_seed
from nsga_lightning.search.training.trainer_evaluator import TrainerEvaluator
from nsga_lightning.spaces import MICRO_ZOO, make_space


@dataclass(frozen=True)
class Recipe:
    """A proxy network and its data, as a search recipe trains them."""

    name: str
    init_channels: int
    layers: int
    batch_size: int
    data: str  # digits | cifar


RECIPES = {
    "quickstart": Recipe("quickstart", 8, 5, 64, "digits"),
    "fast": Recipe("fast", 16, 8, 128, "cifar"),
}


def datamodule_of(recipe: Recipe, folder: str, n_train: int) -> Any:
    if recipe.data == "digits":
        return DigitsDataModule(batch_size=recipe.batch_size, val_split=0.2, image_size=16, crop_padding=2)
    write_cifar_files(folder, "cifar10", n_train=n_train + 32, n_test=10, seed=0)
    return CIFAR10DataModule(data_dir=folder, batch_size=recipe.batch_size, val_split=32)


def candidates(n: int, seed: int) -> list[Candidate]:
    """The NSGANet cell and ``n`` seeded random genomes."""
    space = make_space("micro")
    genomes = [np.asarray(space.encode(MICRO_ZOO["NSGANet"])), *space.sample(np.random.default_rng(seed), n)]
    result = []
    for genome in genomes:
        key = space.key(genome)
        result.append(Candidate(key, [int(g) for g in genome], 0, derive_seed(0, key), space.decode(genome)))
    return result


def measure(recipe: Recipe, datamodule: Any, candidate: Candidate, channels_last: bool,
            args: argparse.Namespace) -> float | None:
    """Images/s inside the training steps of one epoch; ``None`` if the candidate failed."""
    clock = StepClock(args.warmup, "cpu")
    evaluator = TrainerEvaluator(
        "micro", datamodule, callbacks=[clock], channels_last=channels_last, num_threads=args.threads,
        model={"init_channels": recipe.init_channels, "layers": recipe.layers},
        trainer={"max_epochs": 1, "accelerator": "cpu", "limit_train_batches": args.steps + args.warmup})
    result = next(iter(evaluator.evaluate([candidate])))
    if not result.is_ok or clock.seconds <= 0:
        return None
    return clock.images / clock.seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--recipes", default="quickstart,fast", help=f"comma-separated of {', '.join(RECIPES)}")
    parser.add_argument("--genomes", type=int, default=6, help="random genomes besides NSGANet")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--steps", type=int, default=12, help="timed training steps per candidate")
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--n-train", type=int, default=2048)
    args = parser.parse_args()
    logging.getLogger("lightning").setLevel(logging.ERROR)
    isa = os.environ.get("ONEDNN_MAX_CPU_ISA", "default")
    print(f"1 epoch of {args.steps} timed steps per candidate, {args.threads} thread(s), oneDNN ISA {isa}, "
          f"NSGANet + {args.genomes} random micro genomes (seed {args.seed}), formats alternating")
    speedups = []
    for name in args.recipes.split(","):
        recipe = RECIPES[name]
        rates: dict[bool, list[Any]] = {False: [], True: []}
        with tempfile.TemporaryDirectory() as folder:
            datamodule = datamodule_of(recipe, folder, args.n_train)
            for index, candidate in enumerate(candidates(args.genomes, args.seed)):
                order = (False, True) if index % 2 == 0 else (True, False)
                for channels_last in order:
                    rate = measure(recipe, datamodule, candidate, channels_last, args)
                    rates[channels_last].append(rate)
        ok = [(c, cl) for c, cl in zip(rates[False], rates[True], strict=True)
              if isinstance(c, float) and isinstance(cl, float)]
        ratio = statistics.median(cl / c for c, cl in ok) if ok else float("nan")
        speedups.append(ratio)
        for channels_last in (False, True):
            values = [r for r in rates[channels_last] if isinstance(r, float)]
            bad = [r if r is not None else "failed" for r in rates[channels_last] if not isinstance(r, float)]
            label = "channels-last" if channels_last else "contiguous"
            median = statistics.median(values) if values else float("nan")
            print(f"{recipe.name:<11} {label:<14} median {median:8.1f} img/s over {len(values)} candidates; "
                  f"not finished: {len(bad)} {bad if bad else ''}")
        print(f"{recipe.name:<11} channels-last / contiguous, median of {len(ok)} per-genome ratios: {ratio:.2f} "
              f"(per genome: {', '.join(f'{cl / c:.2f}' for c, cl in ok)})")
    print("channels_last_speedup=" + ",".join(f"{s:.2f}" for s in speedups))


if __name__ == "__main__":
    main()
