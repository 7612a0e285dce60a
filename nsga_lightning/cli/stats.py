"""``nsga-lightning stats``: parameters (without/with the auxiliary head) and MAdds of one architecture."""

from __future__ import annotations

import argparse
import json
from typing import Any

from jsonargparse import ActionConfigFile, ArgumentParser

from nsga_lightning.module import ArchitectureModule


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
