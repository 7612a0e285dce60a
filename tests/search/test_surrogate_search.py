"""The surrogate-assisted search (``search.surrogate``): it proposes only new keys, stores its predictions before
the children train, resumes and runs on two workers to the same archive, works with rungs, measures its quality
only on the children it chose, reports it, and refuses bad settings in one line."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from search_helpers import StopAfter, analytic_complexity
from test_golden import GoldenEvaluator, content

from nsga_lightning.search import Archive, Fidelity, SearchRunner
from nsga_lightning.search.build import build_search
from nsga_lightning.search.proposers.surrogate import training_rows
from nsga_lightning.search.surrogate.quality import surrogate_line, surrogate_quality
from nsga_lightning.search.surrogate.settings import make_surrogate
from nsga_lightning.spaces import make_space

SURROGATE = make_surrogate("gp", start=2, inner_pop=12, inner_gens=4)


def make(run_dir: Path, workers: int = 1, callbacks=(), surrogate=SURROGATE, **settings) -> SearchRunner:
    base = {"pop_size": 8, "n_offspring": 4, "n_gens": 5, "seed": 3}
    return SearchRunner(make_space("micro", n_blocks=2), GoldenEvaluator(workers), run_dir, callbacks=list(callbacks),
                        surrogate=surrogate, complexity=analytic_complexity, **{**base, **settings})


def predictions(run_dir: Path):
    with Archive(run_dir) as archive:
        return archive.predictions()


def predicted(run_dir: Path) -> list[tuple]:
    """The stored predictions without the driver's seconds (the one thing that differs between equal runs)."""
    return [(p.generation, p.key, p.position, p.genome, p.model, p.predicted_error, p.predicted_std, p.fit_rows)
            for p in predictions(run_dir)]


class CheckStoredFirst:
    """Asserts, as each child is committed, that a surrogate generation's child was stored with its prediction."""

    def __init__(self, start: int) -> None:
        self.start, self.checked = start, 0

    def on_candidate_end(self, runner, candidate, evaluation) -> None:
        if candidate.generation >= self.start:
            stored = {p.key for p in runner.archive.predictions(candidate.generation)}
            assert candidate.key in stored
            self.checked += 1


def test_the_surrogate_proposes_new_keys_stored_before_they_train(tmp_path):
    check = CheckStoredFirst(SURROGATE.start)
    with make(tmp_path / "run", callbacks=[check]) as runner:
        result = runner.run()
        rows = runner.archive.rows()
    assert result.status == "completed"
    stored = predictions(tmp_path / "run")
    assert sorted({p.generation for p in stored}) == [2, 3, 4]
    assert all(len([p for p in stored if p.generation == g]) == 4 for g in (2, 3, 4))
    first_seen = {r.key: r.generation for r in rows}
    for p in stored:  # never a key archived before its generation, and it trained in that generation
        assert first_seen[p.key] == p.generation
        assert p.model == "gp" and p.predicted_error > 0 and p.fit_rows >= 4
    assert check.checked == 12


def test_fitted_rows_are_earlier_fully_trained_successes_in_key_order(tmp_path):
    with make(tmp_path / "run", n_gens=3) as runner:
        runner.run()
        rows = runner.archive.rows()
    fitted = training_rows(rows, 2)
    assert [r.key for r in fitted] == sorted(r.key for r in fitted)
    assert {r.generation for r in fitted} <= {0, 1}
    assert all(r.is_ok for r in fitted) and len(fitted) == sum(1 for r in rows if r.is_ok and r.generation < 2)


@pytest.mark.parametrize("stop_after", [9, 15, 19])  # in generation 1, 2 (the first surrogate one) and 3
def test_an_interrupted_surrogate_search_resumes_to_the_uninterrupted_archive(tmp_path, stop_after):
    with make(tmp_path / "whole") as runner:
        runner.run()
    with make(tmp_path / "cut", callbacks=[StopAfter(stop_after)]) as runner, pytest.raises(KeyboardInterrupt):
        runner.run()
    with make(tmp_path / "cut") as runner:
        runner.run()
    assert content(tmp_path / "cut") == content(tmp_path / "whole")
    assert predicted(tmp_path / "cut") == predicted(tmp_path / "whole")


def test_a_fresh_session_proposes_what_a_continuing_one_does_whatever_the_complexity_count(tmp_path):
    # a complexity that is not a function of the key alone (here it moves with the generation asking): a count
    # cached across generations by a continuing session would differ from a fresh session's (it did, at pop 40)
    def moving_complexity(candidates):
        return [{name: value + 1000 * c.generation for name, value in counted.items()}
                for c, counted in zip(candidates, analytic_complexity(candidates))]

    def make_moving(run_dir, callbacks=()):
        return SearchRunner(make_space("micro", n_blocks=2), GoldenEvaluator(), run_dir, callbacks=list(callbacks),
                            surrogate=SURROGATE, complexity=moving_complexity, pop_size=8, n_offspring=4, n_gens=6,
                            seed=3)

    with make_moving(tmp_path / "whole") as runner:
        runner.run()
    # each session stops right after a generation committed its last child (1, then 2, 3, 4): the next one
    # records it and proposes the following generation fresh
    for commits in (12, 4, 4, 4):
        with make_moving(tmp_path / "cut", [StopAfter(commits)]) as runner, pytest.raises(KeyboardInterrupt):
            runner.run()
    with make_moving(tmp_path / "cut") as runner:
        runner.run()
    assert predicted(tmp_path / "cut") == predicted(tmp_path / "whole")
    assert content(tmp_path / "cut") == content(tmp_path / "whole")


def test_the_stored_choice_is_reused_on_resume_never_recomputed(tmp_path, monkeypatch):
    with make(tmp_path / "run", callbacks=[StopAfter(19)]) as runner, pytest.raises(KeyboardInterrupt):
        runner.run()  # generation 3's children are stored, one of them trained
    from nsga_lightning.search.surrogate import models

    def refuse(*args, **kwargs):
        raise AssertionError("refitted a generation whose choice was stored")

    with make(tmp_path / "run", n_gens=4) as runner:
        monkeypatch.setattr(models.GPModel, "fit", refuse)
        runner.run()


def test_two_workers_answering_out_of_order_give_the_one_worker_archive(tmp_path):
    with make(tmp_path / "one") as runner:
        runner.run()
    with make(tmp_path / "two", workers=2) as runner:
        runner.run()
    two, one = content(tmp_path / "two"), content(tmp_path / "one")
    assert two["order"] != one["order"]  # the results did arrive in another order
    assert {**two, "order": None} == {**one, "order": None}
    assert predicted(tmp_path / "two") == predicted(tmp_path / "one")


def test_the_surrogate_proposes_for_rungs_too_and_measures_only_fully_trained_children(tmp_path):
    fidelity = Fidelity((1, 3, 9), 1 / 3)
    with make(tmp_path / "run", fidelity=fidelity, n_offspring=6, n_gens=6) as runner:
        runner.run()
        rows = runner.archive.rows()
    stored = predictions(tmp_path / "run")
    quality = surrogate_quality(stored, rows)
    # with rungs few children train fully: a generation with fewer than 4 fully trained rows before it mates
    assert quality and [q.generation for q in quality] == sorted({p.generation for p in stored})
    by_key = {r.key: r for r in rows}
    for q in quality:
        full = [p for p in stored if p.generation == q.generation and by_key[p.key].is_ok
                and not by_key[p.key].stopped_early]
        assert q.proposed == 6 and q.measured == len(full) < 6  # rungs stop some: they are not measured
        if q.measured >= 2:
            assert -1 <= q.kendall_tau <= 1 and q.rmse > 0
    assert surrogate_line(quality).startswith(
        f"surrogate (gp): {6 * len(quality)} children proposed in {len(quality)} generations; on them, median "
        "Kendall tau")


def test_quality_is_kendall_tau_and_rmse_on_the_chosen_children():
    from nsga_lightning.search.core.records import ArchiveRow
    from nsga_lightning.search.store.prediction_table import PredictionRow

    def prediction(key, predicted):
        return PredictionRow(3, key, 0, (0,), "rbf", predicted, 0.0, 10, 0.5)

    def row(key, error, status="ok"):
        return ArchiveRow(key=key, genome=[0], genotype=None, generation=3, seed=0, status=status,
                          objectives={"error": error, "madds": 1.0}, error_text=None, seconds=1.0,
                          created="")

    stored = [prediction("a", 10.0), prediction("b", 20.0), prediction("c", 30.0), prediction("d", 5.0)]
    rows = [row("a", 12.0), row("b", 18.0), row("c", 33.0), row("d", 0.0, status="failed"), row("z", 1.0)]
    (quality,) = surrogate_quality(stored, rows)
    assert (quality.proposed, quality.measured) == (4, 3)
    assert quality.kendall_tau == pytest.approx(1.0)
    assert quality.rmse == pytest.approx(np.sqrt((4 + 4 + 9) / 3))


def test_the_surrogate_block_is_in_the_fingerprint_only_when_on(tmp_path):
    with make(tmp_path / "off", surrogate=None, n_gens=3) as runner:
        assert "surrogate" not in runner.config()
    with make(tmp_path / "on", n_gens=3) as runner:
        assert runner.config()["surrogate"]["model"] == "gp"


@pytest.mark.parametrize(("block", "extra", "message"), [
    ({"model": "svm"}, {}, "unknown search.surrogate.model 'svm'; allowed: none, auto, ensemble, gp, mlp, rbf, trees"),
    ({"model": "gp"}, {"exploitation_gens": 1}, "search.surrogate and exploitation_gens both propose children"),
    ({"model": "gp"}, {"prescreen": {"score": "synflow"}}, "search.surrogate and search.prescreen both choose"),
    ({"model": "gp", "start": 3}, {}, r"search.surrogate.start \(3\) must be below n_gens \(3\)"),
    ({"model": "gp", "inner_pop": 1}, {}, "search.surrogate.inner_pop must be an integer >= 2"),
    ({"model": "gp", "selection": "best"}, {}, "unknown search.surrogate.selection 'best'"),
    ({"model": "gp"}, {"objectives": ["madds", "params"]}, "search.surrogate predicts the error"),
])
def test_bad_surrogate_settings_are_one_line_with_nothing_created(tmp_path, block, extra, message):
    run_dir = tmp_path / "run"
    config = {"search": {"pop_size": 4, "n_offspring": 2, "n_gens": 3, "run_dir": str(run_dir),
                         "surrogate": block, **extra},
              "space": {"name": "micro"}, "model": {"init_channels": 4, "layers": 3},
              "data": {"class_path": "nsga_lightning.data.DigitsDataModule",
                       "init_args": {"image_size": 16, "val_split": 0.2}},
              "trainer": {"max_epochs": 1, "accelerator": "cpu"}, "progress_bar": False}
    with pytest.raises(ValueError, match=message) as error:
        build_search(config)
    assert "\n" not in str(error.value)
    assert not run_dir.exists()


def test_a_surrogate_runner_without_a_complexity_count_is_refused(tmp_path):
    with pytest.raises(ValueError, match="needs the exact complexity of a genome without training"):
        SearchRunner(make_space("micro", n_blocks=2), GoldenEvaluator(), tmp_path / "run", surrogate=SURROGATE)
    assert not (tmp_path / "run").exists()


def test_a_model_that_cannot_be_fitted_mates_with_a_warning_and_the_search_goes_on(tmp_path, monkeypatch, caplog):
    import numpy.linalg

    from nsga_lightning.search.surrogate import models

    def singular(self, X, z):
        raise numpy.linalg.LinAlgError("singular")

    monkeypatch.setattr(models.GPModel, "_fit", singular)
    with make(tmp_path / "run", n_gens=4) as runner:
        assert runner.run().status == "completed"
    assert predictions(tmp_path / "run") == []
    assert "the gp surrogate cannot be fitted" in caplog.text and "mating instead" in caplog.text
