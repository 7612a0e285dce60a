"""The ``nsga-lightning`` entry point: dispatch to a command; user errors become one line and exit code 2.

A command's module is imported only when that command runs: ``--help``, ``draw`` and ``report`` never import
torch or Lightning (about 1 s to start instead of about 7 s).
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
from collections.abc import Callable
from typing import Any

from nsga_lightning.cli.presets import resolve_config_args
from nsga_lightning.errors import UserError

# Errors of bad input or a bad environment. The project's own (``nsga_lightning.errors.UserError``: a damaged
# archive, a full disk, a read-only run directory) say what to do. ``OSError`` subclasses cover the data download
# (``DatasetDownloadError`` is a ``ConnectionError``) and a run directory in use (``RunDirectoryInUseError`` is a
# ``BlockingIOError``) without importing their modules here.
USER_ERRORS: tuple[type[BaseException], ...] = (
    UserError, ValueError, KeyError, FileNotFoundError, NotADirectoryError, IsADirectoryError, ConnectionError,
    BlockingIOError, argparse.ArgumentError,
)
# command -> (module, function); the LightningCLI subcommands go to ``training.run_lightning_cli``
_COMMANDS = {
    "stats": ("nsga_lightning.cli.stats", "run_stats"),
    "search": ("nsga_lightning.cli.search", "run_search"),
    "draw": ("nsga_lightning.cli.inspection", "run_draw"),
    "report": ("nsga_lightning.cli.inspection", "run_report"),
    "configs": ("nsga_lightning.cli.presets", "run_configs"),
    "archive": ("nsga_lightning.cli.archive", "run_archive"),
    "select": ("nsga_lightning.cli.select", "run_select"),  # issue 27: choosing from a search, deploying
    "export": ("nsga_lightning.cli.export", "run_export"),
}
LIGHTNING_COMMANDS = ("fit", "validate", "test", "predict")
EXTRA_COMMANDS = tuple(_COMMANDS)

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
  archive    export a search's architectures as CSV/YAML (archive export RUN), or import an export
deployment:
  select     the best-error architecture of a search within limits (select RUN --max latency=5 --max params=3e6)
  export     an architecture config or checkpoint to ONNX, checked against PyTorch, with its measured latency
presets:
  configs    list the shipped YAML presets, or print one (nsga-lightning configs quickstart); any --config
             takes a preset name where no such file exists (--config quickstart, --config train/nsganet-macro)
"""


def command_parser(prog: str, description: str | None = None) -> Any:
    """A jsonargparse ``ArgumentParser`` for a command of this CLI: a parse error raises
    ``argparse.ArgumentError``, which :func:`main` prints as one line (no usage block), like LightningCLI's.

    Args:
        prog: the program name in messages (``"nsga-lightning draw"``).
        description: the command's ``--help`` description.
    """
    from jsonargparse import ArgumentParser  # not needed by --help

    return ArgumentParser(prog=prog, description=description, exit_on_error=False)


def _command(name: str) -> Callable[[list[str]], object]:
    """The function that runs ``name`` (its module imported now)."""
    module, function = _COMMANDS.get(name, ("nsga_lightning.cli.training", "run_lightning_cli"))
    return getattr(importlib.import_module(module), function)


def _user_errors() -> tuple[type[BaseException], ...]:
    """:data:`USER_ERRORS`, plus Lightning's bad-flag error once Lightning is loaded (it cannot occur before)."""
    lightning_errors = sys.modules.get("lightning.fabric.utilities.exceptions")
    return USER_ERRORS if lightning_errors is None else (*USER_ERRORS, lightning_errors.MisconfigurationException)


def _constructor_error(error: BaseException) -> BaseException:
    """The error a constructor raised where jsonargparse wrapped it (its message then lists every member of
    a union type, ``None`` included, and the whole namespace); else ``error`` itself."""
    while str(error).startswith("Does not validate against any") and error.__cause__ is not None:
        error = error.__cause__
    return error


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``nsga-lightning`` console script; returns the exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    # Lightning gives its "lightning" logger a console handler of its own when imported, and its records also
    # reached the root logger's handler: every Lightning line printed twice. Lightning's handler alone prints
    # them now (set before the import, which keeps the setting).
    logging.getLogger("lightning").propagate = False
    debug = os.environ.get("NSGA_LIGHTNING_DEBUG") == "1"
    try:
        args = resolve_config_args(args)
        if args and args[0] in EXTRA_COMMANDS:
            return int(_command(args[0])(args[1:]))
        if args and args[0] in ("-h", "--help"):
            print(USAGE, end="")
            return 0
        if not args:
            raise ValueError(f"give a command: {', '.join((*LIGHTNING_COMMANDS, *EXTRA_COMMANDS))} "
                             "(nsga-lightning COMMAND --help for its options)")
        _command(args[0])(args)
        return 0
    except _user_errors() as error:  # evaluated when an error arrives, so Lightning's class is known by then
        if debug:
            raise
        error = _constructor_error(error)
        message = str(error.args[0] if isinstance(error, KeyError) and error.args else error)
        if isinstance(error, argparse.ArgumentError) and args and args[0] in LIGHTNING_COMMANDS:
            message += f" (options: nsga-lightning {args[0]} --help)"
        print(f"nsga-lightning: error: {' '.join(message.split())}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("nsga-lightning: interrupted; finished work is saved", file=sys.stderr)
        return 130
