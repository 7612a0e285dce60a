"""ImageFolderDataModule: layout, channels and sizes, splits, statistics, cached vs streamed, augmentation."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from image_folder_helpers import COLOUR_40, COLOUR_96, GREY_28, image_array, write_image_folder
from PIL import Image

from nsga_lightning.data import IMAGE_EXTENSIONS, ImageFolderDataModule, normalize
from nsga_lightning.data.base import IndexBatchDataset
from nsga_lightning.data.image_files import ImageFileDataset, decode_image


def _by_content(images: torch.Tensor, labels: torch.Tensor) -> list[tuple[bytes, int]]:
    return sorted((bytes(img.flatten().tolist()), int(y)) for img, y in zip(images, labels, strict=True))


def test_extensions_are_torchvisions() -> None:
    from torchvision.datasets.folder import IMG_EXTENSIONS

    assert IMAGE_EXTENSIONS == IMG_EXTENSIONS


@pytest.mark.parametrize(("spec", "channels"), [(COLOUR_40, 3), (GREY_28, 1), (COLOUR_96, 3)],
                         ids=["colour-40-png", "grey-28-png", "colour-96-jpg"])
def test_classes_channels_and_size_are_read_from_the_files(tmp_path: Path, spec: dict, channels: int) -> None:
    files = write_image_folder(tmp_path / "data", **spec)
    dm = ImageFolderDataModule(str(tmp_path / "data"), val_split=0, batch_size=5)
    assert dm.classes == sorted(spec["classes"]) and dm.num_classes == len(spec["classes"])
    assert (dm.in_channels, dm.image_size, dm.streams) == (channels, spec["size"], False)
    dm.setup("fit")
    images, labels = dm.train_set.tensors  # type: ignore[union-attr]  # no split: file order
    assert images.dtype == torch.uint8 and images.shape == (len(files), channels, spec["size"], spec["size"])
    assert labels.dtype == torch.int64
    # the pixels are the files' (PNG exactly; JPEG as Pillow decodes it), labels follow the sorted class names
    for image, label, path in zip(images, labels, files, strict=True):
        assert dm.classes[int(label)] == path.parent.name
        expected = np.asarray(Image.open(path))
        expected = expected[None] if expected.ndim == 2 else expected.transpose(2, 0, 1)
        assert torch.equal(image, torch.from_numpy(expected.copy()))


def test_image_size_resizes_the_shorter_side_then_centre_crops(tmp_path: Path) -> None:
    write_image_folder(tmp_path / "data", ["a", "b"], 2, size=(96, 72), mode="RGB", ext="png")  # not square
    dm = ImageFolderDataModule(str(tmp_path / "data"), image_size=32, val_split=0)
    assert dm.image_size == 32
    dm.setup("fit")
    from torchvision.transforms import InterpolationMode
    from torchvision.transforms import functional as TF

    path = min((tmp_path / "data" / "a").iterdir())
    resized = TF.center_crop(TF.resize(Image.open(path), 32, InterpolationMode.BILINEAR, antialias=True), 32)
    assert torch.equal(dm.train_set.tensors[0][0], TF.pil_to_tensor(resized))  # type: ignore[union-attr]


def test_channels_can_be_set(tmp_path: Path) -> None:
    write_image_folder(tmp_path / "grey", **GREY_28)
    write_image_folder(tmp_path / "colour", **COLOUR_40)
    grey_as_rgb = ImageFolderDataModule(str(tmp_path / "grey"), channels=3, val_split=0)
    rgb_as_grey = ImageFolderDataModule(str(tmp_path / "colour"), channels=1, val_split=0)
    assert (grey_as_rgb.in_channels, rgb_as_grey.in_channels) == (3, 1)
    grey_as_rgb.setup("fit")
    rgb_as_grey.setup("fit")
    replicated = grey_as_rgb.train_set.tensors[0]  # type: ignore[union-attr]
    assert replicated.shape[1] == 3 and torch.equal(replicated[:, 0], replicated[:, 2])
    assert rgb_as_grey.train_set.tensors[0].shape[1:] == (1, 40, 40)  # type: ignore[union-attr]


def test_image_modes_are_decoded_consistently(tmp_path: Path) -> None:
    """Grey, grey+alpha and 16-bit grey files make a grey set; one RGBA or palette file makes it colour."""
    grey = image_array(0, 0, 16, "L")
    folder = tmp_path / "grey" / "x"
    folder.mkdir(parents=True)
    Image.fromarray(grey).save(folder / "l.png")
    Image.fromarray(grey).convert("LA").save(folder / "la.png")
    Image.fromarray(grey.astype(np.uint16) * 257).save(folder / "i16.png")  # 16-bit grey, full range
    dm = ImageFolderDataModule(str(tmp_path / "grey"), val_split=0)
    assert dm.in_channels == 1
    dm.setup("fit")
    for image in dm.train_set.tensors[0]:  # type: ignore[union-attr]
        assert torch.equal(image[0], torch.from_numpy(grey))  # alpha dropped, 16 bits scaled back to 8

    colour = image_array(1, 0, 16, "RGB")
    (tmp_path / "mixed" / "x").mkdir(parents=True)
    Image.fromarray(grey).save(tmp_path / "mixed" / "x" / "a.png")
    Image.fromarray(colour).convert("RGBA").save(tmp_path / "mixed" / "x" / "b.png")
    Image.fromarray(colour).convert("P").save(tmp_path / "mixed" / "x" / "c.png")
    dm = ImageFolderDataModule(str(tmp_path / "mixed"), val_split=0)
    assert dm.in_channels == 3
    dm.setup("fit")
    grey_rgb, rgba, palette = dm.train_set.tensors[0]  # type: ignore[union-attr]
    assert torch.equal(grey_rgb, torch.from_numpy(grey)[None].expand(3, -1, -1))
    assert torch.equal(rgba, torch.from_numpy(colour).permute(2, 0, 1))
    assert palette.shape == (3, 16, 16)


def test_held_out_splits_are_seeded_disjoint_and_cover_root(tmp_path: Path) -> None:
    write_image_folder(tmp_path / "data", **COLOUR_40)  # 18 images
    n = 18

    def splits(seed: int) -> dict[str, list[tuple[bytes, int]]]:
        torch.manual_seed(seed + 100)  # the global seed must not matter
        dm = ImageFolderDataModule(str(tmp_path / "data"), val_split=4, test_split=0.3, split_seed=seed)
        dm.setup()
        sets = {"train": dm.train_set, "val": dm.val_set, "test": dm.test_set}
        return {name: _by_content(*s.tensors) for name, s in sets.items()}  # type: ignore[union-attr]

    first, again, other = splits(0), splits(0), splits(1)
    assert first == again and first != other
    assert [len(first[k]) for k in ("train", "val", "test")] == [n - 5 - 4, 4, 5]  # 0.3 of 18 rounds to 5
    pooled = first["train"] + first["val"] + first["test"]
    assert len(set(pooled)) == n


def test_default_validation_split_and_no_test_set(tmp_path: Path) -> None:
    write_image_folder(tmp_path / "data", **COLOUR_40)
    dm = ImageFolderDataModule(str(tmp_path / "data"))
    assert dm.has_validation and dm.val_split == 0.1
    dm.setup("fit")
    assert len(dm.val_set) == 2 and len(dm.train_set) == 16  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="no test set: give test_dir or a non-zero test_split"):
        dm.test_dataloader()
    no_val = ImageFolderDataModule(str(tmp_path / "data"), val_split=0)
    assert not no_val.has_validation and no_val.val_dataloader() == []


def test_separate_validation_and_test_folders(tmp_path: Path) -> None:
    write_image_folder(tmp_path / "train", **{**COLOUR_40, "seed": 0})
    write_image_folder(tmp_path / "val", **{**COLOUR_40, "per_class": 2, "seed": 1})
    write_image_folder(tmp_path / "test", **{**COLOUR_40, "per_class": 3, "seed": 2})
    dm = ImageFolderDataModule(str(tmp_path / "train"), val_dir=str(tmp_path / "val"),
                               test_dir=str(tmp_path / "test"))
    assert dm.val_split == 0 and dm.has_validation
    dm.setup()
    assert [len(s) for s in (dm.train_set, dm.val_set, dm.test_set)] == [18, 6, 9]  # type: ignore[arg-type]
    val_images, val_labels = dm.val_set.tensors  # type: ignore[union-attr]
    assert val_labels.tolist() == [0, 0, 1, 1, 2, 2]
    assert torch.equal(val_images[2], torch.from_numpy(image_array(1, 0, 40, "RGB", seed=1)).permute(2, 0, 1))


def test_statistics_come_from_the_training_split_only(tmp_path: Path) -> None:
    write_image_folder(tmp_path / "data", **COLOUR_40)
    dm = ImageFolderDataModule(str(tmp_path / "data"), val_split=6, split_seed=3)
    dm.setup("fit")
    train = dm.train_set.tensors[0].double() / 255  # type: ignore[union-attr]  # (N, 3, 40, 40)
    expected_mean = train.mean(dim=(0, 2, 3))
    expected_std = train.permute(1, 0, 2, 3).reshape(3, -1).std(dim=1, unbiased=False)
    assert dm.mean is not None and dm.std is not None
    torch.testing.assert_close(torch.tensor(dm.mean, dtype=torch.float64), expected_mean, rtol=0, atol=1e-12)
    torch.testing.assert_close(torch.tensor(dm.std, dtype=torch.float64), expected_std, rtol=0, atol=1e-12)
    every = torch.cat([train, dm.val_set.tensors[0].double() / 255])  # type: ignore[union-attr]
    mean = torch.tensor(dm.mean, dtype=torch.float64)
    assert not torch.allclose(mean, every.mean(dim=(0, 2, 3)), atol=1e-9)
    again = ImageFolderDataModule(str(tmp_path / "data"), val_split=6, split_seed=3)
    again.prepare_data()
    assert (again.mean, again.std) == (dm.mean, dm.std)  # deterministic, to the last bit


def test_given_statistics_are_used(tmp_path: Path) -> None:
    write_image_folder(tmp_path / "data", **GREY_28)
    dm = ImageFolderDataModule(str(tmp_path / "data"), mean=[0.5], std=[0.25])
    dm.setup("fit")
    assert (dm.mean, dm.std) == ((0.5,), (0.25,))
    images = dm.train_set.tensors[0][:3]  # type: ignore[union-attr]
    torch.testing.assert_close(dm.on_after_batch_transfer((images, torch.zeros(3)), 0)[0],
                               (images.float() / 255 - 0.5) / 0.25)


def test_augmentation_is_applied_in_training_only(tmp_path: Path) -> None:
    write_image_folder(tmp_path / "data", **GREY_28)
    dm = ImageFolderDataModule(str(tmp_path / "data"), cutout=True, cutout_length=8, crop_padding=2)
    dm.setup("fit")
    images, labels = dm.train_set.tensors[0][:8], torch.arange(8)  # type: ignore[union-attr]
    expected_eval = normalize(images, dm.mean, dm.std)  # type: ignore[arg-type]
    out, out_labels = dm.on_after_batch_transfer((images, labels), 0)  # no trainer: evaluation
    torch.testing.assert_close(out, expected_eval)
    assert out.shape == (8, 1, 28, 28) and out.dtype == torch.float32 and out_labels is labels
    dm.trainer = SimpleNamespace(training=False)  # type: ignore[assignment]
    torch.testing.assert_close(dm.on_after_batch_transfer((images, labels), 0)[0], expected_eval)
    dm.trainer = SimpleNamespace(training=True)  # type: ignore[assignment]
    torch.manual_seed(0)
    augmented = dm.on_after_batch_transfer((images, labels), 0)[0]
    assert augmented.shape == (8, 1, 28, 28) and not torch.allclose(augmented, expected_eval)
    torch.manual_seed(0)
    torch.testing.assert_close(dm.transform.train(images), augmented)  # the CIFAR recipe, batched
    dm.augment = False
    torch.testing.assert_close(dm.on_after_batch_transfer((images, labels), 0)[0], expected_eval)


@pytest.mark.parametrize("num_workers", [0, 2])
def test_streamed_batches_equal_the_cached_ones(tmp_path: Path, num_workers: int) -> None:
    write_image_folder(tmp_path / "data", **COLOUR_96)
    options = {"image_size": 48, "val_split": 2, "test_split": 2, "batch_size": 3, "eval_batch_size": 2}
    cached = ImageFolderDataModule(str(tmp_path / "data"), **options)
    streamed = ImageFolderDataModule(str(tmp_path / "data"), cache_limit_mb=0.01, num_workers=num_workers,
                                     **options)  # 8 images of 3x48x48 = 0.05 MiB
    assert not cached.streams and streamed.streams
    cached.setup()
    streamed.setup()
    assert isinstance(cached.train_set, IndexBatchDataset)
    assert isinstance(streamed.train_set, ImageFileDataset)
    assert (streamed.mean, streamed.std) == (cached.mean, cached.std)
    for loader in ("val_dataloader", "test_dataloader"):  # not shuffled: the same batches in the same order
        for (a, ya), (b, yb) in zip(getattr(cached, loader)(), getattr(streamed, loader)(), strict=True):
            assert torch.equal(a, b) and torch.equal(ya, yb)
    torch.manual_seed(5)
    cached_train = list(cached.train_dataloader())
    torch.manual_seed(5)
    streamed_train = list(streamed.train_dataloader())  # the same shuffle, however many workers
    assert [len(b[1]) for b in streamed_train] == [3, 1]
    for (a, ya), (b, yb) in zip(cached_train, streamed_train, strict=True):
        assert torch.equal(a, b) and torch.equal(ya, yb)


def test_default_workers_follow_caching(tmp_path: Path) -> None:
    write_image_folder(tmp_path / "data", **GREY_28)
    cached = ImageFolderDataModule(str(tmp_path / "data"))
    streamed = ImageFolderDataModule(str(tmp_path / "data"), cache_limit_mb=0)
    assert cached.train_dataloader().num_workers == 0
    assert streamed.train_dataloader().num_workers >= 1


def test_decode_image_names_a_truncated_file(tmp_path: Path) -> None:
    path = tmp_path / "t.png"
    Image.fromarray(image_array(0, 0, 32, "RGB")).save(path)
    path.write_bytes(path.read_bytes()[:200])
    with pytest.raises(ValueError, match=r"cannot read image file '.*t\.png'"):
        decode_image(str(path), 3, None)


def test_hyperparameters_are_saved(tmp_path: Path) -> None:
    write_image_folder(tmp_path / "data", **GREY_28)
    dm = ImageFolderDataModule(str(tmp_path / "data"), image_size=32, cache_limit_mb=64)
    assert dm.hparams["root"] == str(tmp_path / "data") and dm.hparams["image_size"] == 32
    assert dm.hparams["cache_limit_mb"] == 64


def test_channel_statistics_do_not_depend_on_batching_or_order() -> None:
    from nsga_lightning.data.normalize import channel_statistics

    generator = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (13, 3, 5, 5), dtype=torch.uint8, generator=generator)
    whole = channel_statistics([images])
    shuffled = images[torch.randperm(13, generator=torch.Generator().manual_seed(1))]
    assert channel_statistics([shuffled[:4], shuffled[4:5], shuffled[5:]]) == whole
    scaled = images.double() / 255
    torch.testing.assert_close(torch.tensor(whole[0], dtype=torch.float64), scaled.mean(dim=(0, 2, 3)))
    torch.testing.assert_close(torch.tensor(whole[1], dtype=torch.float64),
                               scaled.transpose(0, 1).reshape(3, -1).std(dim=1, unbiased=False))
    with pytest.raises(ValueError, match="channel 1 of the training images is constant"):
        channel_statistics([torch.stack([images[:, 0], torch.full_like(images[:, 1], 7)], dim=1)])


def test_hidden_folders_and_files_are_skipped(tmp_path: Path) -> None:
    write_image_folder(tmp_path / "data", **GREY_28)
    write_image_folder(tmp_path / "data" / ".ipynb_checkpoints", ["x"], 1, size=28, mode="L")  # not a class
    write_image_folder(tmp_path / "data" / "0" / ".cache", ["y"], 1, size=28, mode="L")  # not in class 0
    Image.fromarray(image_array(0, 0, 28, "L")).save(tmp_path / "data" / "1" / ".hidden.png")
    (tmp_path / "data" / "2" / "notes.txt").write_text("not an image")
    write_image_folder(tmp_path / "data" / "3" / "more", ["z"], 2, size=28, mode="L")  # found recursively
    dm = ImageFolderDataModule(str(tmp_path / "data"), val_split=0)
    assert dm.classes == ["0", "1", "2", "3"]
    dm.setup("fit")
    assert torch.bincount(dm.train_set.tensors[1]).tolist() == [5, 5, 5, 7]  # type: ignore[union-attr]
