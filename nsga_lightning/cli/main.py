"""The ``nsga-lightning`` entry point: dispatch to a command; user errors become one line and exit code 2."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Callable

from nsga_lightning.cli.inspection import run_draw, run_report, run_stats
from nsga_lightning.cli.search import run_search
from nsga_lightning.cli.training import run_lightning_cli
from nsga_lightning.data import DatasetDownloadError
from nsga_lightning.search.run_lock import RunDirectoryInUseError

USER_ERRORS = (ValueError, KeyError, FileNotFoundError, NotADirectoryError, IsADirectoryError,
               RunDirectoryInUseError, DatasetDownloadError)
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
