"""A space of your own that builds networks (``chain_space.ChainSpace``), given in a search config in class_path
form, is searched by ``nsga-lightning search`` with the built-in trainer evaluator: every candidate is trained as a
``LightningModule``, the Pareto configs name the space in class_path form and train with ``nsga-lightning fit``, the
report says in one line that the space draws nothing, and running the command again finds the search complete."""

from __future__ import annotations

from pathlib import Path

import yaml
from e2e_helpers import run_cli, write_search

from nsga_lightning.search import Archive

ONE_EPOCH = ["--trainer.max_epochs", "1", "--trainer.limit_train_batches", "2", "--trainer.limit_val_batches", "1",
             "--trainer.enable_progress_bar", "false", "--trainer.enable_model_summary", "false"]
SPACE = {"class_path": "chain_space.ChainSpace", "init_args": {"max_depth": 2}}


def test_a_class_path_space_trains_through_the_trainer_and_its_pareto_configs_fit(workdir: Path,
                                                                                   one_intra_op_thread) -> None:
    config = write_search(workdir, "micro")  # the data files and a micro config, made into one of the chain space
    blocks = yaml.safe_load(config.read_text())
    blocks.update(space=SPACE, model={"network_options": {"scale": 2}},
                  retrain={"model": {"network_options": {"scale": 1}}, "trainer": {"max_epochs": 1}})
    config.write_text(yaml.safe_dump(blocks))
    searched = run_cli("search", "--config", str(config))
    assert searched.code == 0, searched.err
    with Archive(workdir / "run") as archive:
        rows = archive.rows()
        stored = archive.config()
    assert rows and all(r.is_ok and r.key.startswith("chain-") for r in rows), [r.error_text for r in rows]
    assert all(set(r.objectives) == {"error", "madds", "params"} and r.objectives["params"] > 0 for r in rows)
    assert stored["space"] == {"name": "chain", "max_depth": 2, "widths": [4, 8], "kernels": [1, 3],
                               "class_path": "chain_space.ChainSpace"}
    written = sorted((workdir / "run" / "pareto").glob("*.yaml"))
    assert written
    model = yaml.safe_load(written[0].read_text())["model"]
    assert model["space"] == SPACE and model["network_options"] == {"scale": 1} and set(model["genotype"]) == {
        "depth", "width", "kernel"}
    fitted = run_cli("fit", "--config", str(written[0]), *ONE_EPOCH)
    assert fitted.code == 0, fitted.err[-2000:]
    reported = run_cli("report", "run")
    assert reported.code == 0, reported.err
    assert "no drawing: the chain space does not draw its architectures" in (workdir / "run" / "report.html").read_text()
    drawn = run_cli("draw", str(written[0]), "-o", "chain.png")  # its genotype is read back; the space cannot draw
    assert drawn.code == 2 and "the chain space does not draw its architectures" in drawn.err
    assert len(drawn.err.strip().splitlines()) == 1
    again = run_cli("search", "--config", str(config))
    assert again.code == 0 and "search already complete" in again.out
