"""User errors of the Lightning subcommands: one ``nsga-lightning: error:`` line, exit code 2, no traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from training_helpers import QUIET, TINY_MODEL, cifar_args, run_cli


def _assert_one_error_line(code: int, err: str, *fragments: str) -> None:
    assert code == 2
    lines = [line for line in err.splitlines() if line.startswith("nsga-lightning: error:")]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    assert "Does not validate" not in lines[0] and "Namespace(" not in lines[0]  # the constructor's own words
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


@pytest.mark.parametrize(
    ("extra", "fragments"),
    [
        (["--model.genotype", "NoSuchNet"], ["unknown micro genotype 'NoSuchNet'", "NSGANet", "DARTS"]),
        (["--model.space", "macro", "--model.genotype", "Nope"], ["Nope"]),
        (["--model.drop_path_prob", "1.5"], ["drop_path_prob must be in [0, 1)"]),
        (["--model.layers", "many"], ["model.layers", "many"]),
        (["--model.space", "mezzo"], ["model.space", "mezzo"]),
        (["--data.val_split", "-3"], ["val_split must be an integer count >= 0", "-3"]),
        (["--data.batch_size", "0"], ["batch_size and eval_batch_size must be >= 1"]),
        (["--trainer.strategy", "no_such_strategy"], ["no_such_strategy"]),
        (["--no_such_option", "1"], ["no_such_option"]),
        (["--lr_scheduler", "StepLR", "--lr_scheduler.step_size", "1"], ["--lr_scheduler needs --optimizer"]),
        # the data's classes would silently win over the asked number
        (["--model.num_classes", "100"],
         ["model.num_classes 100 differs from the num_classes of CIFAR10DataModule (10)",
          "leave model.num_classes out"]),
    ],
    ids=["genotype", "macro-genotype", "drop-path", "layers-type", "space", "val-split", "batch-size",
         "strategy", "unknown-option", "scheduler-alone", "num-classes-vs-data"],
)
def test_bad_values_give_one_clear_line(extra: list[str], fragments: list[str], cifar_root: Path, tmp_path: Path,
                                        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    code = run_cli("fit", *TINY_MODEL, *QUIET, *cifar_args(cifar_root), "--trainer.max_epochs", "1", *extra)
    _assert_one_error_line(code, capsys.readouterr().err, *fragments)
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").rglob("*.ckpt"))


def test_missing_cifar_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                             capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    code = run_cli("fit", *TINY_MODEL, *QUIET, *cifar_args(tmp_path / "empty"), "--trainer.max_epochs", "1")
    _assert_one_error_line(code, capsys.readouterr().err, "cifar-10-batches-py", "download")


def test_a_failed_download_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    """The published-model configs set download: true; offline, that must not end in a urllib traceback."""
    import urllib.error

    import torchvision.datasets

    def offline(*args: object, **kwargs: object) -> None:
        raise urllib.error.URLError("[Errno -2] Name or service not known")

    monkeypatch.setattr(torchvision.datasets, "CIFAR10", offline)
    monkeypatch.chdir(tmp_path)
    code = run_cli("fit", *TINY_MODEL, *QUIET, *cifar_args(tmp_path / "empty"), "--data.download", "true",
                   "--trainer.max_epochs", "1")
    _assert_one_error_line(code, capsys.readouterr().err, "could not download cifar-10-python.tar.gz",
                           "Name or service not known")


def test_missing_data_block(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                            capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    _assert_one_error_line(run_cli("fit", *TINY_MODEL, *QUIET), capsys.readouterr().err, "data")


def test_validate_without_a_validation_split(cifar_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    code = run_cli("validate", *TINY_MODEL, *QUIET, *cifar_args(cifar_root, val_split=0))
    _assert_one_error_line(code, capsys.readouterr().err, "no validation split", "--data.val_split")


@pytest.mark.parametrize(
    ("subcommand", "content"),
    [("test", "missing"), ("test", "junk"), ("test", "random"), ("validate", "model"), ("test", "mismatch"),
     ("predict", "mismatch"), ("fit", "original")],
)
def test_bad_checkpoint_files(subcommand: str, content: str, cifar_root: Path, tmp_path: Path,
                              monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "weights.pt"
    if content == "junk":
        path.write_text("not a checkpoint")
    elif content == "random":
        path.write_bytes(bytes(range(256)) * 4)
    elif content == "model":  # a whole module pickled: loading it would run code
        torch.save(torch.nn.Linear(2, 2), path)
    elif content in ("mismatch", "original"):  # an original-format file of a 5-cell C=8 network
        vector = torch.load(Path(__file__).resolve().parents[1] / "fixtures" / "vectors" /
                            "micro_cifar_nsganet_c8_L5.pt", weights_only=True)
        torch.save(vector["state_dict"], path)
    code = run_cli(subcommand, *TINY_MODEL, *QUIET, *cifar_args(cifar_root), "--ckpt_path", str(path))
    not_a_checkpoint = f"{path} is neither a Lightning checkpoint nor an original NSGA-Net weight file: "
    expected = {"missing": "not found", "junk": not_a_checkpoint + "it is no file torch.save wrote",
                "random": not_a_checkpoint + "it is no file torch.save wrote",
                "model": not_a_checkpoint + "it holds pickled Python objects besides tensors",
                "mismatch": "does not match", "original": "fit --ckpt_path resumes a Lightning checkpoint"}
    err = capsys.readouterr().err
    _assert_one_error_line(code, err, expected[content])
    assert "weights_only" not in err  # torch's advice to load untrusted files with code execution


def test_console_script_reports_an_unknown_genotype_without_traceback(tmp_path: Path, cifar_root: Path) -> None:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    env.pop("NSGA_LIGHTNING_DEBUG", None)
    script = Path(sys.executable).with_name("nsga-lightning")
    command = [str(script)] if script.is_file() else [sys.executable, "-m", "nsga_lightning.cli"]
    result = subprocess.run(
        [*command, "fit", "--model.genotype", "NoSuchNet", *cifar_args(cifar_root)],
        cwd=tmp_path, env=env, capture_output=True, text=True, check=False, timeout=300,
    )
    _assert_one_error_line(result.returncode, result.stderr, "unknown micro genotype 'NoSuchNet'")
    assert not (tmp_path / "runs").exists()
