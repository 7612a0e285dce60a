"""The ``nsga-lightning`` command: LightningCLI subcommands plus ``stats``, ``search``, ``draw`` and ``report``.

``fit | validate | test | predict`` are LightningCLI subcommands (model ``ArchitectureModule``, any
LightningDataModule by class_path, ``num_classes`` linked from the data). The other subcommands have their
own small jsonargparse parsers below (jsonargparse is confined to this module). User errors become one line on stderr and exit code 2;
set ``NSGA_LIGHTNING_DEBUG=1`` to see the traceback instead.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

import torch
import yaml
from jsonargparse import ActionConfigFile, ArgumentParser
from lightning.pytorch import LightningDataModule
from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.cli import LightningArgumentParser, LightningCLI

from nsga_lightning.callbacks import DropPathSchedule
from nsga_lightning.module import ArchitectureModule
from nsga_lightning.nn import load_original_checkpoint
from nsga_lightning.search.settings import RetrainSettings, SearchSettings, SpaceSettings

USER_ERRORS = (ValueError, KeyError, FileNotFoundError, NotADirectoryError, IsADirectoryError)
EXTRA_COMMANDS = ("stats", "search", "draw", "report")

USAGE = """usage: nsga-lightning COMMAND [options]   (nsga-lightning COMMAND --help for a command's options)

Multi-objective neural architecture search (NSGA-Net) on PyTorch Lightning.

search:
  search     run or resume an NSGA-II architecture search (--config configs/quickstart.yaml)
training (LightningCLI: YAML configs, --print_config, every key overridable):
  fit        train an architecture (--config configs/train/<name>.yaml or RUN/pareto/<key>.yaml)
  validate   one pass over the validation split (--ckpt_path: a checkpoint or an original weight file)
  test       one pass over the test split, with error, parameters and MAdds
  predict    class predictions
inspection:
  stats      parameters and MAdds of an architecture config
  draw       draw cells or phases (zoo name, genome, config or archive key) to PNG/SVG/PDF
  report     one self-contained HTML report of a search run directory
"""


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
        """Checkpoint by validation error only where the data has a validation split (else: the last epoch)."""
        ckpt_path = self.config[self.subcommand].get("ckpt_path")
        if _holds_original_weights(ckpt_path):
            raise ValueError(
                f"fit --ckpt_path resumes a Lightning checkpoint; {ckpt_path} holds original NSGA-Net weights, "
                "which the validate, test and predict subcommands load"
            )
        if not _has_validation(self.datamodule):
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

    with warnings.catch_warnings():  # main() always passes args; that is no mistake here
        warnings.filterwarnings("ignore", message="LightningCLI's args parameter")
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


def _model_parser(prog: str) -> ArgumentParser:
    """A parser with ``--config`` and the ``model`` block of a training config (other blocks are ignored)."""
    parser = ArgumentParser(prog=prog, exit_on_error=True)
    parser.add_argument("--config", action=ActionConfigFile, help="a training config (its model block is used)")
    parser.add_class_arguments(ArchitectureModule, "model", skip={"log_complexity"})
    for ignored in ("trainer", "data", "optimizer", "lr_scheduler", "checkpoint", "drop_path", "ckpt_path",
                    "seed_everything"):
        parser.add_argument(f"--{ignored}", type=Any, default=None, help=argparse.SUPPRESS)
    return parser


def run_stats(args: list[str]) -> int:
    """``nsga-lightning stats``: parameters (without/with the aux head) and MAdds of one architecture."""
    parser = _model_parser("nsga-lightning stats")
    parser.add_argument("--format", choices=["table", "json"], default="table", help="output format")
    config = parser.parse_args(args)
    model_args = config.model.as_dict()
    model = ArchitectureModule(**model_args, log_complexity=False)
    values = model.compute_complexity()
    if config.format == "json":
        print(json.dumps(values))
    else:
        name = model_args["genotype"] if isinstance(model_args["genotype"], str) else "custom"
        rows = [
            ("architecture", f"{model_args['space']} {name}"),
            ("params (without aux head)", f"{values['params']:,}  ({values['params'] / 1e6:.2f}M)"),
            ("params (total)", f"{values['params_total']:,}  ({values['params_total'] / 1e6:.2f}M)"),
            ("MAdds (1x3x32x32)", f"{values['madds']:,}  ({values['madds'] / 1e6:.1f}M)"),
        ]
        width = max(len(label) for label, _ in rows)
        for label, value in rows:
            print(f"{label:<{width}}  {value}")
    return 0


def search_parser() -> ArgumentParser:
    """The parser of ``nsga-lightning search``: blocks search, space, model, data, trainer, retrain."""
    parser = ArgumentParser(prog="nsga-lightning search", exit_on_error=True,
                            description="Multi-objective architecture search (NSGA-Net) with Trainer.fit per "
                                        "candidate. Running it again on the same run_dir resumes.")
    parser.add_argument("--config", action=ActionConfigFile, help="a search config (YAML)")
    parser.add_class_arguments(SearchSettings, "search")
    parser.add_class_arguments(SpaceSettings, "space")
    # n_nodes comes from the space block (the genotype of every candidate carries it)
    parser.add_class_arguments(ArchitectureModule, "model", skip={"space", "genotype", "num_classes",
                                                                   "log_complexity", "n_nodes"})
    parser.add_subclass_arguments(LightningDataModule, "data", required=True)
    parser.add_argument("--trainer", type=dict[str, Any], default={"max_epochs": 20},
                        help="keyword arguments of each candidate's Trainer (max_epochs, precision, ...)")
    parser.add_class_arguments(RetrainSettings, "retrain")
    parser.add_argument("--progress_bar", type=bool, default=True, help="show the progress bar")
    parser.add_argument("--num_threads", type=int | None, default=None,
                        help="torch intra-op threads while a candidate trains (default: torch's setting)")
    return parser


def run_search(args: list[str]) -> int:
    """``nsga-lightning search``: run or resume a search; print the Pareto front."""
    from nsga_lightning.callbacks import ParetoOutputs, SearchProgressBar, SearchTensorBoard
    from nsga_lightning.search import SearchRunner
    from nsga_lightning.search.trainer_evaluator import TrainerEvaluator

    parser = search_parser()
    config = parser.parse_args(args)
    data_block = config.data.as_dict()
    init = parser.instantiate_classes(config)
    settings, space_settings, retrain = init.search, init.space, init.retrain
    model_options = config.model.as_dict()
    space = space_settings.build()
    # the proxy's drop path ramps as in final training (the search package does not import callbacks)
    ramp = [DropPathSchedule()] if model_options.get("drop_path_prob", 0.0) > 0 else []
    evaluator = TrainerEvaluator(space.name, init.data, model=model_options, trainer=config.trainer,
                                 run_dir=settings.run_dir, callbacks=ramp, num_threads=config.num_threads)
    callbacks = [
        SearchProgressBar(disable=not config.progress_bar),
        SearchTensorBoard(settings.objectives, settings.reference_point),
        ParetoOutputs(settings.objectives, retrain, data_block, settings.reference_point),
    ]
    # missing data stops here with one clear line, before the run directory is created
    evaluator.prepare()
    # the runner checks its settings before it creates the run directory and its archive
    with SearchRunner(space, evaluator, settings.run_dir, pop_size=settings.pop_size,
                      n_offspring=settings.n_offspring, n_gens=settings.n_gens, seed=settings.seed,
                      objectives=settings.objectives, callbacks=callbacks) as runner:
        (Path(settings.run_dir) / "config.yaml").write_text(parser.dump(config, skip_none=False))
        try:
            result = runner.run()
        except KeyboardInterrupt:
            return 130  # the runner has logged the one line: what is saved and how to resume
        archived = len(runner.archive)
    print(f"{result.n_evaluated} architectures trained in this session, {archived} in the archive; "
          f"Pareto front ({len(result.pareto)}):")
    for row in result.pareto:
        values = "  ".join(f"{name} {_format_objective(name, row.objectives[name])}"
                           for name in settings.objectives)
        print(f"  {row.key}  {values}")
    print(f"outputs: {settings.run_dir}/pareto.csv, pareto.png, pareto/<key>.yaml "
          f"(retrain: nsga-lightning fit --config {settings.run_dir}/pareto/<key>.yaml)")
    return 0


def _format_objective(name: str, value: float) -> str:
    if name == "error":
        return f"{value:6.2f}%"
    return f"{value / 1e6:8.2f}M"


def _open_archive(run_dir: str):
    from nsga_lightning.search import Archive

    if not (Path(run_dir) / "archive.sqlite").is_file():
        raise FileNotFoundError(f"no search archive at {Path(run_dir) / 'archive.sqlite'}: give the run_dir of a "
                                "search (search.run_dir in its config)")
    return Archive(run_dir)


def _space_of(archive: Any):
    from nsga_lightning.spaces import make_space

    stored = archive.config().get("space", {})
    return make_space(stored.get("name", "micro"), n_blocks=stored.get("n_blocks", 5),
                      n_nodes=stored.get("n_nodes", 6))


def resolve_drawable(architecture: str, space: str | None, run_dir: str | None, n_blocks: int, n_nodes: int):
    """A genotype from a zoo name, a genome, a training config (its model block) or an archive key."""
    from nsga_lightning.spaces import MACRO_ZOO, MICRO_ZOO, resolve_genotype

    path = Path(architecture)
    if architecture.endswith((".yaml", ".yml")):
        if not path.is_file():
            raise FileNotFoundError(f"config file not found: {architecture}")
        model = (yaml.safe_load(path.read_text()) or {}).get("model", {})
        model = model.get("init_args", model)
        if "genotype" not in model:
            raise ValueError(f"{architecture} has no model.genotype to draw")
        return resolve_genotype(model.get("space", "micro"), model["genotype"], n_nodes=model.get("n_nodes", 6))
    if run_dir is not None:
        archive = _open_archive(run_dir)
        row = archive.get(architecture)
        if row is None:
            raise KeyError(f"no architecture {architecture!r} in {run_dir}; its keys look like "
                           f"{', '.join(sorted(archive.keys())[:3])}")
        return _space_of(archive).decode(row.genome)
    if architecture[:1] in "[0123456789":
        genome = [int(v) for v in architecture.strip("[]").replace(",", " ").split()]
        name = space or ("micro" if len(genome) == 8 * n_blocks else "macro")
        return resolve_genotype(name, genome, n_blocks=n_blocks, n_nodes=n_nodes)
    if architecture.startswith(("micro-", "macro-")):
        raise ValueError(f"{architecture!r} looks like an archive key: give the search's run directory with "
                         "--run_dir, or draw its training config RUN_DIR/pareto/<key>.yaml")
    if space is None:
        space = "micro" if architecture in MICRO_ZOO else "macro" if architecture in MACRO_ZOO else "micro"
    return resolve_genotype(space, architecture)


def run_draw(args: list[str]) -> int:
    """``nsga-lightning draw``: draw an architecture to PNG, SVG or PDF."""
    from nsga_lightning.viz import draw_genotype

    parser = ArgumentParser(prog="nsga-lightning draw", exit_on_error=False,
                            description="Draw an architecture: a zoo name (NSGANet, DARTS, ...), a genome "
                                        "('2,0,0,0,...'), a training config (.yaml) or an archive key "
                                        "(with --run_dir).")
    parser.add_argument("architecture", type=str)
    parser.add_argument("--output", "-o", type=str, required=True, help="file: .png, .svg or .pdf")
    parser.add_argument("--space", type=Literal["micro", "macro"] | None, default=None)
    parser.add_argument("--run_dir", type=str | None, default=None, help="search run of an archive key")
    parser.add_argument("--n_blocks", type=int, default=5)
    parser.add_argument("--n_nodes", type=int, default=6)
    parser.add_argument("--title", type=str | None, default=None)
    config = parser.parse_args(args)
    genotype = resolve_drawable(config.architecture, config.space, config.run_dir, config.n_blocks,
                                config.n_nodes)
    path = draw_genotype(genotype, config.output, title=config.title or config.architecture)
    print(f"wrote {path}")
    return 0


def run_report(args: list[str]) -> int:
    """``nsga-lightning report RUN_DIR``: one self-contained HTML page about a search."""
    from nsga_lightning.search import pareto_front
    from nsga_lightning.search.history import summarize
    from nsga_lightning.viz import build_report

    parser = ArgumentParser(prog="nsga-lightning report", exit_on_error=False,
                            description="Write a self-contained HTML report (Pareto front, hypervolume, the "
                                        "Pareto architectures with drawings and retrain commands).")
    parser.add_argument("run_dir", type=str)
    parser.add_argument("--output", "-o", type=str | None, default=None, help="default: RUN_DIR/report.html")
    config = parser.parse_args(args)
    archive = _open_archive(config.run_dir)
    stored = archive.config()
    objectives = stored.get("objectives", ["error", "madds"])
    search_config = Path(config.run_dir) / "config.yaml"
    reference = {}
    if search_config.is_file():
        reference = (yaml.safe_load(search_config.read_text()) or {}).get("search", {}).get("reference_point") or {}
    summaries = summarize(archive, objectives, reference)
    rows = archive.rows()
    front = pareto_front(rows, objectives)
    space = _space_of(archive)
    archive.close()
    output = config.output or str(Path(config.run_dir) / "report.html")
    path = build_report(
        output, title=f"NSGA-Net {space.name} search: {config.run_dir}",
        all_rows=[r.as_dict() for r in rows], front_rows=[r.as_dict() for r in front],
        hypervolume=[s.hypervolume for s in summaries], fronts=[s.front for s in summaries] or None,
        genotypes={r.key: space.decode(r.genome) for r in front}, run_dir=config.run_dir,
        config_text=search_config.read_text() if search_config.is_file() else None,
        objectives=objectives[:2],
    )
    print(f"wrote {path}")
    return 0


def _extra_command(name: str) -> Callable[[list[str]], int]:
    return {"stats": run_stats, "search": run_search, "draw": run_draw, "report": run_report}[name]


def _constructor_error(error: BaseException) -> BaseException:
    """The error a constructor raised where jsonargparse wrapped it (its message then lists every member of
    a union type, ``None`` included, and the whole namespace); else ``error`` itself."""
    while str(error).startswith("Does not validate against any") and error.__cause__ is not None:
        error = error.__cause__
    return error


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``nsga-lightning`` console script; returns the exit code."""
    from lightning.fabric.utilities.exceptions import MisconfigurationException  # bad Trainer flag values

    args = list(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    debug = os.environ.get("NSGA_LIGHTNING_DEBUG") == "1"
    try:
        if args and args[0] in EXTRA_COMMANDS:
            return _extra_command(args[0])(args[1:])
        if args and args[0] in ("-h", "--help"):
            print(USAGE, end="")
            return 0
        if not args:
            raise ValueError("give a command: fit, validate, test, predict, " + ", ".join(EXTRA_COMMANDS) +
                             " (nsga-lightning COMMAND --help for its options)")
        run_lightning_cli(args)
        return 0
    except (*USER_ERRORS, argparse.ArgumentError, MisconfigurationException) as error:
        if debug:
            raise
        error = _constructor_error(error)
        message = str(error.args[0] if isinstance(error, KeyError) and error.args else error)
        if isinstance(error, argparse.ArgumentError) and args and args[0] in ("fit", "validate", "test", "predict"):
            message += f" (options: nsga-lightning {args[0]} --help)"
        print(f"nsga-lightning: error: {' '.join(message.split())}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("nsga-lightning: interrupted; finished work is saved", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
