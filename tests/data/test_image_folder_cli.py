"""Image folders end to end through the CLI: a tiny search, ``fit`` of a Pareto config and ``test`` on grey 28x28
images (cifar stem) and colour 96x96 images (the ``auto`` stem picks the ImageNet one); and the README's "Transfer
a found architecture" commands, as written, from the digits quickstart onto a folder."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
import yaml
from image_folder_helpers import COLOUR_96, GREY_28, readme_block, write_image_folder

from nsga_lightning.cli import main
from nsga_lightning.module import ArchitectureModule
from nsga_lightning.nn import count_complexity
from nsga_lightning.search import Archive

TINY_MODEL = ["--model.init_channels", "4", "--model.layers", "3"]
QUIET = ["--trainer.enable_progress_bar", "false", "--trainer.enable_model_summary", "false"]


def _checkpoint(root: Path) -> Path:
    (checkpoint,) = root.rglob("last.ckpt")
    return checkpoint


def _test_error(output: str) -> float:
    (error,) = re.findall(r"^test error ([0-9.]+)%", output, flags=re.MULTILINE)
    return float(error)


@pytest.mark.parametrize(("spec", "channels", "stem"), [(GREY_28, 1, "cifar"), (COLOUR_96, 3, "imagenet")],
                         ids=["grey-28", "colour-96"])
def test_search_then_fit_and_test_a_pareto_config_on_an_image_folder(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture, one_intra_op_thread: None,
        spec: dict, channels: int, stem: str) -> None:
    write_image_folder(tmp_path / "images", **spec)
    monkeypatch.chdir(tmp_path)
    size, classes = spec["size"], len(spec["classes"])
    config = {
        "search": {"pop_size": 2, "n_offspring": 1, "n_gens": 1, "seed": 0, "run_dir": "run"},
        "space": {"name": "micro"},
        "model": {"init_channels": 4, "layers": 3},
        "data": {"class_path": "nsga_lightning.data.ImageFolderDataModule",
                 "init_args": {"root": "images", "batch_size": 4, "val_split": 2, "test_split": 2}},
        "trainer": {"max_epochs": 1, "accelerator": "cpu"},
        "retrain": {"model": {"init_channels": 4, "layers": 3}, "trainer": {"max_epochs": 1, "logger": False}},
        "progress_bar": False,
    }
    Path("search.yaml").write_text(yaml.safe_dump(config))
    assert main(["search", "--config", "search.yaml"]) == 0
    with Archive(tmp_path / "run") as archive:
        rows = archive.rows()
    assert len(rows) == 2 and all(row.is_ok for row in rows), [row.error_text for row in rows]
    for row in rows:  # counted at the images' own size, channels and stem
        counted = count_complexity("micro", row.genotype, num_classes=classes, init_channels=4, layers=3,
                                   in_channels=channels, image_size=size, stem=stem)
        assert row.objectives["madds"] == counted.madds
    (pareto, *_) = sorted((tmp_path / "run" / "pareto").glob("*.yaml"))
    assert f"\n# input: {channels}-channel images, {stem} stem (from the data" in pareto.read_text()

    assert main(["fit", "--config", str(pareto), "--trainer.default_root_dir", "retrain", *QUIET]) == 0
    checkpoint = _checkpoint(tmp_path / "retrain")
    network = ArchitectureModule.load_from_checkpoint(checkpoint).network
    assert (network.stem_type, network.input_shape()) == (stem, (1, channels, size, size))
    capsys.readouterr()
    assert main(["test", "--config", str(pareto), "--ckpt_path", str(checkpoint), *QUIET]) == 0
    assert 0.0 <= _test_error(capsys.readouterr().out) <= 100.0


def _readme_transfer_commands() -> list[list[str]]:
    """The bash commands of the README's "Transfer a found architecture" section, split into arguments."""
    block = readme_block("Transfer a found architecture", "bash")
    return [shlex.split(line) for line in block.strip().splitlines()]


@pytest.mark.parametrize(("spec", "extra", "expected"), [
    (COLOUR_96, [], (3, 2, 96, "imagenet")),  # as written
    (GREY_28, ["--data.image_size", "null"], (1, 4, 28, "cifar")),  # grey images kept at their own size
], ids=["colour-96-as-written", "grey-28-own-size"])
def test_the_readme_transfer_commands_retrain_a_quickstart_architecture_on_an_image_folder(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture, one_intra_op_thread: None,
        spec: dict, extra: list[str], expected: tuple) -> None:
    write_image_folder(tmp_path / "my-images" / "train", **spec)
    monkeypatch.chdir(tmp_path)
    search, fit, test = _readme_transfer_commands()
    assert search[:2] == ["nsga-lightning", "search"] and fit[1] == "fit" and test[1] == "test"
    tiny_search = ["--search.pop_size", "2", "--search.n_offspring", "1", "--search.n_gens", "1",
                   "--trainer.max_epochs", "1", "--progress_bar", "false"]
    assert main([*search[1:], *tiny_search]) == 0
    (key,) = [path.stem for path in (tmp_path / "runs" / "quickstart" / "pareto").glob("*.yaml")][:1]
    fit = [arg.replace("<key>", key) for arg in fit[1:]]
    test = [arg.replace("<key>", key) for arg in test[1:]]
    assert main([*fit, *extra, *TINY_MODEL, "--trainer.max_epochs", "1", *QUIET]) == 0
    checkpoint = tmp_path / "runs" / f"retrain-{key}" / "version_0" / "checkpoints" / "last.ckpt"
    module = ArchitectureModule.load_from_checkpoint(checkpoint)  # the path the README's test command names
    channels, classes, size, stem = expected
    assert (module.hparams.in_channels, module.hparams.num_classes, module.hparams.image_size) == (
        channels, classes, size)
    assert module.network.stem_type == stem
    capsys.readouterr()
    assert main([*test, *extra, *TINY_MODEL, *QUIET]) == 0
    assert 0.0 <= _test_error(capsys.readouterr().out) <= 100.0
