"""Every shipped config parses: ``fit --config X --print_config`` (training) and ``search --config X
--print_config`` (quickstart, search); the training configs carry the published recipes."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from training_helpers import run_cli

CONFIGS = Path(__file__).resolve().parents[2] / "configs"
TRAIN_CONFIGS = sorted(p.name for p in (CONFIGS / "train").glob("*.yaml"))
SEARCH_CONFIGS = ["quickstart.yaml", *sorted(f"search/{p.name}" for p in (CONFIGS / "search").glob("*.yaml"))]
SHIPPED = {"nsganet-micro-c26-se.yaml", "nsganet-micro-c34.yaml", "nsganet-micro-c36-se.yaml",
           "nsganet-micro-c36-se-cifar100.yaml", "nsganet-macro.yaml"}


def _print_config(capsys: pytest.CaptureFixture[str], *args: str) -> dict:
    with pytest.raises(SystemExit) as exit_info:
        run_cli(*args, "--print_config")
    assert exit_info.value.code in (0, None)
    return yaml.safe_load(capsys.readouterr().out)


def test_the_published_training_configs_are_shipped() -> None:
    assert set(TRAIN_CONFIGS) >= SHIPPED


@pytest.mark.parametrize("name", TRAIN_CONFIGS)
def test_training_config_prints_with_the_published_recipe(name: str, capsys: pytest.CaptureFixture[str],
                                                          tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    written = yaml.safe_load((CONFIGS / "train" / name).read_text())
    config = _print_config(capsys, "fit", "--config", str(CONFIGS / "train" / name))
    model, data, trainer = config["model"], config["data"]["init_args"], config["trainer"]
    for key, value in written["model"].items():
        assert model[key] == value, key
    assert config["data"]["class_path"] == written["data"]["class_path"]
    assert trainer["gradient_clip_val"] == 5.0
    assert trainer["logger"]["class_path"].endswith("TensorBoardLogger")
    assert config["checkpoint"]["monitor"] == "val/error" and config["checkpoint"]["mode"] == "min"
    assert data["cutout"] is True and data["cutout_length"] == 16
    assert data["hflip"] is True and data["crop_padding"] == 4  # CIFAR's own defaults, not another class's
    assert (model["learning_rate"], model["momentum"], model["weight_decay"]) == (0.025, 0.9, 0.0003)
    if name.startswith("nsganet-micro"):
        assert trainer["max_epochs"] == 600 and data["batch_size"] == 96
        assert model["auxiliary"] and model["auxiliary_weight"] == 0.4 and model["drop_path_prob"] == 0.2
        assert model["layers"] == 20 and model["space"] == "micro"
        expected = "CIFAR100DataModule" if "cifar100" in name else "CIFAR10DataModule"
        assert config["data"]["class_path"].endswith(expected)
    if name == "nsganet-macro.yaml":
        assert trainer["max_epochs"] == 350 and data["batch_size"] == 128
        assert model["space"] == "macro" and model["decoder"] == "dense" and model["channels"] == [128, 128, 128]


def test_trainer_flags_apply_on_top_of_a_config(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    config = _print_config(capsys, "fit", "--config", str(CONFIGS / "train" / "nsganet-micro-c36-se.yaml"),
                           "--trainer.precision", "bf16-mixed", "--trainer.devices", "2", "--trainer.strategy",
                           "ddp", "--model.se", "false")
    assert config["trainer"]["precision"] == "bf16-mixed" and str(config["trainer"]["devices"]) == "2"
    assert config["trainer"]["strategy"] == "ddp" and config["model"]["se"] is False
    assert config["trainer"]["max_epochs"] == 600  # the rest of the config stays


@pytest.mark.parametrize("name", SEARCH_CONFIGS)
def test_search_config_prints(name: str, capsys: pytest.CaptureFixture[str], tmp_path: Path,
                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    config = _print_config(capsys, "search", "--config", str(CONFIGS / name))
    assert {"search", "space", "model", "data", "trainer"} <= set(config)
    assert config["data"]["class_path"].startswith("nsga_lightning.data.")
    assert not any(tmp_path.iterdir())  # printing starts no search
    paper = name.endswith("-paper.yaml")
    # the published code's recipes start at random; the paper's and the quickstart (the default) from the prior
    assert config["search"]["initialization"] == ("prior" if paper or name == "quickstart.yaml" else "random")
    assert config["search"]["crossover"] == ("homogeneous" if paper else "two_point")
    if paper:  # the same search as the published code's config, with the paper's parts switched on
        published = _print_config(capsys, "search", "--config", str(CONFIGS / name.replace("-paper", "")))
        for block in ("space", "model", "data", "trainer", "retrain"):
            assert config[block] == published[block], block
        changed = {k for k in config["search"] if config["search"][k] != published["search"][k]}
        assert changed == {"initialization", "crossover", "exploitation_gens", "run_dir"}


def test_the_paper_settings_on_the_command_line(capsys, tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    config = _print_config(capsys, "search", "--config", str(CONFIGS / "quickstart.yaml"), "--search.initialization",
                           "prior", "--search.crossover", "homogeneous", "--search.initial_architectures",
                           "[NSGANet, '2,0,0,0']")
    assert config["search"]["initial_architectures"] == ["NSGANet", "2,0,0,0"]
    assert config["search"]["crossover"] == "homogeneous"
