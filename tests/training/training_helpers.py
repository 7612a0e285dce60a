"""Shared helpers of the training tests (imported as ``training_helpers``; never ``import conftest``)."""

from __future__ import annotations

from pathlib import Path

from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from nsga_lightning.cli import main

TINY_MODEL = ["--model.init_channels", "4", "--model.layers", "3"]
QUIET = ["--trainer.accelerator", "cpu", "--trainer.enable_progress_bar", "false",
         "--trainer.enable_model_summary", "false"]


def cifar_args(root: Path, kind: str = "cifar10", batch_size: int = 8, val_split: int = 0) -> list[str]:
    """Data options of a tiny CIFAR folder written by ``write_cifar_files`` (no download)."""
    name = "CIFAR10DataModule" if kind == "cifar10" else "CIFAR100DataModule"
    return ["--data", f"nsga_lightning.data.{name}", "--data.data_dir", str(root), "--data.download", "false",
            "--data.batch_size", str(batch_size), "--data.eval_batch_size", "16",
            "--data.val_split", str(val_split)]


def run_cli(*args: str) -> int:
    """``nsga-lightning ARGS`` in this process; returns the exit code."""
    return main([str(a) for a in args])


def scalars(log_dir: Path) -> dict[str, list[tuple[int, float]]]:
    """Every scalar of the TensorBoard event files in ``log_dir``: tag -> [(step, value), ...]."""
    accumulator = EventAccumulator(str(log_dir), size_guidance={"scalars": 0})
    accumulator.Reload()
    return {tag: [(e.step, e.value) for e in accumulator.Scalars(tag)] for tag in accumulator.Tags()["scalars"]}


def version_dirs(save_dir: Path, name: str = "train") -> list[Path]:
    """``save_dir/name/version_*`` in version order."""
    return sorted((save_dir / name).glob("version_*"), key=lambda p: int(p.name.split("_")[1]))
