"""``fit | validate | test | predict``: LightningCLI with the NSGA-Net training defaults, original NSGA-Net
weight files accepted as ``--ckpt_path``, and checkpoints of another architecture refused."""

from __future__ import annotations

import json
import logging
import warnings
from typing import Any

import torch
from jsonargparse import ArgumentParser, Namespace
from lightning.pytorch import LightningDataModule, Trainer
from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.cli import ArgsType, LightningArgumentParser, LightningCLI

from nsga_lightning.callbacks import DropPathSchedule
from nsga_lightning.cli.checkpoints import (
    SPECIAL_PATHS,
    architecture_differences,
    checkpoint_hyperparameters,
    holds_original_weights,
)
from nsga_lightning.cli.genomes import parse_genome_text, quote_negative_genomes
from nsga_lightning.data_inputs import FROM_DATA, inputs_from_data, preserved_random_state
from nsga_lightning.module import ArchitectureModule
from nsga_lightning.nn import load_original_checkpoint


class NSGALightningCLI(LightningCLI):
    """LightningCLI with the NSGA-Net training defaults: TensorBoard, gradient clipping 5, best-error
    checkpoints, the drop-path ramp, and ``num_classes``, ``in_channels`` and ``image_size`` taken from the
    datamodule (:mod:`nsga_lightning.data_inputs`: ``null``, the default, follows the data; a value given must
    equal the data's, and stands in for an attribute the datamodule lacks, e.g. ``--model.num_classes 5``).
    ``validate``, ``test`` and ``predict`` also accept an original NSGA-Net weight file as ``--ckpt_path``
    (converted on load). A Lightning checkpoint of another architecture than the model options is refused,
    naming the differing options, unless ``--model_from_checkpoint true`` builds the checkpoint's architecture.
    A genome typed as text (``--model.genotype 1,0,2,...``) is a genome, not a zoo name. ``--model.num_classes``
    counts where no data block gives the classes (``stats``) and must agree with the data's where one does."""

    def add_arguments_to_parser(self, parser: LightningArgumentParser) -> None:
        # null: follow the data, filled in before the model is built (before_instantiate_classes). Not jsonargparse
        # links: a link target cannot be given at all, and a datamodule without num_classes needs it given. The
        # network is then checked for the images it will get (e.g. no CIFAR auxiliary head on 16x16 digits).
        parser.set_defaults({f"model.{name}": None for name in FROM_DATA})
        parser.add_argument(
            "--model_from_checkpoint", type=bool, default=False,
            help="with a Lightning --ckpt_path: build the architecture saved in the checkpoint instead of the one "
                 "the model options describe (which must otherwise match the checkpoint's, or the command is "
                 "refused naming the differing options); num_classes, in_channels and image_size still follow the "
                 "data",
        )
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

    def parse_arguments(self, parser: LightningArgumentParser, args: ArgsType) -> None:
        """Parse ``args``, reading ``--model.num_classes N`` as a model option (see
        :func:`model_num_classes_as_block`)."""
        self._num_classes_given = False
        if isinstance(args, list):
            args, self._num_classes_given = model_num_classes_as_block(args)
        super().parse_arguments(parser, args)

    def check_num_classes(self) -> None:
        """Refuse a ``--model.num_classes`` that the data block's classes overrode (the link gives the model the
        data's ``num_classes``; training silently another number of classes than asked is worse than an error).

        Raises:
            ValueError: naming both numbers and how to get the asked one.
        """
        if not getattr(self, "_num_classes_given", False):
            return
        asked = self._get(self.config, "model").num_classes
        built = self.model.hparams.num_classes
        if asked != built:
            example = " (--data nsga_lightning.data.CIFAR100DataModule)" if asked == 100 else ""
            raise ValueError(
                f"--model.num_classes {asked} contradicts the data: {type(self.datamodule).__name__} has {built} "
                f"classes, and num_classes follows the data block; leave --model.num_classes out, or give data with "
                f"{asked} classes{example}"
            )

    def _parse_ckpt_path(self) -> None:
        """Keep the model options unless ``--model_from_checkpoint``: LightningCLI would silently replace them
        by the hyperparameters of a Lightning checkpoint (an original NSGA-Net weight file has none). The
        checkpoint's architecture is compared with the model's once it is built (:meth:`instantiate_trainer`)."""
        self._checkpoint: tuple[str, dict[str, Any]] | None = None
        subcommand = self.config.get("subcommand")
        ckpt_path = self.config[subcommand].get("ckpt_path") if subcommand else None
        if not ckpt_path or ckpt_path in SPECIAL_PATHS or holds_original_weights(ckpt_path):
            return
        self._checkpoint = (ckpt_path, checkpoint_hyperparameters(ckpt_path))
        if self.config[subcommand].get("model_from_checkpoint"):
            following = {name: self.config[subcommand].model.get(name) for name in FROM_DATA}
            super()._parse_ckpt_path()
            for name, value in following.items():  # these still follow the data, not the checkpoint
                self.config[subcommand].model[name] = value

    def before_instantiate_classes(self) -> None:
        """Read a genome typed as text as a genome; take ``num_classes``, ``in_channels`` and ``image_size``
        from the data; refuse ``--lr_scheduler`` without ``--optimizer`` (LightningCLI would silently ignore
        it)."""
        model = self._get(self.config, "model")
        genome = parse_genome_text(model.genotype) if model is not None else None
        if genome is not None:  # a wrong value is then named by the space's range check, not as a zoo name
            model.genotype = genome
        if model is not None:
            given = {name: model.get(name) for name in FROM_DATA}
            for name, value in inputs_from_data(self._datamodule_of_config(), given,
                                                how_to_give="--model.num_classes").items():
                model[name] = value
        if self._get(self.config, "lr_scheduler") and not self._get(self.config, "optimizer"):
            raise ValueError(
                "--lr_scheduler needs --optimizer as well (e.g. --optimizer SGD --optimizer.lr 0.025 "
                "--optimizer.momentum 0.9 --optimizer.weight_decay 3e-4); without both the module's SGD and "
                "cosine schedule are used"
            )

    def _datamodule_of_config(self) -> LightningDataModule | None:
        """The config's datamodule, built to read what the model takes from it before the model is built.
        LightningCLI builds its own afterwards: constructing a datamodule is cheap (the data is loaded by
        ``prepare_data``/``setup``), unless it lacks ``in_channels`` (then this one loads a training batch)."""
        return datamodule_of(self._get(self.config, "data"))

    def instantiate_trainer(self, **kwargs: Any) -> Trainer:
        """Refuse a ``--model.num_classes`` the data contradicts (:meth:`check_num_classes`) and a Lightning
        checkpoint of another architecture than the model just built, then build the Trainer.

        Raises:
            ValueError: naming each differing option with the checkpoint's and the config's value.
        """
        self.check_num_classes()
        checkpoint = getattr(self, "_checkpoint", None)
        if checkpoint is not None and checkpoint[1]:
            path, hparams = checkpoint
            differences = architecture_differences(hparams, dict(self.model.hparams))
            if differences:
                subcommand = self.subcommand or "run"
                from_checkpoint = self._get(self.config, "model_from_checkpoint")
                # what follows the data differs only with other data: --model_from_checkpoint cannot help there
                follows_data = [d for d in differences if d.split(" ", 1)[0] in FROM_DATA]
                remedies = []
                if len(follows_data) < len(differences) and not from_checkpoint:
                    remedies.append("give the config it was trained with, or add --model_from_checkpoint true to "
                                    f"{subcommand} the checkpoint's architecture")
                if follows_data or from_checkpoint:
                    remedies.append("num_classes, in_channels and image_size follow the data: give the data the "
                                    "checkpoint was trained on")
                raise ValueError(f"{path} holds another architecture than the model options: "
                                 f"{', '.join(differences)}; {'; '.join(remedies)}")
        return super().instantiate_trainer(**kwargs)

    def before_fit(self) -> None:
        """Checkpoint by validation error only where the data has a validation split (else: the last epoch,
        and no validation loop)."""
        ckpt_path = self.config[self.subcommand].get("ckpt_path")
        if holds_original_weights(ckpt_path):
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
        if holds_original_weights(ckpt_path):
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


def datamodule_of(data: Any) -> LightningDataModule | None:
    """A datamodule built from a parsed ``data`` block (class_path form), or ``None`` without one."""
    if data is None:
        return None
    parser = ArgumentParser(exit_on_error=False)
    parser.add_subclass_arguments(LightningDataModule, "data", fail_untyped=False)
    config = parser.parse_object({"data": data.as_dict() if isinstance(data, Namespace) else data})
    instantiate = getattr(parser, "instantiate", None) or parser.instantiate_classes  # the name of jsonargparse >= 4.49
    with preserved_random_state():  # a constructor that draws numbers must not shift the seeded training stream
        return instantiate(config).data


NUM_CLASSES_OPTION = "--model.num_classes"


def model_num_classes_as_block(args: list[str]) -> tuple[list[str], bool]:
    """``args`` with every ``--model.num_classes N`` (or ``--model.num_classes=N``) written as
    ``--model {"num_classes": "N"}``.

    jsonargparse refuses the option string of a link's target (``Linked "model.num_classes" must be given via
    "data.num_classes"``, advice no shipped datamodule can follow), yet accepts the same key inside a ``model``
    block, as a config file gives it; the block form keeps the option's place among the others (later ones win)
    and the parser still checks the value's type. Where a data block gives the classes the link overrides the
    value, which :meth:`NSGALightningCLI.check_num_classes` then refuses unless they agree.

    Returns:
        The arguments, and whether the option was given.
    """
    rewritten: list[str] = []
    given = False
    index = 0
    while index < len(args):
        arg = args[index]
        if arg == NUM_CLASSES_OPTION and index + 1 < len(args):
            value, index = args[index + 1], index + 2
        elif arg.startswith(f"{NUM_CLASSES_OPTION}="):
            value, index = arg.split("=", 1)[1], index + 1
        else:
            rewritten.append(arg)
            index += 1
            continue
        rewritten += ["--model", json.dumps({"num_classes": value})]
        given = True
    return rewritten, given


def build_cli(cli_class: type[NSGALightningCLI], args: list[str], **kwargs: Any) -> NSGALightningCLI:
    """Run ``cli_class`` on ``args`` with this package's LightningCLI settings (``main()`` turns its parse and
    constructor errors into one line).

    Args:
        cli_class: :class:`NSGALightningCLI` or a subclass.
        args: the command line after the program name.
        **kwargs: further :class:`~lightning.pytorch.cli.LightningCLI` arguments (e.g. ``run=False``).

    Returns:
        The CLI object (``model``, ``datamodule``, ``trainer`` instantiated).
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="LightningCLI's args parameter")  # main() always passes args
        # torch's pytree deprecation, hit inside Lightning on every run: nothing the user can act on
        warnings.filterwarnings("ignore", message=r".*LeafSpec.* is deprecated", category=FutureWarning)
        prog = kwargs.pop("prog", "nsga-lightning")
        return cli_class(
            ArchitectureModule,
            kwargs.pop("datamodule_class", LightningDataModule),
            subclass_mode_data=True,
            seed_everything_default=kwargs.pop("seed_everything_default", 0),  # what True ends in, no warning
            args=quote_negative_genomes(args),  # --model.genotype -1,0,... is a value, not an option
            save_config_kwargs={"overwrite": True},
            # parse errors raise (main() prints them as one line) instead of printing the usage and exiting
            parser_kwargs={"prog": prog, "exit_on_error": False},
            **kwargs,
        )


def run_lightning_cli(args: list[str]) -> None:
    """Run ``fit | validate | test | predict`` through :class:`NSGALightningCLI`."""
    build_cli(NSGALightningCLI, args)
