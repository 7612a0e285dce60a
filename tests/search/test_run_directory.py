"""RunDirectory is the one owner of a run directory's layout: no other module of the package spells its file
names, and its paths, stored config and retrain command behave as documented."""

from __future__ import annotations

import re
from pathlib import Path

from nsga_lightning.search.store.run_directory import RunDirectory

ROOT = Path(__file__).resolve().parents[2]
NAMES = re.compile(r"archive\.sqlite|search\.lock|config\.yaml|pareto\.csv|pareto\.png|report\.html|"
                   r"[\"']tensorboard[\"'/]|tensorboard/|[\"']rungs[\"']")


def test_only_run_directory_spells_the_run_directory_file_names():
    owner = ROOT / "nsga_lightning" / "search" / "store" / "run_directory.py"
    offenders = []
    for path in [*(ROOT / "nsga_lightning").rglob("*.py"), *(ROOT / "callbacks").rglob("*.py"),
                 *(ROOT / "benchmarks").rglob("*.py")]:
        if path == owner:
            continue
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if NAMES.search(line):
                offenders.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert offenders == []


def test_paths_stored_config_and_retrain_command(tmp_path):
    run = RunDirectory(tmp_path / "run")
    assert not run.has_archive() and run.outputs() == [] and run.read_config() == {}
    run.create()
    assert run.write_config({"search": {"reference_point": {"error": 50.0}}, "space": {"name": "micro"}})
    assert not run.write_config({"search": {"reference_point": {"error": 50.0}}, "space": {"name": "micro"}})
    assert run.reference_point() == {"error": 50.0}
    assert run.pareto_config("micro-abc").parent == run.pareto_configs
    assert run.retrain_command("micro-abc") == f"nsga-lightning fit --config {run.pareto_configs / 'micro-abc.yaml'}"
    assert run.rung_checkpoint("micro-abc").parent == run.rungs
    assert RunDirectory(run).path == run.path
    assert run.space({"space": {"name": "macro", "n_nodes": 4}}).n_var == 21
