"""``nsga-lightning fit | validate | test | predict`` in this process on tiny CIFAR-format folders."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch
import yaml
from training_helpers import QUIET, TINY_MODEL, cifar_args, run_cli, scalars, version_dirs

from nsga_lightning.module import ArchitectureModule

EPOCHS, LR0, DROP = 3, 0.025, 0.2


@pytest.fixture(scope="module")
def fitted(cifar_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One fit through the CLI (3 epochs x 2 batches, 16 validation images, aux head, drop path 0.2); its cwd."""
    work = tmp_path_factory.mktemp("fit")
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(work)
        code = run_cli("fit", *TINY_MODEL, *QUIET, *cifar_args(cifar_root, val_split=16),
                       "--model.auxiliary", "true", "--model.drop_path_prob", str(DROP),
                       "--trainer.max_epochs", str(EPOCHS), "--trainer.limit_train_batches", "2",
                       "--trainer.log_every_n_steps", "1")
    assert code == 0
    return work


def _fit_dir(work: Path) -> Path:
    return version_dirs(work / "runs")[0]


def test_fit_writes_the_scalars_to_tensorboard(fitted: Path) -> None:
    logged = scalars(_fit_dir(fitted))
    for tag in ("train/loss", "train/loss_step", "train/acc", "train/lr", "train/drop_path_prob", "val/loss",
                "val/acc", "val/error", "model/params", "model/params_total", "model/madds"):
        assert tag in logged, f"{tag} missing from {sorted(logged)}"
    for tag in ("train/loss", "train/acc", "val/loss", "val/acc", "val/error", "train/lr"):
        assert len(logged[tag]) == EPOCHS, tag  # once per epoch
    assert len(logged["model/madds"]) == 1 and logged["model/params_total"][0][1] > logged["model/params"][0][1]
    for (_, acc), (_, error) in zip(logged["val/acc"], logged["val/error"]):
        assert error == pytest.approx(100.0 * (1.0 - acc), abs=1e-3)  # error in percent
    assert all(math.isfinite(v) for _, v in logged["train/loss"])


def test_learning_rate_is_cosine_stepped_after_the_optimizer(fitted: Path) -> None:
    lrs = [v for _, v in scalars(_fit_dir(fitted))["train/lr"]]  # the rate each epoch trained with
    expected = [LR0 * (1 + math.cos(math.pi * e / EPOCHS)) / 2 for e in range(EPOCHS)]
    assert lrs == pytest.approx(expected, rel=1e-5)
    assert lrs[0] == pytest.approx(LR0) and lrs[-1] > 0.0  # the first epoch at lr0, the last one not at 0


def test_drop_path_ramps_linearly_per_epoch(fitted: Path) -> None:
    values = [v for _, v in scalars(_fit_dir(fitted))["train/drop_path_prob"]]
    assert values == pytest.approx([DROP * e / EPOCHS for e in range(EPOCHS)])


def test_fit_keeps_the_best_validation_error_and_the_last_checkpoint(fitted: Path) -> None:
    folder = _fit_dir(fitted)
    names = sorted(p.name for p in (folder / "checkpoints").iterdir())
    assert "last.ckpt" in names and any(n.startswith("best-") for n in names)
    assert (folder / "config.yaml").is_file()
    last = torch.load(folder / "checkpoints" / "last.ckpt", weights_only=False, map_location="cpu")
    state = next(v for k, v in last["callbacks"].items() if k.startswith("ModelCheckpoint"))
    assert state["monitor"] == "val/error"
    best_error = min(v for _, v in scalars(folder)["val/error"])
    assert float(state["best_model_score"]) == pytest.approx(best_error, abs=1e-3)
    assert last["hyper_parameters"]["num_classes"] == 10  # linked from the datamodule


def test_load_from_checkpoint_rebuilds_the_same_network(fitted: Path) -> None:
    path = _fit_dir(fitted) / "checkpoints" / "last.ckpt"
    loaded = ArchitectureModule.load_from_checkpoint(path, map_location="cpu").eval()
    checkpoint = torch.load(path, weights_only=False, map_location="cpu")
    options = {k: v for k, v in checkpoint["hyper_parameters"].items() if not k.startswith("_")}
    rebuilt = ArchitectureModule(**options)
    rebuilt.load_state_dict(checkpoint["state_dict"])
    rebuilt.eval()
    images = torch.randn(4, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        assert torch.equal(loaded(images), rebuilt(images))
    assert loaded.hparams.auxiliary and loaded.hparams.drop_path_prob == DROP


def test_validate_test_and_predict_a_checkpoint(fitted: Path, cifar_root: Path, monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(fitted)
    ckpt = _fit_dir(fitted) / "checkpoints" / "last.ckpt"
    # the model options it was trained with (another architecture is refused: test_training_checkpoints.py)
    common = [*TINY_MODEL, "--model.auxiliary", "true", *QUIET, *cifar_args(cifar_root, val_split=16),
              "--ckpt_path", str(ckpt)]
    assert run_cli("validate", *common) == 0
    assert run_cli("test", *common) == 0
    out = capsys.readouterr().out
    summary = [line for line in out.splitlines() if line.startswith("test error ")]
    assert len(summary) == 1 and "params" in summary[0] and "MAdds" in summary[0]
    test_run = version_dirs(fitted / "runs")[-1]
    logged = scalars(test_run)
    assert {"test/acc", "test/error", "test/acc_top5"} <= set(logged)
    error = logged["test/error"][0][1]
    assert f"test error {error:.2f}%" in summary[0]
    assert error == pytest.approx(100 * (1 - logged["test/acc"][0][1]), abs=1e-3)
    assert run_cli("predict", *common) == 0
    out = capsys.readouterr().out
    assert "predicted 16 images" in out  # the whole test set


def test_fit_from_a_config_file_and_test_on_cifar100(cifar_root: Path, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch,
                                                     capsys: pytest.CaptureFixture[str],
                                                     recwarn: pytest.WarningsRecorder) -> None:
    monkeypatch.chdir(tmp_path)
    config = {
        "trainer": {"max_epochs": 1, "limit_train_batches": 2, "accelerator": "cpu", "enable_progress_bar": False,
                    "logger": {"class_path": "lightning.pytorch.loggers.TensorBoardLogger",
                               "init_args": {"save_dir": "runs", "name": "c100"}}},
        "model": {"space": "micro", "genotype": "NSGANet", "init_channels": 4, "layers": 3, "auxiliary": True},
        "data": {"class_path": "nsga_lightning.data.CIFAR100DataModule",
                 "init_args": {"data_dir": str(cifar_root), "batch_size": 10, "val_split": 0, "cutout": True}},
    }
    (tmp_path / "c100.yaml").write_text(yaml.safe_dump(config))
    assert run_cli("fit", "--config", "c100.yaml") == 0
    run = version_dirs(tmp_path / "runs", "c100")[0]
    ckpt = run / "checkpoints" / "last.ckpt"
    content = torch.load(ckpt, weights_only=False)
    assert content["hyper_parameters"]["num_classes"] == 100  # linked from the datamodule
    # no validation split: before_fit stopped monitoring val/error (the latest epoch is kept)
    state = next(v for k, v in content["callbacks"].items() if k.startswith("ModelCheckpoint"))
    assert state["monitor"] is None and not scalars(run).get("val/error")
    # and no validation loop ran on the empty split (Lightning would warn about its empty loader)
    messages = [str(w.message) for w in recwarn.list]
    assert not [m for m in messages if "Total length of" in m or "LeafSpec" in m], messages
    data = cifar_args(cifar_root, "cifar100", batch_size=10)
    # no model options: the checkpoint's architecture, asked for explicitly
    assert run_cli("test", *QUIET, *data, "--ckpt_path", ckpt, "--model_from_checkpoint", "true") == 0
    assert "test error " in capsys.readouterr().out
    model = ArchitectureModule.load_from_checkpoint(ckpt)
    assert model.network.classifier.out_features == 100


def test_split_holds_validation_images_out_of_the_training_set(cifar_root: Path, tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch,
                                                               caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.chdir(tmp_path)
    with caplog.at_level("INFO", logger="nsga_lightning"):
        assert run_cli("fit", *TINY_MODEL, *QUIET, *cifar_args(cifar_root, val_split=12),
                       "--trainer.max_epochs", "1", "--trainer.limit_train_batches", "1") == 0
    assert "CIFAR10DataModule: 36 training and 12 validation images" in caplog.text


def test_optimizer_can_be_replaced_from_the_command_line(cifar_root: Path, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert run_cli("fit", *TINY_MODEL, *QUIET, *cifar_args(cifar_root), "--optimizer", "Adam",
                   "--optimizer.lr", "0.001", "--trainer.max_epochs", "1", "--trainer.limit_train_batches", "1") == 0
    ckpt = torch.load(version_dirs(tmp_path / "runs")[0] / "checkpoints" / "last.ckpt", weights_only=False)
    (group,) = ckpt["optimizer_states"][0]["param_groups"]
    assert "betas" in group and group["lr"] == pytest.approx(0.001)  # Adam, not the default SGD
    assert ckpt["lr_schedulers"] == []  # --optimizer alone replaces the whole recipe


def test_optimizer_and_scheduler_from_the_command_line(cifar_root: Path, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert run_cli("fit", *TINY_MODEL, *QUIET, *cifar_args(cifar_root), "--optimizer", "SGD", "--optimizer.lr",
                   "0.1", "--lr_scheduler", "StepLR", "--lr_scheduler.step_size", "1",
                   "--trainer.max_epochs", "1", "--trainer.limit_train_batches", "1") == 0
    ckpt = torch.load(version_dirs(tmp_path / "runs")[0] / "checkpoints" / "last.ckpt", weights_only=False)
    (scheduler,) = ckpt["lr_schedulers"]
    assert scheduler["step_size"] == 1 and scheduler["_last_lr"] == pytest.approx([0.01])  # 0.1 * gamma 0.1


def test_bf16_mixed_precision_on_cpu(cifar_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert run_cli("fit", *TINY_MODEL, *QUIET, *cifar_args(cifar_root), "--trainer.precision", "bf16-mixed",
                   "--trainer.max_epochs", "1", "--trainer.limit_train_batches", "2") == 0
    run = version_dirs(tmp_path / "runs")[0]
    assert all(math.isfinite(v) for _, v in scalars(run)["train/loss"])
    state = torch.load(run / "checkpoints" / "last.ckpt", weights_only=False)["state_dict"]
    assert all(t.dtype == torch.float32 for t in state.values() if t.is_floating_point())  # weights stay fp32
