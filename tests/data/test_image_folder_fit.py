"""ImageFolderDataModule inside a real Trainer (CPU) and through ``nsga-lightning fit`` and ``search``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import lightning as L
import pytest
import torch
import torch.nn.functional as F
import yaml
from image_folder_helpers import COLOUR_40, COLOUR_96, GREY_28, readme_block, write_image_folder
from torch import nn

from nsga_lightning.cli import main
from nsga_lightning.data import ImageFolderDataModule


class TinyConvNet(L.LightningModule):
    """One convolution and a linear head, sized from the datamodule's contract; records its inputs."""

    def __init__(self, in_channels: int, num_classes: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_channels, 4, 3, padding=1)
        self.head = nn.Linear(4, num_classes)
        self.train_inputs: list[torch.Tensor] = []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(F.adaptive_avg_pool2d(F.relu(self.conv(x)), 1).flatten(1))

    def training_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> torch.Tensor:
        x, y = batch
        self.train_inputs.append(x.detach())
        return F.cross_entropy(self(x), y)

    def validation_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> None:
        x, y = batch
        self.log("val_acc", (self(x).argmax(1) == y).float().mean())

    def test_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> None:
        x, y = batch
        self.log("test_acc", (self(x).argmax(1) == y).float().mean())

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.SGD(self.parameters(), lr=0.05)


@pytest.mark.parametrize(("spec", "options"), [
    (GREY_28, {}),
    (COLOUR_96, {"cache_limit_mb": 0, "num_workers": 0}),  # streamed from disk
    (COLOUR_40, {"image_size": 32, "cutout": True}),
], ids=["grey-28", "colour-96-streamed", "colour-40-resized"])
def test_fit_validate_and_test_in_a_trainer(tmp_path: Path, spec: dict, options: dict[str, Any]) -> None:
    write_image_folder(tmp_path / "data", **spec)
    dm = ImageFolderDataModule(str(tmp_path / "data"), batch_size=4, val_split=2, test_split=2, **options)
    model = TinyConvNet(dm.in_channels, dm.num_classes)
    trainer = L.Trainer(accelerator="cpu", devices=1, max_epochs=1, logger=False, enable_checkpointing=False,
                        enable_progress_bar=False, enable_model_summary=False, default_root_dir=tmp_path)
    L.seed_everything(0, verbose=False)
    trainer.fit(model, datamodule=dm)
    size = options.get("image_size", spec["size"])
    first = model.train_inputs[0]
    assert first.dtype == torch.float32 and first.shape == (4, dm.in_channels, size, size)
    assert float(first.min()) < 0.0 < float(first.max())  # normalised (uint8 images scaled to 0..1 are >= 0)
    assert "val_acc" in trainer.callback_metrics
    (result,) = trainer.test(model, datamodule=dm, verbose=False)
    assert 0.0 <= result["test_acc"] <= 1.0


def test_fit_command_trains_a_micro_network_on_colour_images(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                            one_intra_op_thread: None) -> None:
    write_image_folder(tmp_path / "images", **COLOUR_40)
    monkeypatch.chdir(tmp_path)
    code = main(["fit", "--model.genotype", "NSGANet", "--model.init_channels", "8", "--model.layers", "5",
                 "--trainer.max_epochs", "1", "--trainer.accelerator", "cpu", "--trainer.enable_progress_bar",
                 "false", "--trainer.enable_model_summary", "false",
                 "--data", "nsga_lightning.data.ImageFolderDataModule", "--data.root", "images",
                 "--data.batch_size", "8", "--data.val_split", "3"])
    assert code == 0
    (version,) = (tmp_path / "runs" / "train").glob("version_*")
    assert (version / "checkpoints" / "last.ckpt").is_file()
    hparams = yaml.safe_load((version / "hparams.yaml").read_text())
    assert hparams["num_classes"] == 3 and hparams["image_size"] == 40  # both linked from the image folder
    config = yaml.safe_load((version / "config.yaml").read_text())
    assert config["data"]["class_path"] == "nsga_lightning.data.ImageFolderDataModule"


def test_the_readme_search_config_searches_an_image_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                           one_intra_op_thread: None) -> None:
    """The README's config as written, on a folder at its path, with a tiny budget: the retrain configs
    train on all of root."""
    write_image_folder(tmp_path / "my-images" / "train", **COLOUR_40)  # 40x40, resized to 32 by the config
    monkeypatch.chdir(tmp_path)
    (tmp_path / "my-search.yaml").write_text(readme_block("Search on your own data", "yaml"))
    tiny = ["--search.pop_size", "2", "--search.n_offspring", "1", "--search.n_gens", "1",
            "--model.init_channels", "4", "--model.layers", "3",
            "--trainer", "{max_epochs: 1, accelerator: cpu}", "--progress_bar", "false"]
    assert main(["search", "--config", "my-search.yaml", *tiny]) == 0
    retrain_configs = sorted((tmp_path / "runs" / "my-images" / "pareto").glob("*.yaml"))
    assert retrain_configs
    data = yaml.safe_load(retrain_configs[0].read_text())["data"]
    assert data["class_path"] == "nsga_lightning.data.ImageFolderDataModule"
    assert data["init_args"]["root"] == "my-images/train" and data["init_args"]["val_split"] == 0
