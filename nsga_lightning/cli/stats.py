"""``nsga-lightning stats``: parameters (without/with the auxiliary head) and MAdds of one architecture.

The model is built by the same LightningCLI parser and hooks as ``fit`` (``num_classes``, ``in_channels`` and
``image_size`` from the data block, a genome typed as text), so ``stats --config C`` counts exactly the model
``fit --config C`` trains, at the size and channels it is built for. No Trainer is built and no data is read
(the datamodule is only constructed; one lacking ``in_channels`` loads a training batch to count them); the data
block may be left out (then 10 classes, 3x32x32 images, or ``--model.num_classes/in_channels/image_size``).
"""

from __future__ import annotations

import argparse
import json
import logging
from typing import Any

from lightning.pytorch import Trainer
from lightning.pytorch.cli import LightningArgumentParser
from typing_extensions import override

from nsga_lightning.cli.training import NSGALightningCLI, build_cli


class StatsCLI(NSGALightningCLI):
    """:class:`NSGALightningCLI` without subcommands that builds the datamodule and the model only.

    Adds ``--format`` (``table`` or ``json``), and accepts the keys a config saved by ``fit`` also holds
    (``ckpt_path``, ignored).
    """

    @override
    def add_arguments_to_parser(self, parser: LightningArgumentParser) -> None:
        super().add_arguments_to_parser(parser)
        parser.add_argument("--format", type=str, choices=["table", "json"], default="table", help="output format")
        parser.add_argument("--ckpt_path", type=str | None, default=None, help=argparse.SUPPRESS)

    @override
    def instantiate_trainer(self, **kwargs: Any) -> Trainer | None:  # type: ignore[override]
        """No Trainer: counting parameters and MAdds needs none (a ``--model.num_classes`` the data contradicts is
        still refused)."""
        self.check_num_classes()
        return None


def run_stats(args: list[str]) -> int:
    """``nsga-lightning stats``: parameters (without/with the aux head) and MAdds of one architecture."""
    seed_logger = logging.getLogger("lightning.fabric.utilities.seed")
    level = seed_logger.level
    seed_logger.setLevel(logging.WARNING)  # a config's seed_everything changes no count: no "Seed set" line
    try:
        cli = build_cli(StatsCLI, args, run=False, datamodule_class=None, seed_everything_default=False,
                        save_config_callback=None, prog="nsga-lightning stats")
    finally:
        seed_logger.setLevel(level)
    model, hparams = cli.model, cli.model.hparams
    values = model.compute_complexity()
    if cli.config.format == "json":
        print(json.dumps(values))
        return 0
    name = hparams.genotype if isinstance(hparams.genotype, str) else "custom"
    network = model.network
    _, channels, height, width = network.input_shape()
    rows = [
        ("architecture", f"{hparams.space} {name}, {network.classifier.out_features} classes"),
        ("input", f"{channels}x{height}x{width} images, {network.stem_type} stem"),
        ("params (without aux head)", f"{values['params']:,}  ({values['params'] / 1e6:.2f}M)"),
        ("params (total)", f"{values['params_total']:,}  ({values['params_total'] / 1e6:.2f}M)"),
        (f"MAdds (1x{channels}x{height}x{width})", f"{values['madds']:,}  ({values['madds'] / 1e6:.1f}M)"),
    ]
    width = max(len(label) for label, _ in rows)
    for label, value in rows:
        print(f"{label:<{width}}  {value}")
    return 0
