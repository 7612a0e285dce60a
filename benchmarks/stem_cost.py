"""Proxy candidate time on 96x96 images: the imagenet stem against the cifar stem, side by side.

Each measurement is one real search candidate, as ``nsga-lightning search`` evaluates it (``TrainerEvaluator``:
build, one short fit, validation, MAdds): the quickstart's proxy (8 channels, 5 cells; ``--space macro``: the
residual decoder at 8, 16, 32 channels) on the scikit-learn digits upsampled to ``--image-size`` (3 channels, no
download), ``--batches`` training batches of 64 and the whole validation split. The two stems alternate their
order every round; medians over ``--repeats`` rounds. With the cifar stem the cells work at 96x96, with the
imagenet stem at 12x12 (the side divided by 8), which is what ``stem: auto`` picks from 96 pixels.

Run: ``python benchmarks/stem_cost.py`` (about 4 minutes on 2 busy CPU cores). The last line printed is
``imagenet_stem_speedup=<median cifar-stem seconds / imagenet-stem seconds>``.
"""

from __future__ import annotations

import argparse
import logging
import statistics

from nsga_lightning.data import DigitsDataModule
from nsga_lightning.search import Candidate, derive_seed
from nsga_lightning.search.trainer_evaluator import TrainerEvaluator
from nsga_lightning.spaces import MACRO_ZOO, MICRO_ZOO, make_space

STEMS = ("cifar", "imagenet")
PROXIES = {"micro": {"init_channels": 8, "layers": 5, "learning_rate": 0.05},
           "macro": {"init_channels": 8, "learning_rate": 0.05}}


def candidate_of(space_name: str) -> Candidate:
    """The published NSGANet architecture of the space as a search candidate."""
    space = make_space(space_name)
    if space_name == "micro":
        genome = [int(g) for g in space.encode(MICRO_ZOO["NSGANet"])]
    else:
        genome = [int(g) for g in MACRO_ZOO["NSGANet"].bits]
    key = space.key(genome)
    return Candidate(key, genome, 0, derive_seed(0, key), space.decode(genome))


def run_once(datamodule: DigitsDataModule, space: str, stem: str, batches: int) -> tuple[float, dict[str, float]]:
    """Seconds of one candidate (build, fit, validation, MAdds) and its objectives."""
    evaluator = TrainerEvaluator(space, datamodule, model={**PROXIES[space], "stem": stem}, num_threads=1,
                                 trainer={"max_epochs": 1, "accelerator": "cpu", "limit_train_batches": batches})
    result = next(iter(evaluator.evaluate([candidate_of(space)])))
    if not result.is_ok:
        raise RuntimeError(f"the {stem}-stem candidate failed: {result.error_text}")
    return result.seconds, dict(result.objectives)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--space", default="micro", choices=sorted(PROXIES))
    parser.add_argument("--image-size", type=int, default=96)
    parser.add_argument("--batches", type=int, default=4, help="training batches of 64 per candidate")
    parser.add_argument("--repeats", type=int, default=3, help="alternating rounds")
    args = parser.parse_args()
    logging.getLogger("lightning").setLevel(logging.ERROR)

    datamodule = DigitsDataModule(image_size=args.image_size, batch_size=64, val_split=0.2)
    seconds: dict[str, list[float]] = {stem: [] for stem in STEMS}
    objectives: dict[str, dict[str, float]] = {}
    for round_index in range(args.repeats):
        for stem in STEMS if round_index % 2 == 0 else STEMS[::-1]:
            spent, objectives[stem] = run_once(datamodule, args.space, stem, args.batches)
            seconds[stem].append(spent)
    print(f"{args.space} NSGANet proxy {PROXIES[args.space]}, digits at {args.image_size}x{args.image_size}, "
          f"{args.batches} batches of 64 + validation; one thread; median of {args.repeats} alternating rounds")
    print(f"{'stem':<9} {'seconds':>8} {'all rounds':>24} {'MAdds':>9} {'val error':>10}")
    for stem in STEMS:
        rounds = ", ".join(f"{s:.1f}" for s in seconds[stem])
        print(f"{stem:<9} {statistics.median(seconds[stem]):>8.2f} {rounds:>24} "
              f"{objectives[stem]['madds'] / 1e6:>8.1f}M {objectives[stem]['error']:>9.2f}%")
    print(f"imagenet_stem_speedup={statistics.median(seconds['cifar']) / statistics.median(seconds['imagenet']):.2f}")


if __name__ == "__main__":
    main()
