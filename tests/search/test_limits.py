"""Hard limits (``search.constraints``): children over a limit known before training are never trained (mated
again, counted, stored before the generation trains), limits on trained values make results infeasible (NSGA-II's
constrained domination), fronts hold feasible architectures only, and resume and any worker count give the same
archive. Function evaluators only (no torch)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from search_helpers import StopAfter, analytic_complexity
from test_golden import GoldenEvaluator, content

from nsga_lightning.search import Archive, SearchRunner
from nsga_lightning.search.build import build_search
from nsga_lightning.search.core.evaluator import FunctionEvaluator
from nsga_lightning.search.core.limits import check_limits, stored_limits, violation, within
from nsga_lightning.search.core.records import ArchiveRow
from nsga_lightning.search.evolution.fidelity import OVER_LIMIT
from nsga_lightning.search.evolution.fidelity import violation as survival_violation
from nsga_lightning.search.evolution.operators import NSGANetOperators, make_population
from nsga_lightning.search.store.latency_record import LIMITS_SCREEN, limits_lines
from nsga_lightning.search.surrogate.settings import make_surrogate
from nsga_lightning.spaces import make_space

SPACE = make_space("micro", n_blocks=2)
# the 40th percentile of the MAdds the golden evaluator gives random genomes: most children are over it
MADDS = float(np.percentile([c["madds"] for c in analytic_complexity(
    [type("C", (), {"genome": g})() for g in SPACE.sample(np.random.default_rng(5), 300)])], 40))


def make(run_dir: Path, limits: dict, workers: int = 1, asynchronous: bool = False, callbacks=(),
         **settings) -> SearchRunner:
    base = {"pop_size": 8, "n_offspring": 4, "n_gens": 5, "seed": 3}
    return SearchRunner(SPACE, GoldenEvaluator(workers, asynchronous), run_dir, callbacks=list(callbacks),
                        complexity=analytic_complexity, constraints=limits, **{**base, **settings})


def rows_and_skipped(run_dir: Path) -> tuple[list[ArchiveRow], list]:
    with Archive(run_dir) as archive:
        return archive.rows(), [s for s in archive.screening() if s.score_name == LIMITS_SCREEN]


@pytest.mark.parametrize("settings", [{}, {"initialization": "prior"}, {"exploitation_gens": 2},
                                      {"surrogate": make_surrogate("rbf", start=2, inner_pop=12, inner_gens=3)}],
                         ids=["mating", "prior", "exploitation", "surrogate"])
def test_children_over_a_known_limit_are_never_trained(tmp_path: Path, settings: dict) -> None:
    with make(tmp_path / "run", {"madds": MADDS}, **settings) as runner:
        result = runner.run()
        stored = runner.archive.config()
    rows, skipped = rows_and_skipped(tmp_path / "run")
    assert len(rows) == 8 + 4 * 4  # every generation still trains its children: the others are mated again
    assert all(float(r.genome is not None) and r.objectives.get("madds", 0) <= MADDS for r in rows if r.is_ok)
    assert skipped and {s.key for s in skipped}.isdisjoint({r.key for r in rows})
    assert all(s.objectives["madds"] > MADDS and s.error_text.startswith("madds ") for s in skipped)
    assert stored_limits(stored) == {"madds": MADDS} and stored["operators"]["limits"]["before_training"] == ["madds"]
    assert all(within(r, {"madds": MADDS}) for r in result.pareto)


def test_an_interrupted_limited_search_and_two_workers_give_the_uninterrupted_archive(tmp_path: Path) -> None:
    with make(tmp_path / "whole", {"madds": MADDS, "error": 15.0}) as runner:
        runner.run()
    with make(tmp_path / "cut", {"madds": MADDS, "error": 15.0}, callbacks=[StopAfter(13)]) as runner, \
            pytest.raises(KeyboardInterrupt):
        runner.run()
    with make(tmp_path / "cut", {"madds": MADDS, "error": 15.0}) as runner:
        runner.run()
    with make(tmp_path / "two", {"madds": MADDS, "error": 15.0}, workers=2) as runner:
        runner.run()
    whole = content(tmp_path / "whole")
    assert content(tmp_path / "cut") == whole
    assert {**content(tmp_path / "two"), "order": None} == {**whole, "order": None}


def test_the_asynchronous_steady_state_respects_the_limits(tmp_path: Path) -> None:
    with make(tmp_path / "run", {"madds": MADDS}, workers=2, asynchronous=True, n_offspring=1, n_gens=12) as runner:
        runner.run()
    rows, skipped = rows_and_skipped(tmp_path / "run")
    assert all(r.objectives["madds"] <= MADDS for r in rows if r.is_ok) and skipped


def test_a_limit_on_a_trained_value_makes_results_infeasible_never_on_the_front(tmp_path: Path) -> None:
    limit = {"error": 14.0}  # the complexity count has no error: judged after training
    with make(tmp_path / "run", limit) as runner:
        result = runner.run()
        last = runner.archive.last_generation()
    rows, skipped = rows_and_skipped(tmp_path / "run")
    over = [r for r in rows if r.is_ok and r.objectives["error"] > 14.0]
    assert over and not skipped
    assert result.pareto and all(r.objectives["error"] <= 14.0 for r in result.pareto)
    by_key = {r.key: r for r in rows}
    ranks = dict(zip(last.population, last.rank))
    assert all(ranks[k] is None for k in last.population if by_key[k].is_ok and not within(by_key[k], limit))


def test_survival_puts_feasible_first_then_by_violation_then_failed() -> None:
    def row(key: str, error: float | None) -> ArchiveRow:
        status = "ok" if error is not None else "failed"
        return ArchiveRow(key, [0] * SPACE.n_var, None, 0, 0, status, {} if error is None else
                          {"error": error, "madds": 1.0}, 0.0, None, "")

    rows = [row("a", 90.0), row("b", 10.0), row("c", 30.0), row("d", 80.0), row("e", None), row("f", 60.0)]
    limit = {"error": 50.0}
    cv = [survival_violation(r, limit) for r in rows]
    assert cv[1] == cv[2] == 0.0 and cv[4] == 1.0 and OVER_LIMIT < cv[5] < cv[3] < cv[0] < 1.0
    F = np.array([[r.objectives.get("error", 0.0), 1.0] for r in rows])
    pop = make_population(np.zeros((6, SPACE.n_var)), [r.key for r in rows], F, cv)
    survivors = NSGANetOperators(SPACE, 2).survive(pop, 6, np.random.default_rng(0))
    assert [ind.get("key") for ind in survivors][2:] == ["f", "d", "a", "e"]
    assert [ind.get("rank") for ind in survivors][2:] == [None] * 4


def test_when_no_architecture_is_within_the_limits_the_front_is_empty_and_said_so(tmp_path: Path) -> None:
    with make(tmp_path / "run", {"error": 0.001}, n_gens=2) as runner:
        result = runner.run()
        screened = runner.archive.screening()
    rows, _ = rows_and_skipped(tmp_path / "run")
    assert result.pareto == []
    lines = limits_lines({"error": 0.001}, screened, rows, result.pareto)
    assert "no architecture is within the limits" in lines[-1]


def test_no_limits_leave_the_fingerprint_as_it_was(tmp_path: Path) -> None:
    with make(tmp_path / "run", {}, n_gens=2) as runner:
        assert "limits" not in runner.config()["operators"] and runner.limits is None


@pytest.mark.parametrize(("limits", "message"), [
    ({"latency": 5.0}, "limit on 'latency', which nothing computes: the evaluator returns error, madds, params"),
    ({"madds": -1}, "search.constraints.madds must be a positive number"),
    ({"madds": "many"}, "search.constraints.madds must be a positive number"),
    ([1, 2], "search.constraints maps objective names to upper bounds"),
])
def test_bad_limits_are_one_line_with_nothing_created(tmp_path: Path, limits, message: str) -> None:
    config = {"search": {"pop_size": 4, "n_offspring": 2, "n_gens": 2, "run_dir": str(tmp_path / "run"),
                         "constraints": limits}, "space": {"name": "micro", "n_blocks": 2}, "progress_bar": False}
    with pytest.raises(ValueError, match=message):
        build_search(config, evaluator=FunctionEvaluator(lambda c: {"error": 1.0, "madds": 1.0, "params": 1.0}))
    assert not (tmp_path / "run").exists()
    with pytest.raises(ValueError, match="nothing computes"):
        check_limits({"latency": 1.0}, ["error", "latency_x"])


def test_violation_is_the_sum_of_relative_excesses() -> None:
    assert violation({"a": 15.0, "b": 1.0, "c": 9.0}, {"a": 10.0, "b": 2.0, "d": 1.0}) == pytest.approx(0.5)
    assert violation({"a": 10.0}, {"a": 10.0}) == 0.0


def test_limits_no_architecture_can_meet_are_refused_before_anything_is_created(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"no architecture is within search.constraints \{'madds': 1.0\}: of 200 "
                                         r"sampled, the smallest were madds \d+; loosen the limits"):
        make(tmp_path / "run", {"madds": 1.0})
    assert not (tmp_path / "run").exists()
