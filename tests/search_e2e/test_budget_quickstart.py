"""The quickstart search (its preset, with training shrunk to one batch of a tiny proxy on 8x8 digits) under a
budget, through ``nsga-lightning search``: ``search.budget.evaluations 12`` stops at 12 evaluations, and a run cut
at 7 and extended to 12 ends in the same archive; ``search.budget.hours`` of half a second stops after the
generation in flight, and running it again trains nothing; the report shows the hypervolume history; a warm start
from the finished run trains none of its architectures with the same settings, and its seeds anew with others."""

from __future__ import annotations

from pathlib import Path

from e2e_helpers import run_cli

from nsga_lightning.search import Archive

SHRUNK = ["--config", "quickstart", "--trainer.max_epochs", "1", "--trainer.limit_train_batches", "1",
          "--trainer.limit_val_batches", "1", "--model.init_channels", "4", "--model.layers", "3",
          "--data.init_args.image_size", "8", "--progress_bar", "false", "--num_threads", "1"]


def _search(run_dir: str, *extra: str):
    result = run_cli("search", *SHRUNK, "--search.run_dir", run_dir, *extra)
    assert result.code == 0, result.err[-3000:]
    return result


def _archive(run_dir: Path) -> tuple[list, list]:
    with Archive(run_dir) as archive:
        rows = [(r.key, r.genome, r.generation, r.seed, r.status, r.objectives) for r in archive.rows()]
        return rows, [(g.generation, g.population, g.rank, g.rng_state) for g in archive.generations()]


def test_an_evaluation_budget_of_12_stops_at_12_and_a_cut_run_extends_to_it(tmp_path, monkeypatch,
                                                                             one_intra_op_thread):
    monkeypatch.chdir(tmp_path)
    single = _search("single", "--search.budget.evaluations", "12")
    assert "12 architectures trained in this session, 12 in the archive" in single.out
    assert "stopped: the evaluation budget is reached (12 of 12 evaluations)" in single.out
    rows, generations = _archive(tmp_path / "single")
    assert len(rows) == 12 and len(generations) == 3  # 6 + 3 + 3: generations 0, 1 and 2
    assert "hypervolume " in single.out and "99% after " in single.out
    _search("extended", "--search.budget.evaluations", "7")  # cuts generation 1 after its first child
    assert len(_archive(tmp_path / "extended")[0]) == 7
    extended = _search("extended", "--search.budget.evaluations", "12")
    assert "5 architectures trained in this session, 12 in the archive" in extended.out
    assert _archive(tmp_path / "extended") == (rows, generations)
    report = run_cli("report", "single")
    assert report.code == 0 and 'id="hypervolume-history"' in (tmp_path / "single" / "report.html").read_text()

    # warm starts from it: the same settings train none of its architectures (its 12 are results already); another
    # data setting (a larger validation split) trains its seeds anew, and nothing it keeps comes from elsewhere
    trained = {row[0] for row in rows}
    _search("warm", "--search.warm_start", "[single]", "--search.seed", "1", "--search.budget.evaluations", "3")
    with Archive(tmp_path / "warm") as archive:
        assert archive.imported_keys() == trained
        assert len([r for r in archive.rows() if r.generation >= 0 and r.key not in trained]) == 3
    _search("other", "--search.warm_start", "[single]", "--data.init_args.val_split", "0.25",
            "--search.budget.evaluations", "3")
    with Archive(tmp_path / "other") as archive:
        kept = archive.rows()
        seeds = [r.key for r in sorted(archive.warm_rows(), key=lambda r: (r.position is None, r.position or 0))]
        assert archive.imported_keys() == set() and all(r.generation == 0 for r in kept)
        assert [r.key for r in kept] == sorted(seeds[:3])  # generation 0 cut to its first 3: the best seeds


def test_an_hours_budget_of_half_a_second_stops_after_the_generation_in_flight(tmp_path, monkeypatch,
                                                                               one_intra_op_thread):
    monkeypatch.chdir(tmp_path)
    first = _search("run", "--search.budget.hours", str(0.5 / 3600))
    assert "stopped: the time budget is spent (" in first.out and "after the generation in flight" in first.out
    rows, generations = _archive(tmp_path / "run")
    assert generations and len(rows) == 6 + 3 * (len(generations) - 1)  # whole generations only
    again = _search("run", "--search.budget.hours", str(0.5 / 3600))
    assert "search already complete (the time budget is spent" in again.out
    assert _archive(tmp_path / "run") == (rows, generations)


def test_bad_budget_and_warm_start_settings_are_one_line_and_create_nothing(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for extra, message in ((["--search.budget.evaluations", "0"],
                            "search.budget.evaluations must be an integer >= 1 (or null: no limit), got 0"),
                           (["--search.budget.epochs", "2"], ("search.budget.epochs (2) is less than one candidate's "
                                                             "first training (3 epochs): nothing could train")),
                           (["--search.warm_start", "[nowhere]"], ("search.warm_start: nowhere does not exist (give a "
                            "search's run_dir, an export of nsga-lightning archive export or a .csv/.yaml table of "
                            "your own)"))):
        result = run_cli("search", "--config", "quickstart", "--search.run_dir", "run", *extra)
        assert result.code == 2 and result.err.strip() == f"nsga-lightning: error: {message}", result.err
        assert not (tmp_path / "run").exists()


def test_the_hard_switch_stands_alone_on_the_command_line():
    for args, value in ((["--search.budget.hard"], "true"), (["--search.budget.hard", "false"], "false"),
                        (["--search.budget.hard", "--search.budget.hours", "2"], "true")):
        result = run_cli("search", "--config", "quickstart", *args, "--print_config")
        assert result.code == 0, result.err
        assert f"    hard: {value}\n" in result.out
