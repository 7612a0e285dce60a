"""A space the package has never seen (``cell_space.CellSpace``: a tuple genotype and its own key) searches end to
end with a function evaluator and objectives of its own: two local workers give the archive of one, a SIGKILLed
search resumes to it, and the run's report, Pareto outputs and TensorBoard say in one line that the space draws
nothing (or show the drawings of a space that draws). Bad input is one line, before anything is created."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from cell_space import CellSpace, DrawnCellSpace, cell_objectives
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from nsga_lightning.cli import main
from nsga_lightning.search import Archive, FunctionEvaluator
from nsga_lightning.search.build import build_search
from nsga_lightning.search.store.run_directory import RunDirectory

HERE = Path(__file__).resolve().parent
OBJECTIVES = ("error", "latency")


def _config(run_dir: Path, **search: Any) -> dict[str, Any]:
    return {"search": {"pop_size": 8, "n_offspring": 4, "n_gens": 4, "seed": 1, "run_dir": str(run_dir),
                       "objectives": list(OBJECTIVES), **search}, "progress_bar": False}


def _evaluator() -> FunctionEvaluator:
    return FunctionEvaluator(cell_objectives, {"table": "cell v1"}, objectives=OBJECTIVES)


def _search(run_dir: Path, space: Any = None, **search: Any):
    with build_search(_config(run_dir, **search), space=space or CellSpace(), evaluator=_evaluator()) as runner:
        return runner.run()


def _snapshot(run_dir: Path) -> dict[str, Any]:
    with Archive(run_dir) as archive:
        rows = [(r.key, r.genome, r.genotype, r.generation, r.seed, r.status, r.objectives) for r in archive.rows()]
        generations = [(g.generation, g.population, g.rank, g.crowding, g.rng_state) for g in archive.generations()]
        return {"rows": rows, "generations": generations, "fingerprint": archive.meta()["fingerprint"]}


KILL_AFTER = 10
KILLED_SEARCH = f"""
import json, os, signal, sys
from cell_space import CellSpace, cell_objectives
from nsga_lightning.search import FunctionEvaluator, SearchCallback
from nsga_lightning.search.build import build_search, default_callbacks
from nsga_lightning.search.assemble.settings import SearchConfig

config = SearchConfig.from_dict(json.loads(sys.argv[1]))

class Kill(SearchCallback):
    seen = 0
    def on_candidate_end(self, runner, candidate, evaluation):
        self.seen += 1
        if self.seen == {KILL_AFTER}:
            os.kill(os.getpid(), signal.SIGKILL)  # the other worker's candidate in flight

evaluator = FunctionEvaluator(cell_objectives, {{"table": "cell v1"}}, objectives=("error", "latency"))
build_search(config, [*default_callbacks(config), Kill()], space=CellSpace(), evaluator=evaluator).run()
"""


def test_two_workers_killed_and_resumed_give_the_archive_of_one_and_a_report(tmp_path: Path, capsys) -> None:
    result = _search(tmp_path / "one")
    assert result.status == "completed" and result.pareto
    assert {row.key[:5] for row in result.pareto} == {"cell-"} and all(len(r.genotype) == 6 for r in result.pareto)
    assert all(set(row.objectives) == set(OBJECTIVES) for row in result.pareto)

    run = tmp_path / "two"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")])}
    killed = subprocess.run([sys.executable, "-c", KILLED_SEARCH, json.dumps(_config(run, workers=2))], cwd=tmp_path,
                            env=env, capture_output=True, text=True, timeout=300, check=False)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    with Archive(run) as archive:
        assert len(archive) == KILL_AFTER
    resumed = _search(run, workers=2)
    assert resumed.workers == 2 and resumed.n_evaluated == result.n_archived - KILL_AFTER
    assert _snapshot(run) == _snapshot(tmp_path / "one")

    # the stored settings name the space's class: the run directory rebuilds it for report and draw
    assert RunDirectory(run).read_config()["space"] == {"class_path": "cell_space.CellSpace"}
    assert main(["report", str(run)]) == 0
    page = (run / "report.html").read_text()
    assert all(f"<code>{row.key}</code>" in page for row in result.pareto)
    assert ">latency</th>" in page and "nsga-lightning fit" not in page  # its own objective; no training recipe
    assert page.count("no drawing: the cell space does not draw its architectures") == len(result.pareto)
    header = (run / "pareto.csv").read_text().splitlines()[0]
    assert header.split(",")[3:5] == ["error", "latency"] and not (run / "pareto").exists()
    events = EventAccumulator(str(RunDirectory(run).search_log), size_guidance={"tensors": 0})
    events.Reload()
    assert "search/best_latency" in events.Tags()["scalars"]
    assert any(tag.startswith("pareto/drawings") for tag in events.Tags()["tensors"])
    assert main(["draw", result.pareto[0].key, "--run_dir", str(run), "-o", str(tmp_path / "x.png")]) == 2
    assert "does not draw its architectures" in capsys.readouterr().err


def test_a_space_that_draws_itself_is_drawn_in_the_report(tmp_path: Path) -> None:
    result = _search(tmp_path / "run", DrawnCellSpace(), n_gens=2)
    assert main(["report", str(tmp_path / "run")]) == 0
    page = (tmp_path / "run" / "report.html").read_text()
    assert page.count('alt="drawing of cell-') == len(result.pareto) and "no drawing" not in page
    assert main(["draw", result.pareto[0].key, "--run_dir", str(tmp_path / "run"), "-o", str(tmp_path / "x.svg")]) == 0
    assert "conv" in (tmp_path / "x.svg").read_text() or (tmp_path / "x.svg").stat().st_size > 1000


def test_a_class_path_space_block_is_the_same_search_as_the_object(tmp_path: Path) -> None:
    config = _config(tmp_path / "run", n_gens=2) | {"space": {"class_path": "cell_space.CellSpace"}}
    with build_search(config, evaluator=_evaluator()) as runner:
        runner.run()
    _search(tmp_path / "object", n_gens=2)
    assert _snapshot(tmp_path / "run") == _snapshot(tmp_path / "object")
    with build_search(config, evaluator=_evaluator()) as runner:  # resumed from its stored class path
        assert runner.run().status == "already complete"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"objectives": ["error", "accuracy"]},
         "objective 'accuracy' is not one the evaluator returns: the evaluator returns error, latency"),
        ({"objectives": ["error"]}, "objectives must be 2 or 3 distinct names"),
        ({"reference_point": {"madds": 1.0}}, "search.reference_point names ['madds'], which are not objectives"),
        ({"prescreen": {"score": "synflow"}}, "search.prescreen scores the untrained networks of the trainer"),
        ({"fidelity": {"rungs": [1, 3]}, "objectives": ["latency", "error"]}, None),
        ({"workers": 2, "initial_architectures": ["NSGANet"]}, "'NSGANet' is neither a zoo name (the cell space"),
    ],
)
def test_bad_settings_are_one_line_before_anything_is_created(tmp_path: Path, change: dict, message: str | None):
    run = tmp_path / "run"
    if message is None:  # rungs rank by error: allowed with an error objective, whatever its place
        with build_search(_config(run, **change), space=CellSpace(), evaluator=_evaluator()) as runner:
            assert runner.fidelity is not None and runner.fidelity.rungs == (1, 3)
        return
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace("[", r"\[")) as error:
        build_search(_config(run, **change), space=CellSpace(), evaluator=_evaluator())
    assert "\n" not in str(error.value)
    assert not run.exists()


def test_what_a_user_evaluator_must_declare_or_be_is_one_line(tmp_path: Path) -> None:
    run = tmp_path / "run"
    undeclared = FunctionEvaluator(cell_objectives)
    with pytest.raises(ValueError, match="an evaluator that declares no objectives returns error, madds and params"):
        build_search(_config(run), space=CellSpace(), evaluator=undeclared)
    local = FunctionEvaluator(lambda candidate: {"error": 1.0, "latency": 1.0}, objectives=OBJECTIVES)
    with pytest.raises(ValueError, match="sends a copy of your evaluator to every worker, but it cannot be pickled"):
        build_search(_config(run, workers=2), space=CellSpace(), evaluator=local)
    three = FunctionEvaluator(cell_objectives, objectives=(*OBJECTIVES, "energy"))
    with pytest.raises(ValueError, match=r"search.fidelity ranks children by their error .* got \['latency', 'energy'\]"):
        build_search(_config(run, objectives=["latency", "energy"], fidelity={"rungs": [1, 3]}), space=CellSpace(),
                     evaluator=three)
    with pytest.raises(ValueError, match="configure the trainer evaluator"):
        build_search({**_config(run), "model": {"layers": 3}}, space=CellSpace(), evaluator=_evaluator())
    with pytest.raises(ValueError, match="a ready space object needs your own evaluator"):
        build_search(_config(run), space=CellSpace())
    with pytest.raises(ValueError, match="lacks genotype_to_data, genotype_from_data"):
        build_search(_config(run), space=type("Half", (), {"name": "half", "lower": 0, "upper": 1, "n_var": 1,
                                                             "sample": 0, "validate": 0, "decode": 0, "key": 0})(),
                     evaluator=_evaluator())
    assert not run.exists()
