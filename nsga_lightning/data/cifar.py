"""CIFAR-10 and CIFAR-100 datamodules (python-pickle files read into uint8 tensors, batched augmentation).

The validation set is a seeded split of the official *training* set (``val_split``); the official test set is
served only by ``test_dataloader``/``predict_dataloader``. The search holds out 10,000 training images
(``val_split: 10000``), like the original's 40k/10k split.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path
from typing import ClassVar

from torch import Tensor
from typing_extensions import override

from nsga_lightning.data.augment import CIFAR10_MEAN, CIFAR10_STD, CIFAR100_MEAN, CIFAR100_STD
from nsga_lightning.data.base import SplitSize, TensorImageDataModule
from nsga_lightning.data.cifar_files import CIFAR_SPECS, IMAGE_SHAPE, cifar_files_present, read_cifar

__all__ = ["CIFAR10DataModule", "CIFAR100DataModule", "CIFARDataModule"]

log = logging.getLogger(__name__)


class DatasetDownloadError(ConnectionError):
    """Downloading a dataset failed (no network, unreachable server, a corrupt archive)."""


class CIFARDataModule(TensorImageDataModule):
    """Common base of :class:`CIFAR10DataModule` and :class:`CIFAR100DataModule`.

    Training batches get random crop (4-pixel zero padding), horizontal flip, optional cutout and
    normalisation, all on the device; evaluation batches get normalisation only.

    Args:
        data_dir: Folder holding ``cifar-10-batches-py/`` or ``cifar-100-python/`` (the extracted official
            python-version archive).
        batch_size: Training batch size.
        eval_batch_size: Batch size of the validation, test and predict loaders.
        val_split: Validation images held out of the official training set: a count (int, e.g. 10000) or a
            fraction (float in [0, 1)); 0 = no validation loader.
        split_seed: Seed of the validation split (independent of the training seed).
        augment: Augment training batches (crop, flip, cutout); normalisation is always applied.
        cutout: Apply cutout to training batches.
        cutout_length: Side of the cutout square.
        hflip: Mirror training images left-right with probability 0.5.
        crop_padding: Zero padding of the random 32x32 crop; 0 disables cropping.
        download: Download and extract the archive with torchvision in ``prepare_data`` if missing.
        num_workers: DataLoader worker processes (0 = main process, usually fastest with this loader).
        pin_memory: Pin loader batches in page-locked memory (useful with a GPU).

    Raises:
        ValueError: If a size is not positive or a split or augmentation setting is malformed.
    """

    kind: ClassVar[str] = "cifar10"
    norm_mean: ClassVar[tuple[float, float, float]] = CIFAR10_MEAN
    norm_std: ClassVar[tuple[float, float, float]] = CIFAR10_STD

    def __init__(
        self,
        data_dir: str = "./data",
        batch_size: int = 96,
        eval_batch_size: int = 256,
        val_split: SplitSize = 0,
        split_seed: int = 0,
        augment: bool = True,
        cutout: bool = False,
        cutout_length: int = 16,
        hflip: bool = True,
        crop_padding: int = 4,
        download: bool = False,
        num_workers: int = 0,
        pin_memory: bool = False,
    ) -> None:
        super().__init__(
            batch_size=batch_size,
            eval_batch_size=eval_batch_size,
            val_split=val_split,
            split_seed=split_seed,
            augment=augment,
            hflip=hflip,
            crop_padding=crop_padding,
            cutout=cutout,
            cutout_length=cutout_length,
            num_workers=num_workers,
            pin_memory=pin_memory,
            mean=self.norm_mean,
            std=self.norm_std,
        )
        self.data_dir, self.download = data_dir, download
        self.save_hyperparameters(logger=False)

    @property
    @override
    def num_classes(self) -> int:
        """10 for CIFAR-10, 100 for CIFAR-100."""
        return CIFAR_SPECS[self.kind].num_classes

    @property
    @override
    def image_size(self) -> int:
        """32: CIFAR images are 32x32."""
        return IMAGE_SHAPE[-1]

    @override
    def prepare_data(self) -> None:
        """Download and extract the official archive into ``data_dir`` when ``download`` is on and the data
        files are not there yet (present files are never downloaded again; the reader checks their content).

        A failed or interrupted download leaves nothing behind: what it created (``data_dir`` itself and its
        missing parents, or the new entries of an existing ``data_dir``, e.g. a partial archive) is removed.

        Raises:
            DatasetDownloadError: if the download fails (offline machine, unreachable server, bad archive).
        """
        if not self.download or cifar_files_present(self.data_dir, self.kind):
            return
        from torchvision import datasets  # only needed for downloading

        dataset_cls = datasets.CIFAR10 if self.kind == "cifar10" else datasets.CIFAR100
        root = Path(self.data_dir)
        created_folder = _first_missing_folder(root)
        entries_before = set() if created_folder is not None else {p.name for p in root.iterdir()}
        try:
            for train in (True, False):
                dataset_cls(root=self.data_dir, train=train, download=True)
        except BaseException as error:  # an interrupted download is cleaned up too
            _remove_created(root, created_folder, entries_before)
            if not isinstance(error, (OSError, RuntimeError)):  # URLError is an OSError; torchvision raises
                raise  # RuntimeError
            spec = CIFAR_SPECS[self.kind]
            raise DatasetDownloadError(
                f"could not download {spec.archive} into {self.data_dir!r} ({type(error).__name__}: {error}); "
                f"on an offline machine download it elsewhere and extract it into data_dir (it unpacks into "
                f"{spec.folder}/)"
            ) from error

    @override
    def load_fit_pool(self) -> tuple[Tensor, Tensor]:
        """The official training set (50,000 images)."""
        return read_cifar(self.data_dir, self.kind, train=True)

    @override
    def load_test(self) -> tuple[Tensor, Tensor]:
        """The official test set (10,000 images)."""
        return read_cifar(self.data_dir, self.kind, train=False)


def _first_missing_folder(folder: Path) -> Path | None:
    """The outermost of ``folder`` and its parents that does not exist yet (``None`` if ``folder`` exists)."""
    missing = None
    for candidate in (folder, *folder.parents):
        if candidate.exists():
            break
        missing = candidate
    return missing


def _remove_created(root: Path, created_folder: Path | None, entries_before: set[str]) -> None:
    """Remove what a failed download created: ``created_folder`` (it holds nothing older) or, when ``root``
    existed before, the entries of ``root`` that were not there before."""
    if created_folder is not None:
        shutil.rmtree(created_folder, ignore_errors=True)
        log.debug("removed %s, created by the failed download", created_folder)
        return
    for path in root.iterdir() if root.is_dir() else ():
        if path.name in entries_before:
            continue
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
        log.debug("removed %s, created by the failed download", path)


class CIFAR10DataModule(CIFARDataModule):
    """CIFAR-10 (10 classes), normalised with the NSGA-Net/DARTS statistics.

    Constructor arguments: see :class:`CIFARDataModule`.
    """

    kind: ClassVar[str] = "cifar10"
    norm_mean: ClassVar[tuple[float, float, float]] = CIFAR10_MEAN
    norm_std: ClassVar[tuple[float, float, float]] = CIFAR10_STD


class CIFAR100DataModule(CIFARDataModule):
    """CIFAR-100 (100 fine classes), normalised with the standard CIFAR-100 statistics.

    Constructor arguments: see :class:`CIFARDataModule`.
    """

    kind: ClassVar[str] = "cifar100"
    norm_mean: ClassVar[tuple[float, float, float]] = CIFAR100_MEAN
    norm_std: ClassVar[tuple[float, float, float]] = CIFAR100_STD
