"""Tiny image folders for the image-folder tests (imported as ``image_folder_helpers``; never
``import conftest``).

Each class has its own mean colour (or grey level) with seeded noise on top, so the classes are learnable
and no channel is constant.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
from PIL import Image

COLOUR_40 = {"classes": ["cat", "bird", "ant"], "per_class": 6, "size": 40, "mode": "RGB", "ext": "png"}
GREY_28 = {"classes": ["0", "1", "2", "3"], "per_class": 5, "size": 28, "mode": "L", "ext": "png"}
COLOUR_96 = {"classes": ["a", "b"], "per_class": 4, "size": 96, "mode": "RGB", "ext": "jpg"}


def image_array(label: int, index: int, size: int | tuple[int, int], mode: str, seed: int = 0) -> np.ndarray:
    """A ``(H, W)`` (grey) or ``(H, W, 3)`` uint8 image of class ``label``."""
    width, height = (size, size) if isinstance(size, int) else size
    rng = np.random.default_rng([seed, label, index])
    base = 40 + 50 * label
    shape = (height, width) if mode == "L" else (height, width, 3)
    tint = 0 if mode == "L" else np.array([0, 30, 60])
    pixels = base + tint + rng.normal(0.0, 20.0, size=shape)
    return np.clip(np.rint(pixels), 0, 255).astype(np.uint8)


def write_image_folder(root: Path, classes: list[str], per_class: int, size: int | tuple[int, int] = 40,
                       mode: str = "RGB", ext: str = "png", seed: int = 0) -> list[Path]:
    """Write ``root/<class>/img_<i>.<ext>`` images; returns the files in torchvision's order (classes sorted).

    Args:
        root: The folder to create.
        classes: Class folder names (written in this order; labels follow the sorted names).
        per_class: Images per class.
        size: Side (int) or ``(width, height)``.
        mode: ``"RGB"`` or ``"L"``.
        ext: ``"png"`` or ``"jpg"``.
        seed: Seed of the noise.
    """
    files = {}
    for label, cls in enumerate(sorted(classes)):
        folder = root / cls
        folder.mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            path = folder / f"img_{i:03d}.{ext}"
            Image.fromarray(image_array(label, i, size, mode, seed)).save(path, quality=95)
            files[path] = cls
    return sorted(files, key=lambda p: (files[p], str(p)))


def tree(folder: Path) -> set[str]:
    """Every path under ``folder`` (to check that nothing was created)."""
    return {str(p.relative_to(folder)) for p in folder.rglob("*")}


def readme_block(section: str, language: str) -> str:
    """The one ``language`` code block of the README's ``## section``."""
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    text = readme.split(f"## {section}", 1)[1].split("\n## ", 1)[0]
    (block,) = re.findall(rf"```{language}\n(.*?)```", text, flags=re.DOTALL)
    return block
