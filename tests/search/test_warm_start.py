"""Warm starts (``search.warm_start``) on the cell space with a function evaluator: from a finished run with the
same evaluator fingerprint its architectures are this search's results (imported, never trained again) and the
front starts where that run ended; from another setting they only seed the first population (trained anew) and
the surrogate's prior data; an export round-trips through ``archive export``/``import``; resume and worker counts
keep the archive; a source of another space, a bad path or a bad row is one line, and nothing is created."""

from __future__ import annotations

from pathlib import Path

import pytest
from budget_helpers import OBJECTIVES, CellEvaluator, run, run_interrupted, runner, state
from cell_space import CellSpace, DrawnCellSpace, cell_latency
from search_helpers import StopAfter

from nsga_lightning.cli import main
from nsga_lightning.search import Archive, SearchRunner, pareto_front
from nsga_lightning.search.store.hv_history import evaluation_history
from nsga_lightning.search.surrogate.settings import make_surrogate

SOURCE = {"n_gens": 6}  # 8 + 5 x 4 = 28 architectures


@pytest.fixture
def source(tmp_path: Path) -> Path:
    """A finished search of the cell space (seed 1)."""
    run(tmp_path / "source", **SOURCE)
    return tmp_path / "source"


def _rows(run_dir: Path) -> dict[str, object]:
    with Archive(run_dir) as archive:
        return {r.key: r for r in archive.rows()}


def test_the_same_settings_reuse_every_result_and_start_from_the_final_front(tmp_path: Path, source: Path) -> None:
    before = _rows(source)
    evaluator = CellEvaluator()
    result = run(tmp_path / "warm", evaluator, seed=2, warm_start=[str(source)], **SOURCE)
    trained = {key for key, _ in evaluator.trained}
    assert result.status == "completed" and trained and not trained & set(before)
    with Archive(tmp_path / "warm") as archive:
        rows = {r.key: r for r in archive.rows()}
        assert archive.imported_keys() == set(before)
        assert all(rows[k].generation == -1 and rows[k].objectives == before[k].objectives for k in before)
        history = evaluation_history(archive, OBJECTIVES)
        first = archive.generation(0).population
    # the front starts where the source ended (its final front after no new training at all) and moves on from it
    source_front = [r.key for r in pareto_front(list(before.values()), OBJECTIVES)]
    assert [r.key for r in pareto_front([rows[k] for k in before], OBJECTIVES)] == source_front
    assert history[0].evaluations == 0 and history[0].hypervolume > 0
    assert history[-1].hypervolume >= history[0].hypervolume
    assert set(first) <= set(before)  # the first population: the source's best 8, answered from the archive
    assert result.spent["evaluations"] == len(rows) - len(before) == len(trained)


def test_another_setting_seeds_the_first_population_and_trains_everything_it_keeps(tmp_path: Path,
                                                                                     source: Path) -> None:
    evaluator = CellEvaluator(fingerprint={"table": "cell v2"})  # other data: the same architectures differ
    run(tmp_path / "other", evaluator, warm_start=[str(source)], **SOURCE)
    before = _rows(source)
    with Archive(tmp_path / "other") as archive:
        rows = archive.rows()
        assert archive.imported_keys() == set() and all(r.generation >= 0 for r in rows)
        assert {r.key for r in archive.warm_rows("prior")} == {k for k, r in before.items() if r.is_ok}
        seeds = [r.key for r in sorted(archive.warm_rows(), key=lambda r: (r.position is None, r.position or 0))][:8]
        first = archive.generation(0).population
    assert set(first) == set(seeds) and set(seeds) <= {key for key, _ in evaluator.trained}


def test_a_warm_started_search_resumes_and_runs_out_of_order_to_one_archive(tmp_path: Path, source: Path) -> None:
    settings = {"seed": 2, "warm_start": [str(source)], **SOURCE}
    run(tmp_path / "straight", **settings)
    run_interrupted(tmp_path / "interrupted", (3, 9), **settings)
    run(tmp_path / "reversed", CellEvaluator(reverse=True), **settings)
    for name in ("interrupted", "reversed"):
        assert state(tmp_path / name) == state(tmp_path / "straight"), name


def test_the_source_is_read_once_a_resume_never_reads_it_again(tmp_path: Path, source: Path) -> None:
    settings = {"warm_start": [str(source)], **SOURCE}
    with pytest.raises(KeyboardInterrupt), runner(tmp_path / "warm", callbacks=(StopAfter(2),), **settings) as search:
        search.run()
    (source / "archive.sqlite").rename(source / "gone.sqlite")
    resumed = run(tmp_path / "warm", **settings)
    assert resumed.status == "completed" and resumed.n_evaluated == 5 * 4 - 2


def test_an_export_round_trips_and_warm_starts_as_its_run_does(tmp_path: Path, source: Path, capsys) -> None:
    for fmt in ("csv", "yaml"):
        exported, again = tmp_path / f"a.{fmt}", tmp_path / f"b.{fmt}"
        assert main(["archive", "export", str(source), "--format", fmt, "-o", str(exported)]) == 0
        assert main(["archive", "import", str(exported), str(tmp_path / f"imported-{fmt}")]) == 0
        assert main(["archive", "export", str(tmp_path / f"imported-{fmt}"), "--format", fmt, "-o", str(again)]) == 0
        assert again.read_text() == exported.read_text()
        with Archive(source) as a, Archive(tmp_path / f"imported-{fmt}") as b:
            assert a.rows() == b.rows() and a.meta()["fingerprint"] == b.meta()["fingerprint"]
    capsys.readouterr()
    assert main(["archive", "export", str(source)]) == 0  # to stdout
    assert capsys.readouterr().out == (tmp_path / "a.csv").read_text()
    run(tmp_path / "from-run", warm_start=[str(source)], **SOURCE)
    run(tmp_path / "from-csv", warm_start=[str(tmp_path / "a.csv")], **SOURCE)
    assert state(tmp_path / "from-csv")["rows"] == state(tmp_path / "from-run")["rows"]


def test_a_table_of_your_own_seeds_and_its_bad_rows_are_one_line(tmp_path: Path) -> None:
    table = tmp_path / "mine.csv"
    table.write_text("genome,error,latency\n\"[3,3,3,3,3,3]\",10.5,54\n\"1,1,1,1,1,1\",30,0\n")
    evaluator = CellEvaluator()
    run(tmp_path / "run", evaluator, warm_start=[str(table)], n_gens=2)
    with Archive(tmp_path / "run") as archive:
        assert len(archive.warm_rows("prior")) == 2 and archive.imported_keys() == set()
    assert CellSpace().key([3] * 6) in {key for key, _ in evaluator.trained}
    yaml_table = tmp_path / "mine.yaml"
    yaml_table.write_text("- {genome: [3, 3, 3, 3, 3, 9], error: 1}\n")
    with pytest.raises(ValueError, match=r"^search.warm_start: .*mine.yaml, architecture 1: \[3, 3, 3, 3, 3, 9\] is "
                                         r"not a cell genome"):
        runner(tmp_path / "bad", warm_start=[str(yaml_table)])
    assert not (tmp_path / "bad").exists()


@pytest.mark.parametrize("problem", ["space", "own", "missing", "no archive", "not a list", "suffix"])
def test_a_bad_warm_start_is_one_line_and_creates_nothing(tmp_path: Path, source: Path, problem: str) -> None:
    entries, space = [str(source)], CellSpace()
    message = {"space": r"search.warm_start: .* searched another space \(differs in: space.class_path",
               "own": r"search.warm_start names the search's own run_dir",
               "missing": r"search.warm_start: .*nowhere does not exist \(give a search's run_dir",
               "no archive": r"search.warm_start: .* holds no search archive",
               "not a list": r"search.warm_start is a list of run directories or .csv/.yaml files",
               "suffix": r"search.warm_start: .* is neither a .csv nor a .yaml file"}[problem]
    if problem == "space":
        space = DrawnCellSpace()
    elif problem == "own":
        entries = [str(tmp_path / "bad")]
    elif problem == "missing":
        entries = [str(tmp_path / "nowhere")]
    elif problem == "no archive":
        (tmp_path / "empty").mkdir()
        entries = [str(tmp_path / "empty")]
    elif problem == "not a list":
        entries = str(source)
    else:
        (tmp_path / "t.txt").write_text("x")
        entries = [str(tmp_path / "t.txt")]
    with pytest.raises((ValueError, FileNotFoundError), match=message) as error:
        SearchRunner(space, CellEvaluator(), tmp_path / "bad", pop_size=8, n_offspring=4, objectives=OBJECTIVES,
                     warm_start=entries)
    assert "\n" not in str(error.value) and not (tmp_path / "bad").exists()


def test_the_surrogate_fits_a_warm_starts_prior_data(tmp_path: Path, source: Path) -> None:
    evaluator = CellEvaluator(fingerprint={"table": "cell v2"})
    run(tmp_path / "warm", evaluator, n_gens=2, warm_start=[str(source)],
        surrogate=make_surrogate("rbf", 1, inner_pop=10, inner_gens=2),
        complexity=lambda candidates: [cell_latency(c) for c in candidates])
    with Archive(tmp_path / "warm") as archive:
        fitted = archive.predictions(1)[0].fit_rows
        own = [r for r in archive.rows() if r.generation == 0 and r.is_ok]
        # prior data: the other setting's architectures this search had not trained when generation 1 was proposed
        prior = [r for r in archive.warm_rows("prior") if archive.get(r.key) is None or archive.get(r.key).generation]
    assert prior and fitted == len(own) + len(prior)
