"""ArchitectureModule: the one LightningModule for any genotype of either search space."""

from __future__ import annotations

import inspect
import logging
from collections.abc import Mapping
from typing import Any, Literal

import torch
import torch.nn.functional as F
from lightning.pytorch import LightningModule
from torchmetrics.classification import MulticlassAccuracy
from typing_extensions import override

from nsga_lightning.nn import build_network, count_madds, count_parameters
from nsga_lightning.spaces import NetworkSpace, space_from_block

log = logging.getLogger(__name__)

Genotype = str | list[int] | list[list[list[int]]] | dict[str, Any]


class ArchitectureModule(LightningModule):
    """Train, validate, test and predict with a network decoded from a genotype.

    The defaults are the original NSGA-Net recipe: SGD (lr 0.025, momentum 0.9, weight decay 3e-4) with a
    cosine schedule to ``min_learning_rate`` over ``max_epochs``, stepped once per epoch *after* the
    optimizer (the original stepped it first, wasting its last epoch at lr 0). Gradient clipping (5 in the
    original) is a Trainer flag: ``gradient_clip_val``. LightningCLI's ``--optimizer``/``--lr_scheduler``
    replace the recipe when given. Drop path ramps linearly when the ``DropPathSchedule`` callback is used.
    When training is bounded by ``max_steps`` only (``max_epochs=-1``), the cosine runs per step instead.

    Logged: ``train/loss`` (epoch mean), ``train/loss_step`` (progress bar), ``train/acc``, ``train/lr`` (the
    rate of each epoch), ``val/loss``, ``val/acc``, ``val/error``, ``test/loss``, ``test/acc``,
    ``test/acc_top5``, ``test/error`` (errors in percent), and once ``model/params``, ``model/params_total``,
    ``model/madds``. Nothing synchronises processes per step: metrics accumulate with ``update()`` and
    distributed reductions happen once per epoch.

    Args:
        space: ``"micro"`` (cells) or ``"macro"`` (phases), or a space of your own in class_path form
            (``{"class_path": "my_pkg.MySpace", "init_args": {...}}``) whose ``build_network(genotype, num_classes,
            **network_options)`` builds the network (:class:`~nsga_lightning.spaces.NetworkSpace`; it returns logits
            or ``(logits, aux_logits)``); the micro and macro options below then keep their defaults.
        genotype: a zoo name (``"NSGANet"``, ``"DARTS"``, ...), a genome (list of ints; macro also nested
            per phase) or a genotype mapping (micro: ``normal``/``normal_concat``/``reduce``/``reduce_concat``;
            macro: ``genome`` and ``n_nodes``); for a space of your own, its stored genotype (``genotype_to_data``).
        num_classes: number of classes (taken from the datamodule by the CLI and the search).
        init_channels: initial channels C (micro cifar stem has 3C, imagenet stem C; macro default phases C, 2C, 4C).
        layers: number of micro cells (reductions at L//3 and 2L//3).
        filter_increment: ``None`` for the search-time micro network (channels double at reductions), or the
            per-cell channel increment of the final (pyramid) network.
        se: squeeze-and-excitation after every micro cell.
        auxiliary: CIFAR auxiliary head on cell 2L//3 (micro only).
        auxiliary_weight: weight of the auxiliary loss.
        drop_path_prob: drop-path probability; ``DropPathSchedule`` ramps it linearly from 0 over the
            epochs (without that callback it is constant).
        decoder: macro phase decoder, ``"residual"`` (search) or ``"dense"`` (published model).
        channels: macro output channels per phase (default ``[C, 2C, 4C]``; the published model uses
            ``[128, 128, 128]``).
        n_nodes: macro nodes per phase (for genomes given as a flat list).
        image_size: side of the square input images (the datamodule's ``image_size``, taken by the CLI:
            32 for CIFAR, the digits' ``image_size``). The network is checked for it when built: a size it
            cannot process with its stem (e.g. the CIFAR auxiliary head, which needs 32x32 to 40x40 images, on
            16x16 digits) is a ``ValueError`` naming the option to change. MAdds are counted at this size.
        in_channels: channels of the input images (taken from the datamodule's ``in_channels`` by the CLI, or
            from one training batch when it has none): 3 for RGB (the published models), 1 for grey, 4 or more
            for e.g. multispectral images.
        stem: ``"cifar"`` (the published models': the cells or phases start at the image size),
            ``"imagenet"`` (NASNet's/DARTS' ImageNet stems for micro, two stride-2 convolutions and a max pool
            for macro: the side divided by 8 first, 224 -> 28) or ``"auto"``: imagenet for images of 96 pixels or
            more, else cifar (see :mod:`nsga_lightning.nn.input_size` for the sizes each stem takes).
        learning_rate: initial SGD learning rate.
        momentum: SGD momentum.
        weight_decay: SGD weight decay (applied to every parameter, as in the original).
        min_learning_rate: the cosine schedule's final learning rate.
        log_complexity: compute parameters and MAdds at the start of fit/test and log them once.
        network_options: keyword arguments of a space of your own's ``build_network`` (none for micro or macro).

    Raises:
        ValueError: for bad option values (the message lists what is allowed).
        KeyError: for an unknown zoo name (listing the known ones).
    """

    def __init__(
        self,
        space: str | dict[str, Any] = "micro",
        genotype: Genotype = "NSGANet",
        num_classes: int = 10,
        init_channels: int = 16,
        layers: int = 8,
        filter_increment: int | None = None,
        se: bool = False,
        auxiliary: bool = False,
        auxiliary_weight: float = 0.4,
        drop_path_prob: float = 0.0,
        decoder: Literal["residual", "dense"] = "residual",
        channels: list[int] | None = None,
        n_nodes: int = 6,
        image_size: int = 32,
        in_channels: int = 3,
        stem: Literal["auto", "cifar", "imagenet"] = "auto",
        learning_rate: float = 0.025,
        momentum: float = 0.9,
        weight_decay: float = 3e-4,
        min_learning_rate: float = 0.0,
        log_complexity: bool = True,
        network_options: dict[str, Any] | None = None,
    ) -> None:
        super().__init__()
        if not 0.0 <= drop_path_prob < 1.0:
            raise ValueError(f"drop_path_prob must be in [0, 1), got {drop_path_prob}")
        if auxiliary_weight < 0:
            raise ValueError(f"auxiliary_weight must be >= 0, got {auxiliary_weight}")
        if learning_rate <= 0 or min_learning_rate < 0 or weight_decay < 0 or not 0 <= momentum < 1:
            raise ValueError(
                "need learning_rate > 0, min_learning_rate >= 0, weight_decay >= 0 and momentum in [0, 1); got "
                f"{learning_rate}, {min_learning_rate}, {weight_decay}, {momentum}"
            )
        self.save_hyperparameters()
        options = {"init_channels": init_channels, "layers": layers, "filter_increment": filter_increment, "se": se,
                   "auxiliary": auxiliary, "decoder": decoder, "channels": channels, "n_nodes": n_nodes}
        if not isinstance(space, Mapping) and space not in ("micro", "macro"):
            # typed str, not a Literal: jsonargparse would answer a union error listing every member
            raise ValueError(f"model.space must be micro, macro or a space of your own as {{class_path: ..., "
                             f"init_args: ...}}; got {space!r}")
        if isinstance(space, Mapping):
            self.network = own_network(space, genotype, num_classes, options, network_options)
        elif network_options:
            raise ValueError("network_options go to the build_network of a space of your own (space in class_path "
                             "form); the micro and macro networks take the options of this module")
        else:
            self.network = build_network(space, genotype, num_classes=num_classes, image_size=image_size,
                                         in_channels=in_channels, stem=stem, **options)
        # Constant unless DropPathSchedule ramps it from 0 (as the original's training scripts do).
        self.network.drop_path_prob = drop_path_prob
        top5 = min(5, num_classes)
        self.train_acc = MulticlassAccuracy(num_classes, average="micro")
        self.val_acc = MulticlassAccuracy(num_classes, average="micro")
        self.test_acc = MulticlassAccuracy(num_classes, average="micro")
        self.test_acc_top5 = MulticlassAccuracy(num_classes, top_k=top5, average="micro")
        self.complexity: dict[str, int] = {}
        self._complexity_logged = False

    @override
    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """Class logits ``(N, num_classes)`` for images ``(N, in_channels, H, W)``."""
        logits, _ = self._outputs(images)
        return logits

    def _outputs(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """The network's logits and auxiliary logits (``None`` for a network without an auxiliary head)."""
        out = self.network(images)
        return out if isinstance(out, tuple) else (out, None)

    def _loss(self, images: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        logits, aux_logits = self._outputs(images)
        loss = F.cross_entropy(logits, labels)
        if aux_logits is not None:
            loss = loss + self.hparams.auxiliary_weight * F.cross_entropy(aux_logits, labels)
        return loss, logits

    @override
    def training_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> torch.Tensor:
        images, labels = batch
        loss, logits = self._loss(images, labels)
        # update() only accumulates; calling the metric would also compute a per-batch value nobody logs.
        self.train_acc.update(logits.detach(), labels)
        loss_value, n = loss.detach(), len(labels)
        # The step value is never synchronised across processes (no per-step collective); the epoch mean
        # ``train/loss`` is, once per epoch.
        self.log("train/loss_step", loss_value, prog_bar=True, on_step=True, on_epoch=False, batch_size=n)
        self.log("train/loss", loss_value, on_step=False, on_epoch=True, sync_dist=True, batch_size=n)
        self.log("train/acc", self.train_acc, on_step=False, on_epoch=True)
        return loss

    @override
    def on_train_epoch_start(self) -> None:
        """Log the learning rate this epoch trains with (the scheduler steps after the epoch's optimizer steps)."""
        if self.trainer.optimizers:
            lr = float(self.trainer.optimizers[0].param_groups[0]["lr"])
            self.log("train/lr", lr, on_step=False, on_epoch=True, sync_dist=True, batch_size=1)

    @override
    def validation_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> None:
        images, labels = batch
        logits = self(images)
        self.val_acc.update(logits, labels)
        self.log("val/loss", F.cross_entropy(logits, labels), on_epoch=True, sync_dist=True, batch_size=len(labels))
        self.log("val/acc", self.val_acc, on_epoch=True, prog_bar=True)

    @override
    def on_validation_epoch_end(self) -> None:
        """Log the top-1 error in percent (``val/error``, what checkpoints and the search monitor)."""
        # compute() already gathers the metric's state over all processes; Lightning resets it afterwards.
        self.log("val/error", 100.0 * (1.0 - self.val_acc.compute()), prog_bar=True, sync_dist=True)

    @override
    def test_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> None:
        images, labels = batch
        logits = self(images)
        self.test_acc.update(logits, labels)
        self.test_acc_top5.update(logits, labels)
        self.log("test/loss", F.cross_entropy(logits, labels), on_epoch=True, sync_dist=True, batch_size=len(labels))
        self.log("test/acc", self.test_acc, on_epoch=True)
        self.log("test/acc_top5", self.test_acc_top5, on_epoch=True)

    @override
    def on_test_epoch_end(self) -> None:
        """Log the top-1 test error in percent (``test/error``)."""
        self.log("test/error", 100.0 * (1.0 - self.test_acc.compute()), sync_dist=True)

    @override
    def predict_step(self, batch: Any, batch_idx: int, dataloader_idx: int = 0) -> torch.Tensor:
        """Predicted class indices ``(N,)`` for a batch of images (labels, if present, are ignored)."""
        images = batch[0] if isinstance(batch, (tuple, list)) else batch
        return self(images).argmax(dim=1)

    @override
    def configure_optimizers(self) -> dict[str, Any]:
        hp = self.hparams
        optimizer = torch.optim.SGD(
            self.parameters(), lr=hp.learning_rate, momentum=hp.momentum, weight_decay=hp.weight_decay
        )
        # Lightning steps an "epoch" scheduler after the epoch's last optimizer step: epoch e trains with
        # eta_min + (lr - eta_min) * (1 + cos(pi * e / E)) / 2, and the last epoch's rate is still > 0.
        interval, length = "epoch", self.trainer.max_epochs or -1
        if length <= 0:  # training bounded by max_steps only: the same cosine over the steps
            interval, length = "step", max(int(self.trainer.max_steps), 1)
        scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=length, eta_min=hp.min_learning_rate)
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": interval}}

    def compute_complexity(self) -> dict[str, int]:
        """Parameters without and with the auxiliary head, and MAdds of one image of the size and channels the
        network is built for (``image_size``, ``in_channels``; cached on the module)."""
        if not self.complexity:
            self.complexity = {
                "params": count_parameters(self.network),
                "params_total": count_parameters(self.network, include_auxiliary=True),
                "madds": count_madds(self.network, input_size=self._input_shape()),
            }
        return self.complexity

    def _input_shape(self) -> tuple[int, int, int, int]:
        """One image as the network is built for it: its own ``input_shape()``, or for a network of a space of your
        own ``(1, in_channels, image_size, image_size)``."""
        shape_of = getattr(self.network, "input_shape", None)
        if callable(shape_of):
            return shape_of()
        return (1, int(self.hparams.in_channels), int(self.hparams.image_size), int(self.hparams.image_size))

    def _log_complexity(self) -> None:
        """Log parameters and MAdds once (rank zero only: the other processes would trace for nothing)."""
        if self._complexity_logged or not self.hparams.log_complexity or self.logger is None:
            return
        self._complexity_logged = True
        if not self.trainer.is_global_zero:
            return
        values = self.compute_complexity()
        self.logger.log_metrics({f"model/{name}": float(v) for name, v in values.items()}, step=0)

    @override
    def on_fit_start(self) -> None:
        self._log_complexity()

    @override
    def on_test_start(self) -> None:
        self._log_complexity()


def own_network(space: Mapping[str, Any], genotype: Any, num_classes: int, options: Mapping[str, Any],
                network_options: Mapping[str, Any] | None) -> torch.nn.Module:
    """The network of a space of your own (class_path form) from its stored genotype.

    Raises:
        ValueError: one line if the space builds no networks, a micro or macro option is set, or the space's
            ``build_network`` returns no ``torch.nn.Module``.
    """
    own = space_from_block(space, "model.space")
    if not isinstance(own, NetworkSpace):
        raise ValueError(f"the {own.name} space builds no networks (a space builds them with build_network(genotype, "
                         "num_classes, **options)): search it with your own evaluator")
    defaults = inspect.signature(ArchitectureModule).parameters
    changed = [name for name, value in options.items() if value != defaults[name].default]
    if changed:
        raise ValueError(f"{', '.join(changed)} are options of the micro and macro networks; a space of your own "
                         "takes network_options")
    network = own.build_network(own.genotype_from_data(genotype), num_classes=num_classes, **(network_options or {}))
    if not isinstance(network, torch.nn.Module):
        raise ValueError(f"the {own.name} space's build_network returned a {type(network).__name__}, not a "
                         "torch.nn.Module")
    return network
