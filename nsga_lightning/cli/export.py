"""``nsga-lightning export``: a trained (or untrained) architecture to ONNX, checked against PyTorch on real images,
with its measured latency.

The model is built exactly as ``fit --config C`` builds it (LightningCLI, the input from the data block); the
weights come from ``--ckpt_path`` (a Lightning checkpoint, refused in one line when it holds another architecture
than the config, or an original NSGA-Net weight file). A checkpoint alone gives the model and the data it was
trained with (its saved hyperparameters). Exported is the network in eval mode returning its logits: no auxiliary
head, no drop path. The exported file is run by ONNX Runtime on a batch of the data's real images (normalised as for
evaluation) and its logits compared with PyTorch's (``rtol 1e-3, atol 1e-4``); a mismatch stops with one line. The
latency is measured with the search's protocol on the chosen target. Needs the ``export`` extra.
"""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path
from typing import Any

import torch
import yaml
from lightning.pytorch import LightningDataModule, Trainer
from lightning.pytorch.cli import LightningArgumentParser
from typing_extensions import override

from nsga_lightning.cli.checkpoints import (
    architecture_differences,
    checkpoint_hyperparameters,
    is_lightning_checkpoint,
)
from nsga_lightning.cli.training import NSGALightningCLI, build_cli
from nsga_lightning.latency import Protocol, Target
from nsga_lightning.latency.onnx import (
    ATOL,
    EXPORTERS,
    RTOL,
    Logits,
    compare_outputs,
    export_onnx,
    file_runner,
    require_onnx,
    run_session,
    session,
)
from nsga_lightning.latency.protocol import measure
from nsga_lightning.nn import load_original_checkpoint

log = logging.getLogger(__name__)
CHECK_IMAGES = 64  # real images the exported logits are compared on


class ExportCLI(NSGALightningCLI):
    """:class:`NSGALightningCLI` without subcommands that builds the datamodule and the model, with the export's
    own options."""

    @override
    def add_arguments_to_parser(self, parser: LightningArgumentParser) -> None:
        super().add_arguments_to_parser(parser)
        parser.add_argument("--output", "-o", type=str | None, default=None,
                            help="the ONNX file (default: the config's or checkpoint's name with .onnx)")
        parser.add_argument("--ckpt_path", type=str | None, default=None,
                            help="weights: a Lightning checkpoint or an original NSGA-Net weight file")
        parser.add_argument("--exporter", type=str, choices=list(EXPORTERS), default="dynamo",
                            help="torch.onnx's dynamo (torch.export) or TorchScript-based exporter")
        parser.add_argument("--target", type=str, choices=["onnxruntime", "cpu", "cuda"], default="onnxruntime",
                            help="where the latency is measured (onnxruntime: the exported file)")
        parser.add_argument("--threads", type=int, default=1, help="intra-op threads of the latency target")
        parser.add_argument("--batch_size", type=int, default=1, help="images per forward pass of the latency")

    @override
    def instantiate_trainer(self, **kwargs: Any) -> Trainer | None:  # type: ignore[override]
        """No Trainer (a ``--model.num_classes`` the data contradicts is still refused)."""
        self.check_num_classes()
        return None


def _from_checkpoint(path: str, folder: Path) -> Path:
    """A config file holding a Lightning checkpoint's model and data (its saved hyperparameters).

    Raises:
        ValueError: if the checkpoint saved no model hyperparameters or no data class.
    """
    content = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
    model = {k: v for k, v in checkpoint_hyperparameters(path).items() if not k.startswith("_")}
    data = dict(content.get("datamodule_hyper_parameters") or {})
    if not model or "_class_path" not in data:
        raise ValueError(f"{path} holds no saved model and data hyperparameters (a checkpoint of nsga-lightning fit "
                         "does): give the training config too, --config RUN/pareto/<key>.yaml")
    block = {"class_path": data.pop("_class_path"), "init_args": {k: v for k, v in data.items() if not k.startswith("_")}}
    config = folder / "from-checkpoint.yaml"
    config.write_text(yaml.safe_dump({"model": model, "data": block}, sort_keys=False))
    return config


def _real_images(datamodule: LightningDataModule | None, n: int) -> torch.Tensor:
    """Up to ``n`` real images of the data, normalised as for evaluation (validation, else training split).

    Raises:
        ValueError: without a data block.
    """
    if datamodule is None:
        raise ValueError("export compares the ONNX logits with PyTorch's on real images: give the data block "
                         "(--config of a training config, or --data)")
    datamodule.prepare_data()
    datamodule.setup("fit")
    loader = datamodule.val_dataloader() if getattr(datamodule, "has_validation", False) else None
    batch = next(iter(loader if loader is not None else datamodule.train_dataloader()))
    images, _ = datamodule.on_after_batch_transfer(batch, 0)
    return images[:n].float().contiguous()


def _load_weights(model: Any, ckpt_path: str) -> None:
    """Load a Lightning checkpoint (refusing another architecture) or original NSGA-Net weights into ``model``."""
    if not is_lightning_checkpoint(ckpt_path):
        load_original_checkpoint(ckpt_path, model.network)
        return
    differences = architecture_differences(checkpoint_hyperparameters(ckpt_path), dict(model.hparams))
    if differences:
        raise ValueError(f"{ckpt_path} holds another architecture than the config: {', '.join(differences)}; give "
                         "the config it was trained with")
    state = torch.load(ckpt_path, map_location="cpu", weights_only=True)["state_dict"]
    model.load_state_dict(state)


def run_export(args: list[str]) -> int:
    """``nsga-lightning export``: see the module docstring."""
    require_onnx()
    if args and not args[0].startswith("-"):  # a positional source: a checkpoint or a config
        args = ["--ckpt_path" if args[0].endswith(".ckpt") else "--config", args[0], *args[1:]]
    ckpt_path = _option(args, "--ckpt_path")
    with tempfile.TemporaryDirectory() as folder:
        if ckpt_path and "--config" not in args and is_lightning_checkpoint(ckpt_path):
            args = ["--config", str(_from_checkpoint(ckpt_path, Path(folder))), *args]
        cli = build_cli(ExportCLI, args, run=False, datamodule_class=None, seed_everything_default=False,
                        save_config_callback=None, prog="nsga-lightning export")
    options = cli.config
    model = cli.model
    if options.ckpt_path:
        _load_weights(model, options.ckpt_path)
    network = Logits(model.network).eval()
    images = _real_images(cli.datamodule, CHECK_IMAGES)
    source = options.ckpt_path or _option(args, "--config") or "model"
    output = Path(options.output or Path(source).with_suffix(".onnx").name)
    data = export_onnx(network, images[:1], output, exporter=options.exporter)
    with torch.no_grad():
        expected = network(images).numpy()
    worst = compare_outputs(expected, run_session(session(data, 1), images.numpy()))
    print(f"wrote {output} ({len(data) / 1e6:.2f} MB, {options.exporter} exporter): the logits of {len(images)} real "
          f"images match PyTorch's within rtol {RTOL}, atol {ATOL} (largest difference {worst:.2g})")
    target = Target(options.target, options.threads, options.batch_size)
    target.check_available()
    example = target.example(tuple(images.shape[1:]))
    runner = (file_runner(session(data, target.threads), example, target.timer) if target.kind == "onnxruntime"
              else target.runner(network.to(target.device), example))
    found = measure({"model": runner}, Protocol())["model"]
    threads = f"{target.threads} thread(s), " if target.kind != "cuda" else ""
    print(f"latency on {target.kind} ({threads}batch {target.batch_size}, {target.clock} clock): {found.ms:.3f} ms "
          f"(spread {100 * found.spread:.1f}%, {found.repeats} samples)")
    return 0


def _option(args: list[str], name: str) -> str | None:
    """The value of ``--name VALUE`` or ``--name=VALUE`` in ``args`` (the last one), else ``None``."""
    found = None
    for i, arg in enumerate(args):
        if arg == name and i + 1 < len(args):
            found = args[i + 1]
        elif arg.startswith(f"{name}="):
            found = arg.split("=", 1)[1]
    return found

