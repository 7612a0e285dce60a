"""``nsga-lightning search`` end to end, micro and macro: every output of a finished search, the retraining
configs run as they are, TensorBoard read back, resume and a changed configuration."""

from __future__ import annotations

import csv
import json
import shutil
import sqlite3
import struct
from pathlib import Path

import pytest
import yaml
from e2e_helpers import N_CANDIDATES, N_GENS, N_OFFSPRING, POP_SIZE, SearchRun, run_cli
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.plugins.hparams import plugin_data_pb2

from nsga_lightning.search import Archive, pareto_front
from nsga_lightning.spaces import make_space

SEARCH_SCALARS = ("hypervolume", "best_error", "smallest_madds", "evaluated", "cached", "failed")


def _rows(run: SearchRun):
    with Archive(run.run_dir) as archive:
        return archive.rows(), archive.generations()


def _space(run: SearchRun):
    spec = yaml.safe_load(run.config.read_text())["space"]
    return make_space(spec["name"], n_blocks=spec.get("n_blocks", 5), n_nodes=spec.get("n_nodes", 6))


def _accumulator(folder: Path) -> EventAccumulator:
    accumulator = EventAccumulator(str(folder), size_guidance={"scalars": 0, "images": 0})
    accumulator.Reload()
    return accumulator


def test_search_trains_the_budget_and_prints_the_front(finished_search: SearchRun):
    rows, generations = _rows(finished_search)
    assert len(rows) == N_CANDIDATES and all(row.is_ok for row in rows)
    assert [g.generation for g in generations] == list(range(N_GENS))
    assert len({row.key for row in rows}) == N_CANDIDATES
    space = _space(finished_search)
    assert all(space.key(row.genome) == row.key for row in rows)
    # the errors are real measurements on the 20 held-out images: multiples of 5%
    assert all(0.0 <= row.objectives["error"] <= 100.0 for row in rows)
    assert all(abs(row.objectives["error"] / 5.0 - round(row.objectives["error"] / 5.0)) < 1e-3 for row in rows)
    assert all(row.objectives["madds"] > 0 and row.objectives["params"] > 0 for row in rows)
    out = finished_search.first.out
    assert f"{N_CANDIDATES} architectures trained in this session, {N_CANDIDATES} in the archive" in out
    for row in pareto_front(rows, ("error", "madds")):
        assert row.key in out
    assert "Traceback" not in finished_search.first.err
    assert (finished_search.run_dir / "config.yaml").is_file()


def test_pareto_csv_holds_the_front_of_the_archive(finished_search: SearchRun):
    rows, _ = _rows(finished_search)
    front = pareto_front(rows, ("error", "madds"))
    with (finished_search.run_dir / "pareto.csv").open() as handle:
        table = list(csv.DictReader(handle))
    assert list(table[0]) == ["key", "generation", "seed", "error", "madds", "params", "seconds", "genome"]
    assert [line["key"] for line in table] == [row.key for row in front]
    by_key = {row.key: row for row in rows}
    space = _space(finished_search)
    for line in table:
        row = by_key[line["key"]]
        assert float(line["error"]) == pytest.approx(row.objectives["error"])
        assert int(float(line["madds"])) == int(row.objectives["madds"])
        assert int(line["generation"]) == row.generation and int(line["seed"]) == row.seed
        assert space.key(json.loads(line["genome"])) == row.key
    errors = [float(line["error"]) for line in table]
    assert errors == sorted(errors)


def test_pareto_png_is_a_real_png(finished_search: SearchRun):
    data = (finished_search.run_dir / "pareto.png").read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    assert width >= 300 and height >= 200


def test_every_pareto_architecture_has_a_readable_training_config(finished_search: SearchRun):
    rows, _ = _rows(finished_search)
    front = pareto_front(rows, ("error", "madds"))
    folder = finished_search.run_dir / "pareto"
    assert sorted(p.stem for p in folder.glob("*.yaml")) == sorted(row.key for row in front)
    retrain = yaml.safe_load(finished_search.config.read_text())["retrain"]
    for row in front:
        text = (folder / f"{row.key}.yaml").read_text()
        error, madds = row.objectives["error"], row.objectives["madds"] / 1e6
        assert text.startswith(f"# {row.key}: error {error:.2f}%, madds {madds:.2f}M, params ")
        config = yaml.safe_load(text)
        assert config["model"]["space"] == finished_search.space
        for name, value in retrain["model"].items():
            assert config["model"][name] == value
        assert config["trainer"]["max_epochs"] == retrain["trainer"]["max_epochs"]
        assert config["data"]["init_args"]["val_split"] == 0  # final training uses the whole training set
        assert config["trainer"]["logger"]["init_args"]["name"] == f"retrain-{row.key}"
        if finished_search.space == "micro":
            assert "\n    - [" in text  # units as one-line [op, input] pairs
            assert config["model"]["genotype"] == row.genotype
        else:
            assert config["model"]["genotype"] == {"genome": row.genome, "n_nodes": 4}
            assert f"genome: [{', '.join(map(str, row.genome))}]" in text


def test_pareto_configs_are_accepted_by_fit_and_one_trains(finished_search: SearchRun):
    configs = sorted((finished_search.run_dir / "pareto").glob("*.yaml"))
    for path in configs:
        result = run_cli("fit", "--config", str(path), "--print_config")
        assert result.code == 0, result.err
        printed = yaml.safe_load(result.out)
        assert printed["model"]["space"] == finished_search.space
    path = configs[0]
    result = run_cli("fit", "--config", str(path), "--trainer.max_epochs", "1", "--trainer.limit_train_batches", "2",
                     "--data.init_args.batch_size", "8", "--trainer.enable_progress_bar", "false")
    assert result.code == 0, result.err
    version = Path("runs") / f"retrain-{path.stem}" / "version_0"
    assert (version / "checkpoints" / "last.ckpt").is_file()
    assert "epoch" in _accumulator(version).Tags()["scalars"]


def test_tensorboard_has_the_search_curves_and_every_candidate_run(finished_search: SearchRun):
    rows, _ = _rows(finished_search)
    search = _accumulator(finished_search.run_dir / "tensorboard" / "search")
    for name in SEARCH_SCALARS:
        assert [event.step for event in search.Scalars(f"search/{name}")] == list(range(N_GENS))
    evaluated = [event.value for event in search.Scalars("search/evaluated")]
    assert evaluated == [POP_SIZE] + [N_OFFSPRING] * (N_GENS - 1)
    hypervolume = [event.value for event in search.Scalars("search/hypervolume")]
    assert 0.0 < hypervolume[0] <= hypervolume[-1] <= 1.0  # the front only improves
    best = [event.value for event in search.Scalars("search/best_error")]
    assert best[-1] == pytest.approx(min(row.objectives["error"] for row in rows), abs=1e-4)
    assert [event.value for event in search.Scalars("search/failed")] == [0.0] * N_GENS
    images = search.Tags()["images"]
    assert [event.step for event in search.Images("search/pareto")] == list(range(N_GENS))
    front = pareto_front(rows, ("error", "madds"))
    assert {f"pareto/{row.key}" for row in front} <= set(images)
    for row in rows:
        run = _accumulator(finished_search.run_dir / "tensorboard" / "candidates" / row.key)
        assert run.Scalars("hp/error")[-1].value == pytest.approx(row.objectives["error"], abs=1e-3)
        assert run.Scalars("hp/madds")[-1].value == pytest.approx(row.objectives["madds"], rel=1e-6)
        assert "val/error" in run.Tags()["scalars"] and "train/loss" in run.Tags()["scalars"]
        content = run.PluginTagToContent("hparams")["_hparams_/session_start_info"]
        hparams = plugin_data_pb2.HParamsPluginData.FromString(content).session_start_info.hparams
        assert hparams["key"].string_value == row.key
        assert hparams["seed"].number_value == row.seed
        assert hparams["generation"].number_value == row.generation
        assert hparams["genome"].string_value == " ".join(map(str, row.genome))


def test_search_print_config_and_command_line_overrides(finished_search: SearchRun):
    result = run_cli("search", "--config", str(finished_search.config), "--search.pop_size", "6",
                     "--trainer", '{"max_epochs": 3}', "--print_config")
    assert result.code == 0, result.err
    printed = yaml.safe_load(result.out)
    assert printed["search"]["pop_size"] == 6 and printed["trainer"] == {"max_epochs": 3}
    assert printed["space"]["name"] == finished_search.space
    assert printed["data"]["class_path"] == "nsga_lightning.data.CIFAR10DataModule"


def test_running_a_finished_search_again_trains_nothing(finished_search: SearchRun):
    """Nothing is trained or rewritten: the archive rows, the outputs, the stored config and the TensorBoard
    folders stay as they were (no new event file)."""
    run = finished_search.run_dir
    before = sqlite3.connect(run / "archive.sqlite").execute(
        "SELECT key, created FROM architectures ORDER BY key").fetchall()
    files = {p: p.stat().st_mtime_ns for p in run.rglob("*") if p.is_file() and p.name != "search.lock"}
    result = run_cli("search", "--config", str(finished_search.config))
    assert result.code == 0, result.err
    front = result.out.count("  micro-") + result.out.count("  macro-")
    assert f"search already complete ({N_CANDIDATES} architectures, {front} on the front); outputs are up to date" \
        in result.out
    after = sqlite3.connect(run / "archive.sqlite").execute(
        "SELECT key, created FROM architectures ORDER BY key").fetchall()
    assert after == before
    now = {p: p.stat().st_mtime_ns for p in run.rglob("*") if p.is_file() and p.name != "search.lock"}
    assert set(now) - set(files) <= {p for p in now if p.name.startswith("archive.sqlite-")}  # WAL files only
    changed = [p.name for p in files if now.get(p) != files[p] and not p.name.startswith("archive.sqlite")]
    assert changed == []


def test_a_finished_search_extended_with_more_generations_trains_only_the_new_ones(
        finished_search: SearchRun, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    shutil.copytree(finished_search.folder, tmp_path / "copy")  # the shared search stays as it is
    monkeypatch.chdir(tmp_path / "copy")
    result = run_cli("search", "--config", "search.yaml", "--search.n_gens", str(N_GENS + 1))
    assert result.code == 0, result.err
    assert f"{N_OFFSPRING} architectures trained in this session, {N_CANDIDATES + N_OFFSPRING} in the archive" \
        in result.out
    assert f"n_gens: {N_GENS + 1}" in (tmp_path / "copy" / "run" / "config.yaml").read_text()


def test_a_changed_configuration_is_refused_with_one_line(finished_search: SearchRun):
    result = run_cli("search", "--config", str(finished_search.config), "--trainer.max_epochs", "2")
    assert result.code == 2
    lines = result.err.strip().splitlines()
    assert len(lines) == 1, result.err
    assert lines[0].startswith("nsga-lightning: error: the run directory run holds a search with a different")
    assert "trainer.max_epochs: stored 1 -> given 2" in lines[0]


def test_a_proxy_with_drop_path_gets_the_ramp(monkeypatch, tmp_path):
    """The CLI hands the search evaluator a DropPathSchedule exactly when the proxy uses drop path."""
    from nsga_lightning.callbacks import DropPathSchedule
    from nsga_lightning.cli import main
    from nsga_lightning.search.training import trainer_evaluator

    seen = []

    class Stop(Exception):
        pass

    def capture(self, *args, **kwargs):
        seen.append(kwargs.get("callbacks", ()))
        raise Stop

    monkeypatch.setattr(trainer_evaluator.TrainerEvaluator, "__init__", capture)
    monkeypatch.chdir(tmp_path)
    base = ["search", "--data", "nsga_lightning.data.DigitsDataModule", "--search.run_dir", str(tmp_path / "r")]
    for prob in ("0.0", "0.2"):
        with pytest.raises(Stop):
            main([*base, "--model.drop_path_prob", prob])
    assert list(seen[0]) == []
    assert [type(c) for c in seen[1]] == [DropPathSchedule]
