"""Training throughput: ``Trainer.fit`` on :class:`ArchitectureModule` vs a plain PyTorch loop, side by side.

Both sides train the same network (the NSGANet micro genotype at search size: C=16, 8 cells, no auxiliary
head, 10 classes) on the same synthetic CIFAR-10 files (``write_cifar_files``, real on-disk format) in the same
process, each from the same seed:

* lightning: ``Trainer.fit(ArchitectureModule, CIFAR10DataModule)`` with what the ``fit`` command uses by
  default: TensorBoard logger, the ``DropPathSchedule`` callback, gradient clipping 5 through the Trainer, the
  module's metrics and ``self.log`` calls, the cosine schedule. Checkpointing and the model summary are off
  (``--checkpoint`` turns checkpointing on); the progress bar is off unless ``--progress-bar``.
* plain: a hand-written loop over the same ``train_dataloader()`` with the same batched augmentation
  (``BatchAugment.train``), the same SGD (lr 0.025, momentum 0.9, weight decay 3e-4), ``clip_grad_norm_`` 5,
  the drop-path ramp and a per-epoch ``CosineAnnealingLR`` step.

Each run trains ``--epochs`` epochs; the first is a warm-up and is excluded: the rate is images of epochs
2..E divided by the time from the start of epoch 2 to the end of training (epoch-end work included). Runs
alternate (lightning first in even rounds, plain first in odd ones) for ``--repeats`` rounds; the medians are
reported: images per second of each side, and the ratio of each round's two rates (a round's two runs are
adjacent in time, which cancels slow changes of the machine's load). The last line printed is
``train_overhead_ratio=<median over rounds of lightning / plain images per wall-clock second>``; the same ratio
per CPU second of this process is printed above it.

CPU note: intra-op threads default to 1 (``--threads``). On a busy 2-core machine two OpenMP threads per op
wait on each other and make every step 10-50x slower and very noisy, which would measure the machine, not the
overhead. Images are 32x32, the real CIFAR size, and the network is the full search-size one; only the data is
a subset (``--n-train``, default 128 images = 4 steps of 32 per epoch) so that a CPU run takes a few minutes.
Short runs and many alternating rounds: on a shared machine the speed of the very same computation drifts by
+-20 % over tens of seconds, and a median over many paired rounds cancels that better than a few long runs.

Usage: ``python benchmarks/train_overhead.py [--n-train 128] [--batch-size 32] [--epochs 2] [--repeats 9]``
"""

from __future__ import annotations

import argparse
import logging
import statistics
import tempfile
import time
import warnings
from pathlib import Path

import lightning as L
import torch
import torch.nn.functional as F
from lightning.pytorch.callbacks import Callback
from lightning.pytorch.loggers import TensorBoardLogger

from nsga_lightning.callbacks import DropPathSchedule
from nsga_lightning.data import CIFAR10DataModule, write_cifar_files
from nsga_lightning.module import ArchitectureModule

NETWORK = {"space": "micro", "genotype": "NSGANet", "init_channels": 16, "layers": 8, "auxiliary": False,
           "drop_path_prob": 0.2, "num_classes": 10}
LR, MOMENTUM, WEIGHT_DECAY, CLIP = 0.025, 0.9, 3e-4, 5.0


class Clock:
    """Wall-clock and process CPU seconds since ``start()``."""

    def start(self) -> None:
        self.wall, self.cpu = time.perf_counter(), time.process_time()

    def stop(self) -> tuple[float, float]:
        return time.perf_counter() - self.wall, time.process_time() - self.cpu


class WarmTimer(Callback):
    """Time from the start of the second training epoch to the end of training."""

    def __init__(self) -> None:
        self.clock = Clock()
        self.seconds: tuple[float, float] | None = None

    def on_train_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if trainer.current_epoch == 1:
            self.clock.start()

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self.seconds = self.clock.stop()


def make_datamodule(data_dir: Path, batch_size: int) -> CIFAR10DataModule:
    return CIFAR10DataModule(data_dir=str(data_dir), batch_size=batch_size, val_split=0, cutout=True)


def run_lightning(data_dir: Path, log_dir: Path, args: argparse.Namespace, seed: int) -> tuple[float, float]:
    """Images per wall-clock second and per CPU second of warm epochs under ``Trainer.fit``."""
    L.seed_everything(seed, verbose=False)
    dm = make_datamodule(data_dir, args.batch_size)
    model = ArchitectureModule(**NETWORK)
    timer = WarmTimer()
    trainer = L.Trainer(
        accelerator="cpu", devices=1, max_epochs=args.epochs, gradient_clip_val=CLIP,
        logger=TensorBoardLogger(str(log_dir), name="lightning", version=f"seed{seed}"),
        callbacks=[DropPathSchedule(), timer], enable_checkpointing=args.checkpoint,
        enable_progress_bar=args.progress_bar, enable_model_summary=False, num_sanity_val_steps=0,
    )
    trainer.fit(model, datamodule=dm)
    assert timer.seconds is not None
    images = (args.epochs - 1) * args.n_train
    return images / timer.seconds[0], images / timer.seconds[1]


def run_plain(data_dir: Path, args: argparse.Namespace, seed: int) -> tuple[float, float]:
    """Images per wall-clock second and per CPU second of warm epochs under a plain PyTorch loop."""
    L.seed_everything(seed, verbose=False)
    dm = make_datamodule(data_dir, args.batch_size)
    dm.setup("fit")
    network = ArchitectureModule(**NETWORK).network  # the same construction, so the same initial weights
    network.train()
    transform = dm.transform
    optimizer = torch.optim.SGD(network.parameters(), lr=LR, momentum=MOMENTUM, weight_decay=WEIGHT_DECAY)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=args.epochs)
    loader = dm.train_dataloader()
    clock = Clock()
    for epoch in range(args.epochs):
        if epoch == 1:
            clock.start()
        network.drop_path_prob = NETWORK["drop_path_prob"] * epoch / args.epochs
        for images, labels in loader:
            inputs = transform.train(images)  # (B, 3, 32, 32) float32, crop + flip + cutout + normalise
            logits, aux_logits = network(inputs)
            loss = F.cross_entropy(logits, labels)
            if aux_logits is not None:
                loss = loss + 0.4 * F.cross_entropy(aux_logits, labels)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(network.parameters(), CLIP)
            optimizer.step()
        scheduler.step()
    wall, cpu = clock.stop()
    images = (args.epochs - 1) * args.n_train
    return images / wall, images / cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n-train", type=int, default=128, help="training images per epoch")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--epochs", type=int, default=2, help="epochs per run (the first is a warm-up)")
    parser.add_argument("--repeats", type=int, default=9, help="alternating rounds (each runs both sides)")
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads (0 = torch's default)")
    parser.add_argument("--progress-bar", action="store_true", help="show Lightning's progress bar")
    parser.add_argument("--checkpoint", action="store_true", help="let Lightning save checkpoints")
    args = parser.parse_args()
    if args.epochs < 2:
        parser.error("--epochs must be >= 2 (the first epoch is excluded)")
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    for name in ("lightning", "lightning.pytorch", "lightning.fabric"):
        logging.getLogger(name).setLevel(logging.ERROR)
    logging.getLogger("nsga_lightning").setLevel(logging.WARNING)
    warnings.filterwarnings("ignore")

    rates: dict[str, list[float]] = {"lightning": [], "plain": []}
    cpu_rates: dict[str, list[float]] = {"lightning": [], "plain": []}
    with tempfile.TemporaryDirectory() as tmp:
        data_dir, log_dir = Path(tmp) / "data", Path(tmp) / "logs"
        write_cifar_files(data_dir, "cifar10", n_train=args.n_train, n_test=10, seed=0)
        n_params = sum(p.numel() for p in ArchitectureModule(**NETWORK).network.parameters())
        print(f"network: micro NSGANet C=16, 8 cells ({n_params:,} params); {args.n_train} CIFAR-format 32x32 images, batch {args.batch_size}, cutout; "
              f"{args.epochs} epochs per run (first excluded); threads {torch.get_num_threads()}")
        for r in range(args.repeats):
            order = ("lightning", "plain") if r % 2 == 0 else ("plain", "lightning")
            for side in order:
                wall, cpu = (run_lightning(data_dir, log_dir, args, r) if side == "lightning"
                             else run_plain(data_dir, args, r))
                rates[side].append(wall)
                cpu_rates[side].append(cpu)
            print(f"round {r + 1}/{args.repeats}: lightning {rates['lightning'][-1]:7.2f} img/s   "
                  f"plain {rates['plain'][-1]:7.2f} img/s   ratio {rates['lightning'][-1] / rates['plain'][-1]:.3f}"
                  f"   (per CPU second: {cpu_rates['lightning'][-1]:7.2f} vs {cpu_rates['plain'][-1]:7.2f}, "
                  f"ratio {cpu_rates['lightning'][-1] / cpu_rates['plain'][-1]:.3f})", flush=True)
    lightning, plain = statistics.median(rates["lightning"]), statistics.median(rates["plain"])
    paired = statistics.median(a / b for a, b in zip(rates["lightning"], rates["plain"]))
    cpu_paired = statistics.median(a / b for a, b in zip(cpu_rates["lightning"], cpu_rates["plain"]))
    print(f"median images/s: lightning {lightning:.2f}, plain {plain:.2f} (ratio of medians {lightning / plain:.3f})")
    print(f"median of the per-round ratios: {paired:.3f} wall clock, {cpu_paired:.3f} per CPU second "
          "(target >= 0.95)")
    print(f"train_overhead_ratio={paired:.3f}")


if __name__ == "__main__":
    main()
