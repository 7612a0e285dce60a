"""Every ``pareto/<key>.yaml`` a search writes trains as written on the search's own data: micro and macro,
on the digits (16x16, the quickstart's recipe) and on CIFAR-format files (32x32, with the auxiliary head).

Each config gets one epoch (a few batches) through ``nsga-lightning fit``: the recipe, the data block and the
genotype are used exactly as the search wrote them."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from e2e_helpers import run_cli, write_search

from nsga_lightning.cli.presets import preset_path

ONE_EPOCH = ["--trainer.max_epochs", "1", "--trainer.limit_train_batches", "2", "--trainer.limit_val_batches", "1",
             "--trainer.enable_progress_bar", "false", "--trainer.enable_model_summary", "false"]


def _digits_search(folder: Path, space: str) -> Path:
    """The quickstart preset, shrunk to 4 + 2 candidates of a tiny proxy; its retrain recipe kept."""
    config = yaml.safe_load(preset_path("quickstart").read_text())
    config["search"].update(pop_size=4, n_offspring=2, n_gens=2, run_dir="run")
    config["model"].update(init_channels=4, layers=3)
    config["trainer"].update(max_epochs=1, limit_train_batches=2)
    config["data"]["init_args"].update(batch_size=128)
    config["progress_bar"] = False
    config["num_threads"] = 1
    if space == "macro":
        config["space"] = {"name": "macro", "n_nodes": 4}
        config["model"] = {"init_channels": 4, "learning_rate": 0.05}
        config["retrain"]["model"] = {"channels": [8, 16, 16], "decoder": "dense"}
    else:
        config["retrain"]["model"]["init_channels"] = 4  # the quickstart's 8 cells and head settings stay
    path = folder / "search.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


@pytest.mark.parametrize(("data", "space"), [("digits", "micro"), ("digits", "macro"), ("cifar", "micro"),
                                             ("cifar", "macro")])
def test_every_pareto_config_trains_one_epoch_as_written(data, space, tmp_path, monkeypatch, one_intra_op_thread):
    monkeypatch.chdir(tmp_path)
    config = _digits_search(tmp_path, space) if data == "digits" else write_search(tmp_path, space)
    searched = run_cli("search", "--config", str(config))
    assert searched.code == 0, searched.err
    written = sorted((tmp_path / "run" / "pareto").glob("*.yaml"))
    assert written
    recipe = yaml.safe_load(config.read_text())["retrain"]["model"]
    for path in written:
        model = yaml.safe_load(path.read_text())["model"]
        assert {k: model[k] for k in recipe} == recipe  # the recipe as the search config gave it
        fitted = run_cli("fit", "--config", str(path), *ONE_EPOCH)
        assert fitted.code == 0, f"{path.name}: {fitted.err[-2000:]}"
        assert (tmp_path / "runs" / f"retrain-{path.stem}" / "version_0" / "checkpoints" / "last.ckpt").is_file()
