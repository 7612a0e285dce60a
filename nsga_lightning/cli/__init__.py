"""The ``nsga-lightning`` command: LightningCLI subcommands plus ``stats``, ``search``, ``draw`` and ``report``.

``fit | validate | test | predict`` are LightningCLI subcommands (model ``ArchitectureModule``, any
LightningDataModule by class_path, ``num_classes``, ``in_channels`` and ``image_size`` from the data). The other
subcommands have their own small jsonargparse parsers (jsonargparse is confined to this package). User errors
become one line on stderr and exit code 2; set ``NSGA_LIGHTNING_DEBUG=1`` to see the traceback instead.
"""

from typing import Any

from nsga_lightning.cli.main import EXTRA_COMMANDS, USAGE, USER_ERRORS, main

# The commands' modules import torch and Lightning: they load on first use, so that the console script (this
# package) starts fast. name -> module
_LAZY = {
    "NSGALightningCLI": "nsga_lightning.cli.training",
    "run_lightning_cli": "nsga_lightning.cli.training",
    "run_search": "nsga_lightning.cli.search",
    "search_parser": "nsga_lightning.cli.search",
    "run_stats": "nsga_lightning.cli.stats",
    "resolve_drawable": "nsga_lightning.cli.inspection",
    "run_draw": "nsga_lightning.cli.inspection",
    "run_report": "nsga_lightning.cli.inspection",
}

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


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
