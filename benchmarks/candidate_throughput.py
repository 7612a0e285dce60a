"""Candidate training throughput by memory format and precision, side by side, on one device.

Trains the same search-time proxy (the NSGANet micro genotype by default; ``--genotype`` takes any zoo name)
through ``TrainerEvaluator`` (what ``nsga-lightning search`` runs per candidate) on synthetic CIFAR-10 files in
the real on-disk format, once per setting, and times the training steps only (a callback from the first
``--warmup`` steps on: forward, loss, backward, clipping, optimizer step). Settings are
``{contiguous, channels-last} x {--precisions}``; the fp32 contiguous run is the baseline of every ratio.
Rounds alternate the order of the settings; medians over ``--repeats`` rounds are reported. Each run also
reports whether the candidate finished (a non-finite loss fails it: CPU bf16 channels-last does, see
``TrainerEvaluator``).

CPU (this project's 2-core machine): ``python benchmarks/candidate_throughput.py``
GPU session: ``python benchmarks/candidate_throughput.py --device cuda --precisions 32-true,16-mixed,bf16-mixed
--init-channels 16 --layers 8 --batch-size 128 --n-train 8192``

The last line printed is ``channels_last_speedup_fp32=<median images/s channels-last / contiguous, fp32>``.
"""

from __future__ import annotations

import argparse
import logging
import statistics
import tempfile
import time
from typing import Any

import torch
from lightning.pytorch import Callback

from nsga_lightning.data import CIFAR10DataModule, write_cifar_files
from nsga_lightning.search import Candidate, derive_seed
from nsga_lightning.search.training.trainer_evaluator import TrainerEvaluator
from nsga_lightning.spaces import MICRO_ZOO, make_space


class StepClock(Callback):
    """Seconds and images inside training steps, from step ``warmup`` of the first epoch on (the device is
    synchronised around each step when it is a GPU, so that queued kernels are counted)."""

    def __init__(self, warmup: int, device: str) -> None:
        self.warmup, self.seconds, self.images, self._start = warmup, 0.0, 0, 0.0
        self._step = 0
        self._sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)

    def on_train_batch_start(self, trainer: Any, pl_module: Any, batch: Any, batch_idx: int) -> None:
        self._sync()
        self._start = time.perf_counter()

    def on_train_batch_end(self, trainer: Any, pl_module: Any, outputs: Any, batch: Any, batch_idx: int) -> None:
        self._sync()
        if self._step >= self.warmup:
            self.seconds += time.perf_counter() - self._start
            self.images += int(batch[0].shape[0])
        self._step += 1


def run_once(datamodule: CIFAR10DataModule, candidate: Candidate, device: str, precision: str,
             channels_last: bool, args: argparse.Namespace) -> tuple[float, bool]:
    """Images per second inside training steps, and whether the candidate finished."""
    clock = StepClock(args.warmup, device)
    evaluator = TrainerEvaluator(
        "micro", datamodule, callbacks=[clock], channels_last=channels_last,
        num_threads=args.threads or None,
        model={"init_channels": args.init_channels, "layers": args.layers, "learning_rate": 0.025},
        trainer={"max_epochs": args.epochs, "accelerator": "gpu" if device == "cuda" else "cpu",
                 "precision": precision},
    )
    result = next(iter(evaluator.evaluate([candidate])))
    rate = clock.images / clock.seconds if clock.seconds > 0 else float("nan")
    return rate, result.is_ok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--precisions", default="32-true,bf16-mixed", help="comma-separated Trainer precisions")
    parser.add_argument("--genotype", default="NSGANet", choices=sorted(MICRO_ZOO))
    parser.add_argument("--init-channels", type=int, default=8)
    parser.add_argument("--layers", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--n-train", type=int, default=480, help="training images (plus 32 held out)")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--warmup", type=int, default=3, help="training steps not timed")
    parser.add_argument("--repeats", type=int, default=3, help="alternating rounds")
    parser.add_argument("--threads", type=int, default=0, help="intra-op threads (0: torch's default)")
    args = parser.parse_args()
    logging.getLogger("lightning").setLevel(logging.ERROR)

    space = make_space("micro")
    genome = [int(g) for g in space.encode(MICRO_ZOO[args.genotype])]
    key = space.key(genome)
    candidate = Candidate(key, genome, 0, derive_seed(0, key), space.decode(genome))
    settings = [(precision, channels_last) for precision in args.precisions.split(",")
                for channels_last in (False, True)]
    rates: dict[tuple[str, bool], list[float]] = {s: [] for s in settings}
    finished: dict[tuple[str, bool], bool] = {}
    with tempfile.TemporaryDirectory() as folder:
        write_cifar_files(folder, "cifar10", n_train=args.n_train + 32, n_test=10, seed=0)
        datamodule = CIFAR10DataModule(data_dir=folder, batch_size=args.batch_size, val_split=32,
                                       pin_memory=args.device == "cuda")
        for round_index in range(args.repeats):
            order = settings if round_index % 2 == 0 else settings[::-1]
            for precision, channels_last in order:
                rate, ok = run_once(datamodule, candidate, args.device, precision, channels_last, args)
                rates[(precision, channels_last)].append(rate)
                finished[(precision, channels_last)] = finished.get((precision, channels_last), True) and ok
    median = {s: statistics.median(v) for s, v in rates.items()}
    baseline = median.get(("32-true", False)) or next(iter(median.values()))
    print(f"device {args.device}; genotype {args.genotype}, C={args.init_channels}, {args.layers} cells, "
          f"batch {args.batch_size}; median of {args.repeats} rounds")
    print(f"{'precision':<12} {'format':<14} {'images/s':>10} {'vs fp32 contiguous':>19}  finished")
    for (precision, channels_last), value in median.items():
        fmt = "channels-last" if channels_last else "contiguous"
        print(f"{precision:<12} {fmt:<14} {value:>10.1f} {value / baseline:>18.2f}x  "
              f"{'yes' if finished[(precision, channels_last)] else 'NO (non-finite loss)'}")
    fp32 = [median.get(("32-true", cl)) for cl in (False, True)]
    if all(fp32):
        print(f"channels_last_speedup_fp32={fp32[1] / fp32[0]:.2f}")


if __name__ == "__main__":
    main()
