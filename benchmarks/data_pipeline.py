"""Training-data throughput: index-batched loader + batched augmentation vs torchvision per-image transforms.

Both pipelines produce the same thing from the same synthetic CIFAR-format images: shuffled batches of
normalised float32 tensors with random crop (4-pixel zero padding), horizontal flip and cutout 16.

* ours: ``CIFAR10DataModule.train_dataloader()`` (one ``images[indices]`` per batch, uint8) followed by
  ``BatchAugment.train`` on the whole batch on ``--device`` (what ``on_after_batch_transfer`` does).
* torchvision: a ``DataLoader`` over PIL images with ``RandomCrop(32, padding=4) -> RandomHorizontalFlip ->
  ToTensor -> Cutout(16) -> Normalize`` per image (the original NSGA-Net/DARTS pipeline), for each worker
  count in ``--workers``.

Each pipeline runs ``--epochs`` full epochs; the best epoch counts. The last line printed is
``data_pipeline_speedup=<ours / best torchvision>``.

Usage: ``python benchmarks/data_pipeline.py [--n-images 20000] [--workers 0,2] [--device cpu]``
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable, Iterable

import numpy as np
import torch
from PIL import Image
from torch.utils.data import DataLoader, Dataset
from torchvision import transforms

from nsga_lightning.data import CIFAR10_MEAN, CIFAR10_STD, CIFAR10DataModule, write_cifar_files


class Cutout:
    """The DARTS/NSGA-Net per-image cutout of a ``(C, H, W)`` float tensor (numpy mask, as the original)."""

    def __init__(self, length: int) -> None:
        self.length = length

    def __call__(self, img: torch.Tensor) -> torch.Tensor:
        h, w = img.size(1), img.size(2)
        mask = np.ones((h, w), np.float32)
        y, x = np.random.randint(h), np.random.randint(w)
        y1, y2 = np.clip(y - self.length // 2, 0, h), np.clip(y + self.length // 2, 0, h)
        x1, x2 = np.clip(x - self.length // 2, 0, w), np.clip(x + self.length // 2, 0, w)
        mask[y1:y2, x1:x2] = 0.0
        return img * torch.from_numpy(mask).expand_as(img)


class PILDataset(Dataset):
    """PIL images and labels with a per-image transform, like ``torchvision.datasets.CIFAR10``."""

    def __init__(self, images: torch.Tensor, labels: torch.Tensor, transform: Callable) -> None:
        hwc = images.permute(0, 2, 3, 1).numpy()  # (N, H, W, C)
        self.images = [Image.fromarray(img) for img in hwc]
        self.labels = labels.tolist()
        self.transform = transform

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        return self.transform(self.images[i]), self.labels[i]


def best_epoch_rate(epoch: Callable[[], int], epochs: int) -> float:
    """Images per second of the fastest of ``epochs`` runs of ``epoch`` (which returns its image count)."""
    best = float("inf")
    count = 0
    for _ in range(epochs):
        start = time.perf_counter()
        count = epoch()
        best = min(best, time.perf_counter() - start)
    return count / best


def consume(batches: Iterable[tuple[torch.Tensor, torch.Tensor]], step: Callable | None = None) -> int:
    """Run through one epoch of batches (applying ``step`` to the images) and return the image count."""
    n = 0
    for images, labels in batches:
        if step is not None:
            images = step(images)
        n += len(labels)
    return n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-images", type=int, default=20000)
    parser.add_argument("--batch-size", type=int, default=96)
    parser.add_argument("--workers", default="0,2", help="comma-separated torchvision worker counts")
    parser.add_argument("--epochs", type=int, default=2, help="epochs per pipeline; the best one counts")
    parser.add_argument("--device", default="cpu", help="where our augmentation runs (cpu or cuda)")
    args = parser.parse_args()
    torch.manual_seed(0)
    np.random.seed(0)
    device = torch.device(args.device)
    rows: list[tuple[str, float]] = []

    with tempfile.TemporaryDirectory() as root:
        write_cifar_files(root, "cifar10", n_train=args.n_images, n_test=5, seed=0)
        dm = CIFAR10DataModule(data_dir=root, batch_size=args.batch_size, cutout=True, cutout_length=16)
        dm.setup("fit")
        augment = dm.transform

        def ours_step(images: torch.Tensor) -> torch.Tensor:
            out = augment.train(images.to(device, non_blocking=True))
            if device.type == "cuda":
                torch.cuda.synchronize(device)
            return out

        ours = best_epoch_rate(lambda: consume(dm.train_dataloader(), ours_step), args.epochs)
        rows.append((f"ours: index-batched loader + batched augment ({device.type})", ours))

        assert dm.train_set is not None
        images, labels = dm.train_set.tensors
        per_image = transforms.Compose([
            transforms.RandomCrop(32, padding=4),
            transforms.RandomHorizontalFlip(),
            transforms.ToTensor(),
            Cutout(16),
            transforms.Normalize(CIFAR10_MEAN, CIFAR10_STD),
        ])  # fmt: skip
        dataset = PILDataset(images, labels, per_image)
        best_tv = 0.0
        for workers in (int(w) for w in args.workers.split(",")):
            loader = DataLoader(dataset, batch_size=args.batch_size, shuffle=True, num_workers=workers)
            rate = best_epoch_rate(lambda loader=loader: consume(loader), args.epochs)
            rows.append((f"torchvision per-image transforms, num_workers={workers}", rate))
            best_tv = max(best_tv, rate)

    print(f"{args.n_images} CIFAR-format images, batch {args.batch_size}, crop+flip+cutout16+normalise, "
          f"{torch.get_num_threads()} torch threads")  # fmt: skip
    print(f"{'pipeline':62s} {'images/s':>12s}")
    for name, rate in rows:
        print(f"{name:62s} {rate:12,.0f}")
    print(f"data_pipeline_speedup={ours / best_tv:.2f}")


if __name__ == "__main__":
    main()
