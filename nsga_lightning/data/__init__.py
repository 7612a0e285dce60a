"""LightningDataModules (CIFAR-10/100, scikit-learn digits, your own image folders) and batched on-device
augmentation."""

from nsga_lightning.data.augment import (
    CIFAR10_MEAN,
    CIFAR10_STD,
    CIFAR100_MEAN,
    CIFAR100_STD,
    BatchAugment,
    crop_flip,
    cutout,
    normalize,
    random_crop,
    random_cutout,
    random_hflip,
)
from nsga_lightning.data.base import BatchedImageDataModule, TensorImageDataModule, split_indices
from nsga_lightning.data.cifar import (
    CIFAR10DataModule,
    CIFAR100DataModule,
    CIFARDataModule,
    DatasetDownloadError,
)
from nsga_lightning.data.cifar_files import cifar_files_present, read_cifar, read_cifar_file
from nsga_lightning.data.digits import DigitsDataModule, load_digits_images
from nsga_lightning.data.image_files import IMAGE_EXTENSIONS
from nsga_lightning.data.image_folder import ImageFolderDataModule
from nsga_lightning.data.synthetic import write_cifar_files

__all__ = [
    "CIFAR10_MEAN",
    "CIFAR10_STD",
    "CIFAR100_MEAN",
    "CIFAR100_STD",
    "IMAGE_EXTENSIONS",
    "BatchAugment",
    "BatchedImageDataModule",
    "CIFAR10DataModule",
    "CIFAR100DataModule",
    "CIFARDataModule",
    "DatasetDownloadError",
    "DigitsDataModule",
    "ImageFolderDataModule",
    "TensorImageDataModule",
    "cifar_files_present",
    "crop_flip",
    "cutout",
    "load_digits_images",
    "normalize",
    "random_crop",
    "random_cutout",
    "random_hflip",
    "read_cifar",
    "read_cifar_file",
    "split_indices",
    "write_cifar_files",
]
