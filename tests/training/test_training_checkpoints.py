"""``--ckpt_path`` with a Lightning checkpoint of another architecture: refused in one line naming the differing
options, unless ``--model_from_checkpoint true`` asks for the checkpoint's architecture."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import yaml
from training_helpers import QUIET, TINY_MODEL, cifar_args, run_cli, version_dirs

from nsga_lightning.module import ArchitectureModule
from nsga_lightning.nn import count_parameters
from nsga_lightning.spaces import MICRO_ZOO


@pytest.fixture(scope="module")
def checkpoint(cifar_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """last.ckpt of a 1-epoch fit of the tiny NSGANet network (4 channels, 3 cells) on CIFAR-10."""
    work = tmp_path_factory.mktemp("ckpt")
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(work)
        assert run_cli("fit", *TINY_MODEL, *QUIET, *cifar_args(cifar_root), "--trainer.max_epochs", "1",
                       "--trainer.limit_train_batches", "1") == 0
    return version_dirs(work / "runs")[0] / "checkpoints" / "last.ckpt"


def _error_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.startswith("nsga-lightning: error:")]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


@pytest.mark.parametrize(
    ("subcommand", "extra", "fragments"),
    [
        ("test", ["--model.init_channels", "8"], ["init_channels (checkpoint 4, config 8)"]),
        ("validate", ["--model.genotype", "DARTS", "--data.val_split", "8"],
         ["genotype (checkpoint NSGANet, config DARTS)"]),
        ("predict", ["--model.layers", "5", "--model.se", "true"],
         ["layers (checkpoint 3, config 5)", "se (checkpoint False, config True)"]),
        ("fit", ["--model.auxiliary", "true", "--trainer.max_epochs", "2"], ["auxiliary (checkpoint False, config True)"]),
        ("test", ["--model.space", "macro"], ["space (checkpoint micro, config macro)"]),
    ],
    ids=["test-channels", "validate-genotype", "predict-layers-se", "fit-aux", "test-space"],
)
def test_another_architecture_is_refused_naming_the_options(subcommand, extra, fragments, checkpoint, cifar_root,
                                                            tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    code = run_cli(subcommand, *TINY_MODEL, *QUIET, *cifar_args(cifar_root), *extra, "--ckpt_path", checkpoint)
    line = _error_line(capsys.readouterr().err)
    assert code == 2
    assert f"{checkpoint} holds another architecture than the model options" in line
    for fragment in fragments:
        assert fragment in line, line
    assert f"--model_from_checkpoint true to {subcommand}" in line
    assert not (tmp_path / "runs").exists()  # refused before the Trainer: nothing logged, nothing trained


def test_other_classes_in_the_data_are_refused(checkpoint, cifar_root, tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    code = run_cli("test", *TINY_MODEL, *QUIET, *cifar_args(cifar_root, "cifar100"), "--ckpt_path", checkpoint)
    assert code == 2 and "num_classes (checkpoint 10, config 100)" in _error_line(capsys.readouterr().err)
    code = run_cli("test", *QUIET, *cifar_args(cifar_root, "cifar100"), "--ckpt_path", checkpoint,
                   "--model_from_checkpoint", "true")
    line = _error_line(capsys.readouterr().err)
    assert code == 2 and "num_classes (checkpoint 10, config 100)" in line and "follow the data" in line


def test_the_same_architecture_written_another_way_is_accepted(checkpoint, cifar_root, tmp_path, monkeypatch,
                                                               capsys) -> None:
    """A zoo name and its genotype mapping (as a Pareto config writes it) build the same network."""
    monkeypatch.chdir(tmp_path)
    config = tmp_path / "mapping.yaml"
    config.write_text(yaml.safe_dump({"model": {"genotype": MICRO_ZOO["NSGANet"].to_dict(), "init_channels": 4,
                                                "layers": 3, "learning_rate": 0.1, "drop_path_prob": 0.3}}))
    code = run_cli("test", "--config", config, *QUIET, *cifar_args(cifar_root), "--ckpt_path", checkpoint)
    assert code == 0, capsys.readouterr().err  # training options (learning rate, drop path) may differ
    assert "test error " in capsys.readouterr().out


def test_resuming_the_same_architecture_still_works(checkpoint, cifar_root, tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert run_cli("fit", *TINY_MODEL, *QUIET, *cifar_args(cifar_root), "--trainer.max_epochs", "2",
                   "--trainer.limit_train_batches", "1", "--ckpt_path", checkpoint) == 0
    resumed = torch.load(version_dirs(tmp_path / "runs")[0] / "checkpoints" / "last.ckpt", weights_only=False)
    assert resumed["epoch"] == 1


def test_model_from_checkpoint_builds_the_checkpoints_architecture(checkpoint, cifar_root, tmp_path, monkeypatch,
                                                                   capsys) -> None:
    monkeypatch.chdir(tmp_path)
    code = run_cli("test", "--model.init_channels", "8", "--model.genotype", "DARTS", *QUIET, *cifar_args(cifar_root),
                   "--ckpt_path", checkpoint, "--model_from_checkpoint", "true")
    assert code == 0, capsys.readouterr().err
    expected = count_parameters(ArchitectureModule.load_from_checkpoint(checkpoint).network)
    assert f"params {expected / 1e6:.3f}M" in capsys.readouterr().out


@pytest.mark.parametrize("subcommand", ["fit", "validate", "test", "predict"])
def test_the_opt_in_is_documented_in_the_help(subcommand, capsys) -> None:
    with pytest.raises(SystemExit):
        run_cli(subcommand, "--help")
    help_text = " ".join(capsys.readouterr().out.split())
    assert "--model_from_checkpoint" in help_text and "build the architecture saved in the checkpoint" in help_text
