"""``fit | validate | test | predict``: LightningCLI with the NSGA-Net training defaults, and original
NSGA-Net weight files accepted as ``--ckpt_path``."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import torch
from lightning.pytorch import LightningDataModule
from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.cli import LightningArgumentParser, LightningCLI

from nsga_lightning.callbacks import DropPathSchedule
from nsga_lightning.module import ArchitectureModule
from nsga_lightning.nn import load_original_checkpoint


class NSGALightningCLI(LightningCLI):
    """LightningCLI with the NSGA-Net training defaults: TensorBoard, gradient clipping 5, best-error
    checkpoints, the drop-path ramp and ``num_classes`` taken from the datamodule. ``validate``, ``test`` and
    ``predict`` also accept an original NSGA-Net weight file as ``--ckpt_path`` (converted on load)."""

    def add_arguments_to_parser(self, parser: LightningArgumentParser) -> None:
        parser.link_arguments("data.num_classes", "model.num_classes", apply_on="instantiate")
        parser.add_lightning_class_args(ModelCheckpoint, "checkpoint")
        parser.set_defaults(
            {
                "checkpoint.monitor": "val/error",
                "checkpoint.mode": "min",
                "checkpoint.save_last": True,
                "checkpoint.filename": "best-{epoch:03d}",
                "checkpoint.auto_insert_metric_name": False,
            }
        )
        parser.add_lightning_class_args(DropPathSchedule, "drop_path")
        parser.set_defaults(
            {
                "trainer.logger": {
                    "class_path": "lightning.pytorch.loggers.TensorBoardLogger",
                    "init_args": {"save_dir": "runs", "name": "train"},
                },
                "trainer.gradient_clip_val": 5.0,
                # No default datamodule: jsonargparse keeps a default class's init_args that share a name with
                # the class given on the command line (a Digits default turned CIFAR's hflip off).
            }
        )

    def _parse_ckpt_path(self) -> None:
        """Read hyperparameters from Lightning checkpoints only: an original NSGA-Net weight file has none."""
        subcommand = self.config.get("subcommand")
        ckpt_path = self.config[subcommand].get("ckpt_path") if subcommand else None
        if _holds_original_weights(ckpt_path):
            return
        super()._parse_ckpt_path()

    def before_instantiate_classes(self) -> None:
        """Refuse ``--lr_scheduler`` without ``--optimizer``: LightningCLI would silently ignore it."""
        if self._get(self.config, "lr_scheduler") and not self._get(self.config, "optimizer"):
            raise ValueError(
                "--lr_scheduler needs --optimizer as well (e.g. --optimizer SGD --optimizer.lr 0.025 "
                "--optimizer.momentum 0.9 --optimizer.weight_decay 3e-4); without both the module's SGD and "
                "cosine schedule are used"
            )

    def before_fit(self) -> None:
        """Checkpoint by validation error only where the data has a validation split (else: the last epoch,
        and no validation loop)."""
        ckpt_path = self.config[self.subcommand].get("ckpt_path")
        if _holds_original_weights(ckpt_path):
            raise ValueError(
                f"fit --ckpt_path resumes a Lightning checkpoint; {ckpt_path} holds original NSGA-Net weights, "
                "which the validate, test and predict subcommands load"
            )
        if not _has_validation(self.datamodule):
            # final training on the whole training set: no validation loop (and no warning about its
            # empty loader), checkpoints of the last epoch
            self.trainer.limit_val_batches = 0
            for callback in self.trainer.callbacks:
                if isinstance(callback, ModelCheckpoint) and callback.monitor == "val/error":
                    callback.monitor = None
                    callback.save_top_k = min(callback.save_top_k, 1)  # k best need a quantity to rank

    def before_validate(self) -> None:
        """Refuse to validate data without a validation split (Lightning would silently do nothing)."""
        if not _has_validation(self.datamodule):
            raise ValueError(
                f"{type(self.datamodule).__name__} has no validation split (val_split 0); set --data.val_split "
                "(e.g. 5000 or 0.1) or use the test subcommand"
            )

    @staticmethod
    def _load_original(model: ArchitectureModule, ckpt_path: str | None) -> str | None:
        """Load ``ckpt_path`` into the network if it holds original NSGA-Net weights (converted on load);
        returns the path left for Lightning to restore (``None`` once loaded here)."""
        if _holds_original_weights(ckpt_path):
            load_original_checkpoint(ckpt_path, model.network)
            logging.getLogger(__name__).info("loaded original NSGA-Net weights from %s", ckpt_path)
            return None
        return ckpt_path

    def validate(self, model: ArchitectureModule, datamodule: LightningDataModule | None = None,
                 ckpt_path: str | None = None, **kwargs: Any) -> None:
        """Validate a Lightning checkpoint or an original NSGA-Net weight file."""
        ckpt_path = self._load_original(model, ckpt_path)
        self.trainer.validate(model, datamodule=datamodule, ckpt_path=ckpt_path, **kwargs)

    def test(self, model: ArchitectureModule, datamodule: LightningDataModule | None = None,
             ckpt_path: str | None = None, **kwargs: Any) -> None:
        """Test a Lightning checkpoint or an original NSGA-Net weight file, then print the summary."""
        ckpt_path = self._load_original(model, ckpt_path)
        results = self.trainer.test(model, datamodule=datamodule, ckpt_path=ckpt_path, **kwargs)
        if self.trainer.is_global_zero and results:
            complexity = model.compute_complexity()
            print(
                f"test error {results[0]['test/error']:.2f}%  params {complexity['params'] / 1e6:.3f}M  "
                f"MAdds {complexity['madds'] / 1e6:.1f}M"
            )

    def predict(self, model: ArchitectureModule, datamodule: LightningDataModule | None = None,
                ckpt_path: str | None = None, **kwargs: Any) -> None:
        """Predict class indices (Lightning checkpoint or original NSGA-Net weights), then print a summary."""
        ckpt_path = self._load_original(model, ckpt_path)
        predictions = self.trainer.predict(model, datamodule=datamodule, ckpt_path=ckpt_path, **kwargs)
        if self.trainer.is_global_zero and predictions:
            classes = torch.cat([p for p in predictions if isinstance(p, torch.Tensor)])  # (N,)
            counts = torch.bincount(classes, minlength=model.hparams.num_classes)
            print(f"predicted {len(classes)} images; images per class: {counts.tolist()}")


def _has_validation(datamodule: LightningDataModule | None) -> bool:
    """Whether the datamodule holds out a validation split (``has_validation``; assumed for other classes)."""
    return bool(getattr(datamodule, "has_validation", True))


def _holds_original_weights(ckpt_path: str | None) -> bool:
    """Whether ``ckpt_path`` names a weight file that is no Lightning checkpoint (original NSGA-Net format)."""
    return bool(ckpt_path) and ckpt_path not in ("best", "last", "hpc") and not _is_lightning_checkpoint(ckpt_path)


def _is_lightning_checkpoint(path: str) -> bool:
    """True for a Lightning checkpoint, False for other tensor files (an original NSGA-Net state_dict).

    Raises:
        FileNotFoundError: if ``path`` is no file.
        ValueError: if the file cannot be read as a tensors-only torch file.
    """
    if not Path(path).is_file():
        raise FileNotFoundError(f"checkpoint file not found: {path}")
    try:
        try:  # memory-mapped: nothing is read but the pickled index (zip-format files only)
            content = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
        except RuntimeError:  # the legacy (pre-zip) format of old torch versions
            content = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # torch reports a file that is no torch file in many ways (KeyError, EOFError...)
        raise ValueError(
            f"{path}: neither a Lightning checkpoint nor an original NSGA-Net weight file "
            f"(a tensors-only torch file); torch.load says {type(error).__name__}: {error}"
        ) from error
    return isinstance(content, dict) and "pytorch-lightning_version" in content


def run_lightning_cli(args: list[str]) -> None:
    """Run ``fit | validate | test | predict`` through :class:`NSGALightningCLI`."""
    import warnings

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="LightningCLI's args parameter")  # main() always passes args
        # torch's pytree deprecation, hit inside Lightning on every run: nothing the user can act on
        warnings.filterwarnings("ignore", message=r".*LeafSpec.* is deprecated", category=FutureWarning)
        NSGALightningCLI(
            ArchitectureModule,
            LightningDataModule,
            subclass_mode_data=True,
            seed_everything_default=0,  # what True ends in anyway (seed 0), without the warning
            args=args,
            save_config_kwargs={"overwrite": True},
            # parse errors raise (main() prints them as one line) instead of printing the usage and exiting
            parser_kwargs={"prog": "nsga-lightning", "exit_on_error": False},
        )
