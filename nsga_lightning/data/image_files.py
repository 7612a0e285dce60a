"""Image files in torchvision's class-folder layout: listing, header checks and decoding to uint8 tensors.

The layout is torchvision's ``ImageFolder`` one: ``root/<class>/**/<image>`` with classes sorted by folder
name and files sorted by path within a class; only files with an image extension (:data:`IMAGE_EXTENSIONS`)
count. Files and folders whose name starts with a dot (``.ipynb_checkpoints``, ``.DS_Store``) are skipped.

Decoding goes through Pillow, like torchvision's default loader, then to one channel (``"L"``, ITU-R 601-2
luma for colour files) or three (``"RGB"``, grey replicated): alpha is dropped, palette images take their
palette colours, 16-bit grey (Pillow modes ``I;16*`` and ``I``) is scaled from 0..65535 to 0..255. With a
target size, an image is resized so that its shorter side is that size (bilinear, antialiased) and
centre-cropped to a square: torchvision's ``Resize(size)`` then ``CenterCrop(size)``.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch import Tensor
from torch.utils.data import Dataset

__all__ = [
    "IMAGE_EXTENSIONS",
    "ImageFileDataset",
    "ImageList",
    "decode_image",
    "find_classes",
    "list_images",
    "read_header",
    "read_headers",
]

IMAGE_EXTENSIONS: tuple[str, ...] = (
    ".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".pgm", ".tif", ".tiff", ".webp"
)
"""File extensions read as images (torchvision's ``IMG_EXTENSIONS``; checked by a test), case-insensitive."""

GREY_MODES = frozenset({"1", "L", "LA", "La", "I", "I;16", "I;16B", "I;16L", "I;16N"})
"""Pillow modes of single-channel images (with or without alpha); every other readable mode is colour."""

_SIXTEEN_BIT = frozenset({"I", "I;16", "I;16B", "I;16L", "I;16N"})
# what Pillow raises on a file it cannot identify or decode (UnidentifiedImageError is an OSError)
_DECODE_ERRORS = (OSError, ValueError, SyntaxError, EOFError, Image.DecompressionBombError)


@dataclass(frozen=True)
class ImageList:
    """The image files of one class-folder tree, in torchvision's order.

    Attributes:
        folder: The folder holding the class folders.
        paths: File paths, class by class (classes sorted by name), sorted within a class.
        labels: int64 ``(N,)`` class index of each file.
    """

    folder: Path
    paths: tuple[str, ...]
    labels: Tensor


def _extensions() -> str:
    return " ".join(IMAGE_EXTENSIONS)


def find_classes(folder: Path, name: str) -> list[str]:
    """The class folders of ``folder``, sorted by name.

    Args:
        folder: The folder that should hold one sub-folder per class.
        name: The argument that gave ``folder`` (``root``, ``val_dir``...), for the messages.

    Returns:
        The sorted class names (sub-folder names not starting with a dot).

    Raises:
        ValueError: If ``folder`` does not exist, is not a folder or holds no class folder.
    """
    if not folder.exists():
        raise ValueError(f"{name} {str(folder)!r} does not exist; give a folder holding one sub-folder of "
                         "images per class (root/<class>/<image>)")
    if not folder.is_dir():
        raise ValueError(f"{name} {str(folder)!r} is not a folder; give a folder holding one sub-folder of "
                         "images per class (root/<class>/<image>)")
    classes = sorted(e.name for e in os.scandir(folder) if e.is_dir() and not e.name.startswith("."))
    if not classes:
        raise ValueError(f"{name} {str(folder)!r} holds no class folder; the layout is "
                         f"{name}/<class>/<image> with images ending in {_extensions()}")
    return classes


def list_images(folder: Path, classes: list[str], name: str) -> ImageList:
    """Every image file of ``folder/<class>/`` (recursively), class by class.

    Args:
        folder: The folder holding the class folders.
        classes: Class names; class ``i`` gets label ``i``.
        name: The argument that gave ``folder``, for the messages.

    Returns:
        The files and their labels.

    Raises:
        ValueError: If a class folder (missing, or) holds no image file.
    """
    paths: list[str] = []
    labels: list[int] = []
    for label, cls in enumerate(classes):
        class_dir = folder / cls
        found = [
            os.path.join(parent, file)
            for parent, _, files in sorted(os.walk(class_dir, followlinks=True))
            if not any(part.startswith(".") for part in Path(parent).relative_to(class_dir).parts)
            for file in sorted(files)
            if file.lower().endswith(IMAGE_EXTENSIONS) and not file.startswith(".")
        ]
        if not found:
            what = "is missing" if not class_dir.is_dir() else "holds no image file"
            raise ValueError(f"class folder {str(class_dir)!r} of {name} {what}; every class needs at least "
                             f"one image ending in {_extensions()}")
        paths += found
        labels += [label] * len(found)
    return ImageList(folder, tuple(paths), torch.tensor(labels, dtype=torch.long))


def _unreadable(path: str, error: BaseException) -> ValueError:
    reason = " ".join(f"{type(error).__name__}: {error}".split())
    return ValueError(f"cannot read image file {path!r} ({reason}); remove or replace it (readable: image "
                      f"files ending in {_extensions()})")


def read_header(path: str) -> tuple[int, int, str]:
    """Width, height and Pillow mode of an image file, read from its header (the pixels are not decoded).

    Raises:
        ValueError: Naming the file, if Pillow cannot identify it as an image, or its mode is not supported.
    """
    try:
        with Image.open(path) as image:
            width, height, mode = image.width, image.height, image.mode
    except _DECODE_ERRORS as error:
        raise _unreadable(path, error) from None
    if mode == "F":
        raise ValueError(f"image file {path!r} holds 32-bit float pixels (Pillow mode F), which are not "
                         "supported; save it with 8-bit or 16-bit channels")
    return width, height, mode


def read_headers(paths: Iterable[str], same_size: bool) -> tuple[bool, str, int, int]:
    """Read the header of every file (the pixels are not decoded).

    Args:
        paths: The image files (at least one).
        same_size: Refuse a file whose size differs from the first file's.

    Returns:
        ``(grey, first, width, height)``: whether every file is single-channel (:data:`GREY_MODES`), and the
        first file with its size.

    Raises:
        ValueError: Naming the file, for an unreadable file or (``same_size``) the first file of another size.
    """
    first: tuple[str, int, int] | None = None
    grey = True
    for path in paths:
        width, height, mode = read_header(path)
        grey = grey and mode in GREY_MODES
        if first is None:
            first = (path, width, height)
        elif same_size and (width, height) != first[1:]:
            raise ValueError(f"image {path!r} is {width}x{height} but {first[0]!r} is {first[1]}x{first[2]}: "
                             "the images differ in size; set image_size to resize them (shorter side, then "
                             "centre crop)")
    if first is None:
        raise ValueError("no image files to read")
    return grey, *first


def _to_channels(image: Image.Image, channels: int) -> Image.Image:
    """``image`` as an 8-bit ``"L"`` (``channels`` 1) or ``"RGB"`` (3) image."""
    if image.mode in _SIXTEEN_BIT:  # Pillow's own conversion clips 16-bit values at 255 instead of scaling
        wide = np.asarray(image, dtype=np.int64).clip(0, 65535)
        image = Image.fromarray(((wide * 255 + 32767) // 65535).astype(np.uint8))
    if image.mode == "P" and "transparency" in image.info:
        image = image.convert("RGBA")  # the direct P -> RGB conversion warns about such palettes
    target = "L" if channels == 1 else "RGB"
    return image if image.mode == target else image.convert(target)


def decode_image(path: str, channels: int, image_size: int | None) -> Tensor:
    """Decode an image file into a uint8 tensor.

    Args:
        path: The image file.
        channels: 1 (grey) or 3 (RGB).
        image_size: Resize the shorter side to this size and centre-crop a square; ``None`` keeps the size.

    Returns:
        uint8 ``(channels, H, W)`` (``H = W = image_size`` when given).

    Raises:
        ValueError: Naming the file, if it cannot be decoded (not an image, truncated, corrupt).
    """
    from torchvision.transforms import InterpolationMode
    from torchvision.transforms import functional as TF

    try:
        with Image.open(path) as image:
            image.load()
            converted = _to_channels(image, channels)
    except _DECODE_ERRORS as error:
        raise _unreadable(path, error) from None
    if image_size is not None and converted.size != (image_size, image_size):
        converted = TF.resize(converted, image_size, interpolation=InterpolationMode.BILINEAR, antialias=True)
        converted = TF.center_crop(converted, image_size)
    array = np.asarray(converted, dtype=np.uint8)  # (H, W) or (H, W, 3), a read-only view of the pixels
    planes = array[None] if array.ndim == 2 else array.transpose(2, 0, 1)  # (C, H, W)
    return torch.from_numpy(planes.copy())  # one C-order, writable copy


class ImageFileDataset(Dataset):
    """Image files decoded on demand, a whole batch per fetch: the streaming counterpart of the in-memory
    ``IndexBatchDataset`` (same ``(uint8 images, int64 labels)`` batches, same ``pass_batch`` collate).

    Args:
        paths: The image files.
        labels: int64 ``(N,)`` labels.
        channels: 1 or 3.
        image_size: Side of the square images served (files of another size are resized and cropped); ``None``
            when every file already has the same square size.
    """

    def __init__(self, paths: tuple[str, ...], labels: Tensor, channels: int, image_size: int | None) -> None:
        if len(paths) != len(labels):
            raise ValueError(f"{len(paths)} paths but {len(labels)} labels")
        self.paths, self.labels = paths, labels
        self.channels, self.image_size = channels, image_size

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: int) -> tuple[Tensor, Tensor]:
        return decode_image(self.paths[index], self.channels, self.image_size), self.labels[index]

    def __getitems__(self, indices: list[int]) -> tuple[Tensor, Tensor]:
        images = torch.stack([decode_image(self.paths[i], self.channels, self.image_size) for i in indices])
        return images, self.labels[torch.as_tensor(indices, dtype=torch.long)]  # (B, C, S, S), (B,)
