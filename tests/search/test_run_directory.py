"""RunDirectory is the one owner of a run directory's layout: no other module of the package spells its file
names, and its paths, stored config and retrain command behave as documented."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

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


class Sized:
    """A space of the tests' own whose genome length is an init argument (and part of its fingerprint block)."""

    name = "sized"

    def __init__(self, n: int = 2) -> None:
        import numpy as np

        self.n_var, self.lower, self.upper = n, np.zeros(n, dtype=int), np.ones(n, dtype=int)

    sample = validate = decode = key = genotype_to_data = genotype_from_data = None


def test_a_space_of_your_own_is_rebuilt_from_its_class_and_stored_init_args_or_refused(tmp_path):
    from nsga_lightning.spaces import space_block

    run = RunDirectory(tmp_path / "run")
    run.create()
    stored = {"space": space_block(Sized(3))}
    assert stored["space"]["class_path"] == f"{__name__}.Sized"
    run.write_config({"space": {"class_path": f"{__name__}.Sized", "init_args": {"n": 3}}})
    assert run.space(stored).n_var == 3
    run.write_config({"space": {"class_path": f"{__name__}.Sized"}})  # given as an object: no init args known
    with pytest.raises(ValueError, match=r"cannot be rebuilt: built with init_args \{\} it differs from the stored one "
                                         r"\(lower: stored \[0, 0, 0\] -> given \[0, 0\]"):
        run.space(stored)
    with pytest.raises(ValueError, match="cannot be rebuilt: space.class_path 'nowhere.Sized': cannot import nowhere"):
        run.space({"space": {**stored["space"], "class_path": "nowhere.Sized"}})
