"""ParetoOutputs: pareto.csv, pareto.png and one fit config per Pareto architecture, kept current per
generation; a search found complete only restores what is missing."""

from __future__ import annotations

import csv

import yaml

from nsga_lightning.callbacks import ParetoOutputs
from nsga_lightning.search import pareto_front
from nsga_lightning.search.assemble.retrain import RetrainSettings
from nsga_lightning.search.store.run_directory import RunDirectory

DATA = {"class_path": "nsga_lightning.data.DigitsDataModule", "init_args": {"image_size": 16, "val_split": 0.2}}


def _outputs() -> ParetoOutputs:
    return ParetoOutputs(("error", "madds"), RetrainSettings(model={"init_channels": 8}, trainer={"max_epochs": 2}),
                         DATA)


def test_the_outputs_hold_the_front_of_the_archive(make_search):
    with make_search([_outputs()]) as runner:
        runner.run()
        front = pareto_front(runner.archive.rows(), ("error", "madds"))
    run = RunDirectory(runner.run_dir)
    with run.pareto_csv.open() as handle:
        assert [row["key"] for row in csv.DictReader(handle)] == [r.key for r in front]
    assert run.pareto_png.stat().st_size > 1000
    configs = sorted(p.stem for p in run.pareto_configs.glob("*.yaml"))
    assert configs == sorted(r.key for r in front)
    text = run.pareto_config(front[0].key).read_text()
    assert run.retrain_command(front[0].key) in text.splitlines()[1]
    config = yaml.safe_load(text)
    assert config["model"]["init_channels"] == 8 and config["trainer"]["max_epochs"] == 2
    assert config["data"]["init_args"] == {**DATA["init_args"], "val_split": 0}  # the whole training set


def test_configs_of_architectures_that_left_the_front_are_removed(make_search):
    outputs = _outputs()
    with make_search([outputs]) as runner:
        runner.run()
        run = RunDirectory(runner.run_dir)
        stale = run.pareto_config("micro-000000000000")
        stale.write_text("old")
        outputs.write(run, "micro", runner.archive)
    assert not stale.exists()


def test_a_complete_search_rewrites_nothing_but_restores_missing_outputs(make_search):
    with make_search([_outputs()]) as runner:
        runner.run()
    run = RunDirectory(runner.run_dir)
    times = {p: p.stat().st_mtime_ns for p in (run.pareto_csv, *run.pareto_configs.glob("*.yaml"))}
    run.pareto_png.unlink()
    with make_search([_outputs()]) as runner:
        assert runner.run().status == "already complete"
    assert run.pareto_png.is_file()
    assert {p: p.stat().st_mtime_ns for p in times} == times
