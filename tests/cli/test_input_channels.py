"""Input channels and stems through the CLI: ``num_classes``, ``in_channels`` and ``image_size`` follow the data
(or a value given for a datamodule without one), the stem follows the image size, four-channel images train and
search, and bad inputs (grey images with 3-channel weights, a size the stem cannot take) are one line, non-zero,
nothing created."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import yaml
from cli_helpers import run_cli

from nsga_lightning import viz
from nsga_lightning.nn import build_network, count_madds, original_key_map
from nsga_lightning.search import Archive

CONFIGS = Path(__file__).resolve().parents[2] / "configs" / "train"
DATA = "cli_helpers.TensorDataModule"
TINY = ("--model.init_channels", "4", "--model.layers", "3")


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty working directory (what the commands write stays in it)."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_stats_counts_four_channel_images_at_their_size():
    result = run_cli("stats", *TINY, "--data", DATA, "--data.channels", "4", "--data.image_size", "16")
    assert result.code == 0, result.err
    expected = count_madds(build_network("micro", "NSGANet", num_classes=3, init_channels=4, layers=3,
                                         in_channels=4, image_size=16), input_size=(1, 4, 16, 16))
    assert "input                      4x16x16 images, cifar stem" in result.out
    assert f"MAdds (1x4x16x16)          {expected:,}" in result.out and "3 classes" in result.out


def test_channels_are_read_from_a_training_batch_when_the_datamodule_does_not_state_them():
    result = run_cli("stats", *TINY, "--data", "cli_helpers.ClassesOnlyDataModule", "--data.channels", "5")
    assert result.code == 0, result.err
    assert "5x16x16 images" in result.out


def test_a_datamodule_without_num_classes_is_one_line_or_takes_model_num_classes():
    missing = run_cli("stats", *TINY, "--data", "cli_helpers.PlainTensorDataModule")
    assert missing.code == 2
    assert ("PlainTensorDataModule has no num_classes attribute: add one (an int property, the number of classes "
            "its labels count from 0), or give --model.num_classes N") in missing.error_line
    given = run_cli("stats", *TINY, "--data", "cli_helpers.PlainTensorDataModule", "--model.num_classes", "3")
    assert given.code == 0 and "3 classes" in given.out and "4x16x16 images" in given.out  # channels: a batch
    differing = run_cli("stats", *TINY, "--data", DATA, "--model.num_classes", "5")
    assert differing.code == 2
    assert ("model.num_classes 5 differs from the num_classes of TensorDataModule (3): leave model.num_classes out, "
            "it follows the data") in differing.error_line
    same = run_cli("stats", *TINY, "--data", DATA, "--model.in_channels", "4", "--model.image_size", "16")
    assert same.code == 0, same.err


def test_the_stem_follows_the_image_size_unless_given():
    auto = run_cli("stats", *TINY, "--data", DATA, "--data.image_size", "96")
    assert auto.code == 0 and "4x96x96 images, imagenet stem" in auto.out
    cifar = run_cli("stats", *TINY, "--data", DATA, "--data.image_size", "96", "--model.stem", "cifar")
    assert cifar.code == 0 and "4x96x96 images, cifar stem" in cifar.out
    macro = run_cli("stats", "--model.space", "macro", "--model.init_channels", "4", "--model.stem", "imagenet")
    assert macro.code == 0 and "3x32x32 images, imagenet stem" in macro.out  # no data: 3x32x32, 10 classes


def test_fit_trains_four_channel_images_and_records_the_input(workdir: Path):
    result = run_cli("fit", *TINY, "--data", DATA, "--trainer.max_epochs", "1", "--trainer.logger", "false",
                     "--trainer.default_root_dir", "out", "--trainer.enable_progress_bar", "false")
    assert result.code == 0, result.err
    (checkpoint,) = (workdir / "out").rglob("last.ckpt")
    hparams = torch.load(checkpoint, weights_only=True)["hyper_parameters"]
    assert (hparams["in_channels"], hparams["image_size"], hparams["num_classes"], hparams["stem"]) == (4, 16, 3, "auto")
    tested = run_cli("test", *TINY, "--data", DATA, "--ckpt_path", str(checkpoint), "--trainer.logger", "false")
    assert tested.code == 0, tested.err
    grey = run_cli("test", *TINY, "--data", DATA, "--data.channels", "1", "--ckpt_path", str(checkpoint),
                   "--trainer.logger", "false")
    assert grey.code == 2
    assert "in_channels (checkpoint 4, config 1)" in grey.error_line and "follow the data" in grey.error_line


def _original_weights(path: Path) -> Path:
    """Original-format weights of the published C=34 model (3-channel CIFAR images)."""
    net = build_network("micro", "NSGANet", init_channels=34, layers=20, filter_increment=4, auxiliary=True)
    names = original_key_map(net)
    torch.save({names[key]: value for key, value in net.state_dict().items()}, path)
    return path


def test_grey_images_with_published_three_channel_weights_are_one_line(workdir: Path):
    weights = _original_weights(workdir / "weights.pt")
    result = run_cli("test", "--config", str(CONFIGS / "nsganet-micro-c34.yaml"), "--data", DATA,
                     "--data.channels", "1", "--data.image_size", "32", "--data.classes", "10",
                     "--ckpt_path", str(weights))
    assert result.code == 2
    assert ("the weights are for 3-channel images, but this MicroNetwork is built for 1-channel images "
            "(in_channels, which the CLI takes from the data): give 3-channel images") in result.error_line
    assert sorted(p.name for p in workdir.iterdir()) == ["weights.pt"]


def test_a_checkpoint_from_before_the_stem_option_is_a_cifar_stem_network(workdir: Path):
    """Hyperparameters without ``stem`` and ``in_channels``: the 3-channel cifar-stem network of the time."""
    path = workdir / "old.ckpt"
    torch.save({"pytorch-lightning_version": "2.4.0", "state_dict": {},
                "hyper_parameters": {"space": "micro", "genotype": "NSGANet", "num_classes": 3, "init_channels": 4,
                                     "layers": 3, "image_size": 96}}, path)
    result = run_cli("test", *TINY, "--data", DATA, "--data.channels", "3", "--data.image_size", "96",
                     "--ckpt_path", str(path))
    assert result.code == 2 and "stem (checkpoint cifar, config imagenet)" in result.error_line
    assert sorted(p.name for p in workdir.iterdir()) == ["old.ckpt"]


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (("--model.stem", "imagenet", "--data.image_size", "40"),
         "image_size 40 does not fit a micro network of 3 cells with the imagenet stem"),
        (("--data.image_size", "100"),
         "(nearest: 96 or 125), or stem: cifar, which takes 100 (stem: auto picks imagenet from 96 pixels"),
        (("--model.space", "macro", "--model.stem", "imagenet", "--data.image_size", "20"),
         "it needs an image_size of at least 29, or stem: cifar, which takes 20"),
        (("--model.stem", "resnet",), "resnet"),
    ],
    ids=["micro-imagenet-40", "micro-auto-100", "macro-imagenet-20", "unknown-stem"],
)
def test_a_size_the_stem_cannot_take_is_one_line_and_creates_nothing(workdir: Path, args, fragment):
    result = run_cli("fit", *TINY, "--data", DATA, *args)
    assert result.code == 2 and fragment in result.error_line
    assert not any(workdir.iterdir())


def test_four_channel_images_search_and_their_pareto_configs_retrain(workdir: Path, monkeypatch: pytest.MonkeyPatch):
    config = {
        "search": {"pop_size": 2, "n_offspring": 1, "n_gens": 1, "seed": 0, "run_dir": "run"},
        "space": {"name": "micro", "n_blocks": 5},
        "model": {"init_channels": 4, "layers": 3},
        "data": {"class_path": DATA, "init_args": {"channels": 4, "image_size": 16}},
        "trainer": {"max_epochs": 1, "accelerator": "cpu"},
        "retrain": {"model": {"init_channels": 4, "layers": 3}, "trainer": {"max_epochs": 1, "logger": False,
                                                                               "enable_progress_bar": False}},
        "progress_bar": False,
    }
    (workdir / "search.yaml").write_text(yaml.safe_dump(config))
    result = run_cli("search", "--config", "search.yaml")
    assert result.code == 0, result.err
    with Archive(workdir / "run") as archive:
        rows = archive.rows()
    assert len(rows) == 2 and all(row.is_ok for row in rows), [row.error_text for row in rows]
    row = rows[0]
    network = build_network("micro", row.genotype, num_classes=3, init_channels=4, layers=3, in_channels=4,
                            image_size=16)
    assert row.objectives["madds"] == count_madds(network, input_size=(1, 4, 16, 16))
    pareto = sorted((workdir / "run" / "pareto").glob("*.yaml"))
    assert pareto
    model = yaml.safe_load(pareto[0].read_text())["model"]
    assert "in_channels" not in model and "stem" not in model  # they follow the data (a transfer adapts them)
    assert "\n# input: 4-channel images, cifar stem (from the data" in pareto[0].read_text()
    stats = run_cli("stats", "--config", str(pareto[0]))
    assert stats.code == 0 and "4x16x16 images, cifar stem" in stats.out, stats.err
    titles = []
    draw = viz.draw_genotype
    monkeypatch.setattr(viz, "draw_genotype", lambda g, out, title: titles.append(title) or draw(g, out, title=title))
    drawn = run_cli("draw", str(pareto[0]), "-o", "cells.png")
    assert drawn.code == 0 and (workdir / "cells.png").stat().st_size > 0, drawn.err
    assert titles == [f"{pareto[0]} (4-channel images, cifar stem)"]
    retrained = run_cli("fit", "--config", str(pareto[0]), "--trainer.default_root_dir", "retrain")
    assert retrained.code == 0, retrained.err
    assert list((workdir / "retrain").rglob("last.ckpt"))


def test_a_search_on_data_without_num_classes_is_one_line_and_creates_nothing(workdir: Path):
    config = {"search": {"pop_size": 2, "n_offspring": 1, "n_gens": 1, "run_dir": "run"},
              "model": {"init_channels": 4, "layers": 3},
              "data": {"class_path": "cli_helpers.PlainTensorDataModule"}, "progress_bar": False}
    (workdir / "search.yaml").write_text(yaml.safe_dump(config))
    result = run_cli("search", "--config", "search.yaml")
    assert result.code == 2
    assert result.error_line.endswith("PlainTensorDataModule has no num_classes attribute: add one (an int property, "
                                      "the number of classes its labels count from 0)")
    assert sorted(p.name for p in workdir.iterdir()) == ["search.yaml"]
