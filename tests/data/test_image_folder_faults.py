"""Faults of image folders and ImageFolderDataModule settings: one ValueError line naming the folder or
file, nothing created; through Python and through ``nsga-lightning fit`` / ``search`` (exit code 2, no
traceback)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from image_folder_helpers import COLOUR_40, GREY_28, image_array, tree, write_image_folder
from PIL import Image

from nsga_lightning.cli import main
from nsga_lightning.data import ImageFolderDataModule


def _missing(tmp: Path) -> dict[str, Any]:
    return {"root": str(tmp / "nope")}


def _file_root(tmp: Path) -> dict[str, Any]:
    (tmp / "file.png").write_bytes(b"x")
    return {"root": str(tmp / "file.png")}


def _no_classes(tmp: Path) -> dict[str, Any]:
    (tmp / "flat").mkdir()
    Image.fromarray(image_array(0, 0, 16, "L")).save(tmp / "flat" / "loose.png")  # no class folders
    return {"root": str(tmp / "flat")}


def _empty_class(tmp: Path) -> dict[str, Any]:
    write_image_folder(tmp / "data", **COLOUR_40)
    (tmp / "data" / "dog").mkdir()
    (tmp / "data" / "dog" / "notes.txt").write_text("not an image")
    return {"root": str(tmp / "data")}


def _garbage_file(tmp: Path) -> dict[str, Any]:
    write_image_folder(tmp / "data", **COLOUR_40)
    (tmp / "data" / "bird" / "broken.png").write_bytes(b"this is not a PNG file")
    return {"root": str(tmp / "data")}


def _truncated_file(tmp: Path) -> dict[str, Any]:
    files = write_image_folder(tmp / "data", **COLOUR_40)
    files[4].write_bytes(files[4].read_bytes()[:300])  # a valid header, missing pixels
    return {"root": str(tmp / "data")}


def _mixed_sizes(tmp: Path) -> dict[str, Any]:
    write_image_folder(tmp / "data", **COLOUR_40)
    Image.fromarray(image_array(1, 9, 36, "RGB")).save(tmp / "data" / "cat" / "odd_size.png")
    return {"root": str(tmp / "data")}


def _not_square(tmp: Path) -> dict[str, Any]:
    write_image_folder(tmp / "data", ["a", "b"], 5, size=(40, 32))
    return {"root": str(tmp / "data")}


def _too_small(tmp: Path) -> dict[str, Any]:
    write_image_folder(tmp / "data", ["a", "b"], 5, size=4)
    return {"root": str(tmp / "data")}


def _val_classes_differ(tmp: Path) -> dict[str, Any]:
    write_image_folder(tmp / "data", **COLOUR_40)
    write_image_folder(tmp / "val", ["ant", "bird", "dog"], 1, size=40)
    return {"root": str(tmp / "data"), "val_dir": str(tmp / "val")}


def _test_dir_missing(tmp: Path) -> dict[str, Any]:
    write_image_folder(tmp / "data", **COLOUR_40)
    return {"root": str(tmp / "data"), "test_dir": str(tmp / "no_test")}


# name -> (make the fault and return the module's options, what the one line must say)
FOLDER_FAULTS: dict[str, tuple[Callable[[Path], dict[str, Any]], list[str]]] = {
    "missing-root": (_missing, ["root", "nope' does not exist", "root/<class>/<image>"]),
    "root-is-a-file": (_file_root, ["file.png' is not a folder"]),
    "no-class-folders": (_no_classes, ["flat' holds no class folder", ".png"]),
    "empty-class-folder": (_empty_class, ["class folder", "dog' of root holds no image file", ".jpg"]),
    "unreadable-file": (_garbage_file, ["cannot read image file", "broken.png'", "UnidentifiedImageError"]),
    "truncated-file": (_truncated_file, ["cannot read image file", "img_004.png'"]),
    "mixed-sizes": (_mixed_sizes, ["odd_size.png' is 36x36", "40x40", "set image_size"]),
    "not-square": (_not_square, ["is 40x32, not square", "set image_size"]),
    "too-small": (_too_small, ["4x4, smaller than 8x8", "image_size >= 8"]),
    "val-classes-differ": (_val_classes_differ,
                           ["class folders of val_dir", "missing ['cat'], extra ['dog']"]),
    "test-dir-missing": (_test_dir_missing, ["test_dir", "no_test' does not exist"]),
}

# bad settings on good folders: option -> (value, what the one line must say)
BAD_SETTINGS: dict[str, tuple[Any, str]] = {
    "image_size": (4, "image_size must be an integer >= 8"),
    "channels": (2, "channels must be 1 (grey), 3 (RGB) or null"),
    "cache_limit_mb": (-1, "cache_limit_mb must be a number >= 0"),
    "num_workers": (-2, "num_workers must be >= 0"),
    "val_split": (30, "val_split=30 of 20 items holds out 30"),
    "mean": ([0.5, 0.5], "mean and std have 2 entries but the images have 1 channel"),
}


def _build_and_read(options: dict[str, Any]) -> None:
    """Everything a run does before training: build, read size and channels, prepare, set up."""
    dm = ImageFolderDataModule(**options)
    _ = dm.image_size, dm.in_channels
    dm.prepare_data()
    dm.setup("fit")


def _assert_one_line(text: str, fragments: list[str]) -> None:
    assert "\n" not in text, text
    for fragment in fragments:
        assert fragment in text, text


@pytest.mark.parametrize("fault", list(FOLDER_FAULTS))
def test_folder_faults_are_one_line_naming_the_folder_or_file(fault: str, tmp_path: Path) -> None:
    make, fragments = FOLDER_FAULTS[fault]
    options = make(tmp_path)
    before = tree(tmp_path)
    with pytest.raises(ValueError) as error:
        _build_and_read(options)
    _assert_one_line(str(error.value), fragments)
    assert tree(tmp_path) == before


@pytest.mark.parametrize("option", list(BAD_SETTINGS))
def test_bad_settings_are_one_line(option: str, tmp_path: Path) -> None:
    write_image_folder(tmp_path / "data", **GREY_28)
    value, fragment = BAD_SETTINGS[option]
    extra = {"std": [0.2, 0.2]} if option == "mean" else {}
    with pytest.raises(ValueError) as error:
        _build_and_read({"root": str(tmp_path / "data"), option: value, **extra})
    _assert_one_line(str(error.value), [fragment])


@pytest.mark.parametrize("value", [0, True, 40.5, -40])
def test_image_size_must_be_an_integer_of_at_least_8(value: Any, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"image_size must be an integer >= 8 .* got"):
        ImageFolderDataModule(str(tmp_path), image_size=value)


def test_a_held_out_split_and_a_folder_for_the_same_set_are_refused(tmp_path: Path) -> None:
    write_image_folder(tmp_path / "data", **COLOUR_40)
    write_image_folder(tmp_path / "val", **COLOUR_40)
    with pytest.raises(ValueError, match="give val_dir or val_split, not both"):
        ImageFolderDataModule(str(tmp_path / "data"), val_dir=str(tmp_path / "val"), val_split=0.2)
    with pytest.raises(ValueError, match="give test_dir or test_split, not both"):
        ImageFolderDataModule(str(tmp_path / "data"), test_dir=str(tmp_path / "val"), test_split=2)


def _cli_error(capsys: pytest.CaptureFixture[str], code: int) -> str:
    assert code == 2
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.startswith("nsga-lightning: error:")]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


@pytest.mark.parametrize("fault", list(FOLDER_FAULTS))
def test_fit_reports_folder_faults_in_one_line_and_creates_nothing(
    fault: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    make, fragments = FOLDER_FAULTS[fault]
    options = make(tmp_path)
    monkeypatch.chdir(tmp_path)
    before = tree(tmp_path)
    data_args = [arg for key, value in options.items() for arg in (f"--data.{key}", value)]
    code = main(["fit", "--model.genotype", "NSGANet", "--model.init_channels", "4", "--model.layers", "5",
                 "--trainer.max_epochs", "1", "--trainer.accelerator", "cpu",
                 "--data", "nsga_lightning.data.ImageFolderDataModule", *data_args])
    _assert_one_line(_cli_error(capsys, code), fragments)
    assert tree(tmp_path) == before


@pytest.mark.parametrize("fault", ["empty-class-folder", "unreadable-file", "truncated-file", "mixed-sizes"])
def test_search_reports_folder_faults_in_one_line_and_creates_no_run_directory(
    fault: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    make, fragments = FOLDER_FAULTS[fault]
    options = make(tmp_path)
    monkeypatch.chdir(tmp_path)
    config = {
        "search": {"pop_size": 2, "n_offspring": 1, "n_gens": 1, "run_dir": "run"},
        "space": {"name": "micro", "n_blocks": 5},
        "model": {"init_channels": 4, "layers": 3},
        "data": {"class_path": "nsga_lightning.data.ImageFolderDataModule", "init_args": options},
        "trainer": {"max_epochs": 1, "accelerator": "cpu"},
        "progress_bar": False,
    }
    (tmp_path / "search.yaml").write_text(yaml.safe_dump(config))
    before = tree(tmp_path)
    code = main(["search", "--config", "search.yaml"])
    _assert_one_line(_cli_error(capsys, code), fragments)
    assert tree(tmp_path) == before and not (tmp_path / "run").exists()


def test_test_command_without_a_test_set_is_one_line_and_creates_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    write_image_folder(tmp_path / "data", **COLOUR_40)
    monkeypatch.chdir(tmp_path)
    before = tree(tmp_path)
    code = main(["test", "--model.genotype", "NSGANet", "--model.init_channels", "4", "--model.layers", "5",
                 "--trainer.accelerator", "cpu", "--data", "nsga_lightning.data.ImageFolderDataModule",
                 "--data.root", "data"])
    _assert_one_line(_cli_error(capsys, code), ["has no test set: give test_dir or a non-zero test_split"])
    assert tree(tmp_path) == before


def test_a_streamed_validation_file_that_fails_to_decode_is_named_when_loaded(tmp_path: Path) -> None:
    """A streamed set decodes only its training files ahead (for the statistics)."""
    write_image_folder(tmp_path / "data", **COLOUR_40)
    val_files = write_image_folder(tmp_path / "val", **{**COLOUR_40, "per_class": 1})
    val_files[1].write_bytes(val_files[1].read_bytes()[:300])
    dm = ImageFolderDataModule(str(tmp_path / "data"), val_dir=str(tmp_path / "val"), cache_limit_mb=0,
                               num_workers=0)
    dm.prepare_data()
    dm.setup("fit")
    with pytest.raises(ValueError) as error:
        list(dm.val_dataloader())
    _assert_one_line(str(error.value), ["cannot read image file", f"{val_files[1]}'"])
