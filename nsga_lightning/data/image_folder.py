"""Your own images: a datamodule over class folders (torchvision's ``ImageFolder`` layout).

Small sets are decoded once into the uint8 tensor cache of the CIFAR datamodules; sets larger than
``cache_limit_mb`` are streamed from disk, each batch decoded by DataLoader workers. Either way the loaders
hand out the same uint8 batches, and augmentation and normalisation run batched on the device, as for CIFAR.

Faults raise one ``ValueError`` naming the folder or file: the folder structure when the module is built,
the file headers when its size or channels are first read (the CLI does so when it builds the model), the
pixels in ``prepare_data`` (every file of a cached set, the training files of a streamed one: Lightning calls
it before it creates any folder); a streamed validation or test file that fails to decode raises when its
batch loads.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import torch
from torch import Tensor
from torch.utils.data import DataLoader, Dataset
from typing_extensions import override

from nsga_lightning.data.base import (
    BatchedImageDataModule,
    IndexBatchDataset,
    SplitSize,
    check_split,
    pass_batch,
    split_indices,
)
from nsga_lightning.data.image_files import (
    ImageFileDataset,
    ImageList,
    find_classes,
    list_images,
    read_headers,
)
from nsga_lightning.data.normalize import channel_statistics

__all__ = ["MIN_IMAGE_SIZE", "ImageFolderDataModule"]

log = logging.getLogger(__name__)

MIN_IMAGE_SIZE = 8
"""Smallest image side served: a network's reductions leave no feature map of smaller images."""

_DECODE_BATCH = 256  # images decoded per fetch when filling the cache or computing statistics


@dataclass(frozen=True)
class _Layout:
    """What the file headers settle: channels, the side served, and whether the set is streamed."""

    channels: int
    size: int
    streams: bool


class ImageFolderDataModule(BatchedImageDataModule):
    """Images in class folders (``root/<class>/<image>``), cached in memory or streamed, augmented on device.

    Args:
        root: Folder of the training images, one sub-folder per class (torchvision's ``ImageFolder`` layout;
            image files end in ``.jpg .jpeg .png .ppm .bmp .pgm .tif .tiff .webp``, searched recursively).
        val_dir: Folder of the validation images, with the same class folders as ``root``; ``None`` holds
            ``val_split`` out of ``root`` instead.
        test_dir: Folder of the test images, with the same class folders as ``root``; ``None`` holds
            ``test_split`` out of ``root`` instead (no test set when that is 0).
        image_size: Side of the square images served: every image is resized (shorter side to
            ``image_size``, bilinear, antialiased) and centre-cropped. ``None`` serves the files' own size,
            which must then be the same square size for every file. At least 8.
        channels: 1 (grey) or 3 (RGB): colour files are converted to grey (luma) or grey files replicated.
            ``None`` detects it: 1 when every file is grey, else 3.
        val_split: Validation images held out of ``root`` (after the test split) when ``val_dir`` is not
            given: a count (int) or a fraction (float in [0, 1)); 0 = no validation set. ``"auto"`` = 0.1
            without ``val_dir``, 0 with it.
        test_split: Test images held out of ``root`` when ``test_dir`` is not given (count or fraction;
            0 = no test set).
        split_seed: Seed of the held-out splits (independent of the training seed).
        batch_size: Training batch size.
        eval_batch_size: Batch size of the validation, test and predict loaders.
        augment: Augment training batches (crop, flip, cutout); normalisation is always applied.
        cutout: Apply cutout to training batches.
        cutout_length: Side of the cutout square.
        hflip: Mirror training images left-right with probability 0.5.
        crop_padding: Zero padding of the random crop; 0 disables cropping.
        mean: Per-channel normalisation means on the 0..1 scale (one entry per channel); ``None`` computes
            them (and ``std``) over the pixels of the training split, after resizing.
        std: Per-channel normalisation standard deviations on the 0..1 scale; ``None`` with ``mean``.
        cache_limit_mb: Largest decoded set (``images x channels x size x size`` bytes, every split) held in
            memory, in MiB; a larger set is streamed from disk (0 always streams).
        num_workers: DataLoader worker processes; ``None`` = 0 for a cached set (one index op per batch) and
            ``min(4, CPUs)`` for a streamed one (they decode the files).
        pin_memory: Pin loader batches in page-locked memory (useful with a GPU).

    Raises:
        ValueError: For a bad setting (naming it and what is allowed) or a fault in the folders (naming the
            folder).
    """

    def __init__(
        self,
        root: str,
        val_dir: str | None = None,
        test_dir: str | None = None,
        image_size: int | None = None,
        channels: int | None = None,
        val_split: SplitSize | Literal["auto"] = "auto",
        test_split: SplitSize = 0,
        split_seed: int = 0,
        batch_size: int = 96,
        eval_batch_size: int = 256,
        augment: bool = True,
        cutout: bool = False,
        cutout_length: int = 16,
        hflip: bool = True,
        crop_padding: int = 4,
        mean: Sequence[float] | None = None,
        std: Sequence[float] | None = None,
        cache_limit_mb: float = 2048,
        num_workers: int | None = None,
        pin_memory: bool = False,
    ) -> None:
        _check_settings(image_size, channels, cache_limit_mb, num_workers, mean)
        # "auto", not None: jsonargparse parses "3" as 3.0 for an `int | float | None` argument of a
        # datamodule given by class_path under LightningCLI
        if val_split == "auto":
            val_split = 0 if val_dir is not None else 0.1
        for name, value, folder in (("val_split", val_split, val_dir), ("test_split", test_split, test_dir)):
            check_split(value, name)
            if value and folder is not None:
                raise ValueError(f"give {name[:-6]}_dir or {name}, not both (got {name}={value!r} and "
                                 f"{name[:-6]}_dir={folder!r})")
        super().__init__(
            batch_size=batch_size,
            eval_batch_size=eval_batch_size,
            augment=augment,
            hflip=hflip,
            crop_padding=crop_padding,
            cutout=cutout,
            cutout_length=cutout_length,
            num_workers=num_workers or 0,
            pin_memory=pin_memory,
            mean=mean,
            std=std,
        )
        self.root, self.val_dir, self.test_dir = root, val_dir, test_dir
        self.val_split, self.test_split, self.split_seed = val_split, test_split, split_seed
        self.num_workers = num_workers  # type: ignore[assignment]  # None = chosen by cached/streamed
        self.cache_limit_mb = cache_limit_mb
        self._channels, self._size = channels, image_size
        self.classes: list[str] = find_classes(Path(root), "root")
        """Class names (folder names, sorted); label ``i`` is ``classes[i]``."""
        self._parts = self._split_files()
        self._layout: _Layout | None = None
        self._cache: dict[str, Tensor] | None = None  # split name -> uint8 (N, C, S, S)
        self.save_hyperparameters(logger=False)

    def _split_files(self) -> dict[str, ImageList]:
        """The files of the ``train``, ``val`` and ``test`` splits (a split without files is left out)."""
        files = list_images(Path(self.root), self.classes, "root")
        parts: dict[str, ImageList] = {}
        pool, test = split_indices(len(files.paths), self.test_split, self.split_seed, "test_split")
        kept, held = split_indices(len(pool), self.val_split, self.split_seed, "val_split")
        for name, index in (("train", pool[kept]), ("val", pool[held]), ("test", test)):
            if len(index):
                parts[name] = ImageList(files.folder, tuple(files.paths[i] for i in index.tolist()),
                                        files.labels[index])
        for name, folder in (("val", self.val_dir), ("test", self.test_dir)):
            if folder is not None:
                parts[name] = self._folder_files(folder, f"{name}_dir")
        return parts

    def _folder_files(self, folder: str, name: str) -> ImageList:
        """The files of ``val_dir``/``test_dir``, whose class folders must be those of ``root``."""
        classes = find_classes(Path(folder), name)
        if classes != self.classes:
            missing = sorted(set(self.classes) - set(classes))
            extra = sorted(set(classes) - set(self.classes))
            raise ValueError(f"the class folders of {name} {folder!r} differ from root's {self.classes}: "
                             f"missing {missing}, extra {extra}; give the same class folders")
        return list_images(Path(folder), self.classes, name)

    @property
    @override
    def num_classes(self) -> int:
        """Number of class folders in ``root``."""
        return len(self.classes)

    @property
    @override
    def image_size(self) -> int:
        """Side of the square images served (``image_size``, or the files' own size). Reading it checks every
        file's header (once)."""
        return self._read_layout().size

    @property
    @override
    def in_channels(self) -> int:
        """Channels of the images served: 1 (grey) or 3 (RGB). Reading it checks every file's header
        (once)."""
        return self._read_layout().channels

    @property
    def streams(self) -> bool:
        """Whether batches are decoded from disk (the decoded set exceeds ``cache_limit_mb``)."""
        return self._read_layout().streams

    @property
    @override
    def has_validation(self) -> bool:
        """Whether a validation set is served (``val_dir`` or a non-zero ``val_split``)."""
        return "val" in self._parts

    def _read_layout(self) -> _Layout:
        """Channels, size and caching, from the headers of every file (read once)."""
        if self._layout is None:
            paths = [path for part in self._parts.values() for path in part.paths]
            grey, *first = read_headers(paths, same_size=self._size is None)
            size = self._size if self._size is not None else _own_size(*first)
            channels = self._channels if self._channels is not None else (1 if grey else 3)
            if self.mean is not None and len(self.mean) != channels:
                raise ValueError(f"mean and std have {len(self.mean)} entries but the images have {channels} "
                                 f"channel(s); give one entry per channel or set channels")
            megabytes = len(paths) * channels * size * size / 2**20
            self._layout = _Layout(channels, size, megabytes > self.cache_limit_mb)
            counts = " / ".join(f"{len(part.paths)} {name}" for name, part in self._parts.items())
            log.info("%s: %d classes, %s images of %dx%dx%d (%.1f MiB decoded), %s", type(self).__name__,
                     self.num_classes, counts, channels, size, size, megabytes,
                     "streamed from disk" if self._layout.streams else "cached in memory")
        return self._layout

    def _workers(self) -> int:
        """The DataLoader workers: ``num_workers``, or by default 0 for a cached set and ``min(4, CPUs)`` for
        a streamed one."""
        if self.num_workers is not None:
            return self.num_workers
        return min(4, len(os.sched_getaffinity(0))) if self.streams else 0

    def _file_dataset(self, name: str) -> ImageFileDataset:
        layout = self._read_layout()
        part = self._parts[name]
        return ImageFileDataset(part.paths, part.labels, layout.channels, layout.size)

    def _decoded_batches(self, name: str) -> Iterator[Tensor]:
        """The images of a split decoded from disk in file order, uint8 ``(B, C, S, S)`` batches."""
        loader = DataLoader(self._file_dataset(name), batch_size=_DECODE_BATCH, num_workers=self._workers(),
                            collate_fn=pass_batch)
        for images, _ in loader:
            yield images

    def _decode_cache(self) -> dict[str, Tensor]:
        """Every split decoded into uint8 tensors (once)."""
        if self._cache is None:
            layout, cache = self._read_layout(), {}
            for name, part in self._parts.items():
                shape = (len(part.paths), layout.channels, layout.size, layout.size)
                images = torch.empty(shape, dtype=torch.uint8)
                start = 0
                for batch in self._decoded_batches(name):  # filled in place: no second copy of the set
                    images[start : start + len(batch)] = batch
                    start += len(batch)
                cache[name] = images
            self._cache = cache
        return self._cache

    def _compute_statistics(self) -> None:
        """Set ``mean``/``std`` from the training split's pixels, unless they were given."""
        if self.mean is not None:
            return
        if self._cache is not None:
            train = self._cache["train"]
            batches: Iterator[Tensor] = iter(train.split(_DECODE_BATCH))
        else:
            batches = self._decoded_batches("train")
        self.mean, self.std = channel_statistics(batches)
        _ = self.transform  # checks the statistics like given ones
        log.info("%s: normalisation statistics of the training split: mean %s, std %s (give them as mean and "
                 "std to skip this pass)", type(self).__name__, [round(v, 4) for v in self.mean],
                 [round(v, 4) for v in self.std])

    @override
    def prepare_data(self) -> None:
        """Read every file: the headers, and the pixels of a cached set (or of a streamed set's training
        split, for the statistics). Lightning calls it before it creates log or checkpoint folders, so a
        faulty file stops a run before anything is written.

        Raises:
            ValueError: For a faulty file, or when a trainer tests or predicts without a test set.
        """
        trainer = self.trainer  # attached by Trainer.test/predict before it calls this hook
        if trainer is not None and trainer.state.fn in ("test", "predict") and "test" not in self._parts:
            raise _no_test_set()
        self._read_layout()
        if not self.streams:
            self._decode_cache()
        self._compute_statistics()

    @override
    def setup(self, stage: str | None = None) -> None:
        """Build the datasets ``stage`` needs (once; later calls reuse them).

        Args:
            stage: ``"fit"``/``"validate"`` (training and validation sets), ``"test"``/``"predict"`` (test
                set) or ``None`` (all).
        """
        self.prepare_data()  # a no-op after the first call; needed where Lightning calls it on another rank
        wanted = {"fit": ("train", "val"), "validate": ("train", "val"), "test": ("test",),
                  "predict": ("test",)}.get(stage or "", ("train", "val", "test"))
        sets: dict[str, Dataset | None] = {}
        for name in wanted:
            if name not in self._parts:
                sets[name] = None
            elif self._cache is not None:
                sets[name] = IndexBatchDataset(self._cache[name], self._parts[name].labels)
            else:
                sets[name] = self._file_dataset(name)
        if "train" in sets and self.train_set is None:
            self.train_set, self.val_set = sets["train"], sets["val"]
        if "test" in sets and self.test_set is None:
            self.test_set = sets["test"]

    @override
    def test_dataloader(self) -> DataLoader:
        """Test batches (``test_dir`` or the ``test_split`` of ``root``).

        Raises:
            ValueError: If there is no test set.
        """
        if "test" not in self._parts:
            raise _no_test_set()
        return super().test_dataloader()

    @override
    def _loader(self, dataset: Dataset, batch_size: int, shuffle: bool) -> DataLoader:
        # not persistent_workers: the search makes loaders for every candidate, and kept workers would outlive
        # its trainer until a garbage collection
        return DataLoader(dataset, batch_size=batch_size, shuffle=shuffle, num_workers=self._workers(),
                          pin_memory=self.pin_memory, collate_fn=pass_batch)


def _no_test_set() -> ValueError:
    return ValueError("ImageFolderDataModule has no test set: give test_dir or a non-zero test_split")


def _own_size(path: str, width: int, height: int) -> int:
    """The side of the files' own square size (``image_size`` not given)."""
    if width != height:
        raise ValueError(f"image {path!r} is {width}x{height}, not square; set image_size to resize the "
                         "shorter side and centre-crop a square")
    if width < MIN_IMAGE_SIZE:
        raise ValueError(f"the images are {width}x{height}, smaller than {MIN_IMAGE_SIZE}x{MIN_IMAGE_SIZE}; "
                         f"set image_size >= {MIN_IMAGE_SIZE} to enlarge them")
    return width


def _check_settings(image_size: int | None, channels: int | None, cache_limit_mb: float,
                    num_workers: int | None, mean: Sequence[float] | None) -> None:
    """Check the settings that do not depend on the files."""
    if image_size is not None and (isinstance(image_size, bool) or not isinstance(image_size, int)
                                   or image_size < MIN_IMAGE_SIZE):
        raise ValueError(f"image_size must be an integer >= {MIN_IMAGE_SIZE} (the side of the square images "
                         f"served) or null (the files' own size), got {image_size!r}")
    if channels not in (None, 1, 3) or isinstance(channels, bool):
        raise ValueError(f"channels must be 1 (grey), 3 (RGB) or null (detected), got {channels!r}")
    if isinstance(cache_limit_mb, bool) or not isinstance(cache_limit_mb, (int, float)) or cache_limit_mb < 0:
        raise ValueError(f"cache_limit_mb must be a number >= 0 (0 = always stream), got {cache_limit_mb!r}")
    if num_workers is not None and num_workers < 0:
        raise ValueError(f"num_workers must be >= 0 or null (chosen by cached/streamed), got {num_workers}")
    if channels is not None and mean is not None and len(mean) != channels:
        raise ValueError(f"mean and std have {len(mean)} entries but channels is {channels}; give one entry "
                         "per channel")
