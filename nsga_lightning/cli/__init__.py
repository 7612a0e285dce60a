"""The ``nsga-lightning`` command: LightningCLI subcommands plus ``stats``, ``search``, ``draw`` and ``report``.

``fit | validate | test | predict`` are LightningCLI subcommands (model ``ArchitectureModule``, any
LightningDataModule by class_path, ``num_classes`` linked from the data). The other subcommands have their
own small jsonargparse parsers (jsonargparse is confined to this package). User errors become one line on stderr and exit code 2;
set ``NSGA_LIGHTNING_DEBUG=1`` to see the traceback instead.
"""

from nsga_lightning.cli.inspection import resolve_drawable, run_draw, run_report, run_stats
from nsga_lightning.cli.main import EXTRA_COMMANDS, USAGE, USER_ERRORS, main
from nsga_lightning.cli.search import run_search, search_parser
from nsga_lightning.cli.training import NSGALightningCLI, run_lightning_cli

__all__ = [
    "EXTRA_COMMANDS",
    "USAGE",
    "USER_ERRORS",
    "NSGALightningCLI",
    "main",
    "resolve_drawable",
    "run_draw",
    "run_lightning_cli",
    "run_report",
    "run_search",
    "run_stats",
    "search_parser",
]
