"""SearchProgressBar: the budget as total, resumes from what is archived, best error / running / failed."""

from __future__ import annotations

from nsga_lightning.callbacks import SearchProgressBar


class Peek(SearchProgressBar):
    """Keeps what the bar showed when the search ended."""

    def on_search_end(self, runner, result):
        self.seen = (self.bar.n, self.bar.total, dict(self.bar.postfix and [p.split("=") for p in
                                                                          self.bar.postfix.split(", ")]))
        super().on_search_end(runner, result)


def test_the_bar_counts_the_budget_and_shows_best_error_and_failures(make_search, capsys):
    bar = Peek()
    with make_search([bar]) as runner:
        result = runner.run()
        best = min(r.objectives["error"] for r in runner.archive.rows("ok"))
    n, total, postfix = bar.seen
    assert n == total == 6 + 2 * 3
    assert postfix["failed"] == str(result.n_failed)
    assert postfix["best_error"] == f"{best:.2f}%"
    assert "gen 3/3" in capsys.readouterr().err
    assert bar.bar is None  # closed


def test_a_resumed_search_starts_at_what_is_archived(make_search):
    with make_search(n_gens=2) as runner:
        runner.run()
    bar = SearchProgressBar(disable=True)
    with make_search([bar], n_gens=3) as runner:
        bar.on_search_start(runner)
        assert (bar.bar.n, bar.bar.total) == (9, 12)
        bar.on_search_end(runner, runner.result())


def test_with_rungs_the_bar_counts_architectures_not_rung_results(make_search, capsys):
    from nsga_lightning.search.evolution.fidelity import Fidelity

    bar = Peek()
    with make_search([bar], fidelity=Fidelity((1, 3), 0.5)) as runner:
        result = runner.run()
    n, total, _ = bar.seen
    assert result.n_evaluated > total  # the promotions are results too
    assert n == total == 6 + 2 * 3


def test_a_budget_is_the_total_and_its_hours_and_epochs_are_shown(make_search):
    from nsga_lightning.search.core.run_control import make_budget

    bar = Peek()
    with make_search([bar], budget=make_budget(evaluations=10, hours=1.0, epochs=1000), candidate_epochs=3) as runner:
        result = runner.run()
    n, total, postfix = bar.seen
    assert result.stopped_by == "budget.evaluations" and n == total == 10
    assert postfix["epochs"] == "30/1000" and postfix["hours"] == "0.00/1"
