"""Asynchronous successive halving (``search.fidelity.asynchronous``, MO-ASHA): the promotion rule on a
hand-worked sequence of results, a whole search with a pool that completes out of order, resume by replay of the
recorded order, and the settings. The pools here complete in a scripted order, so the tests need no processes."""

from __future__ import annotations

import json
import math
import sqlite3

import numpy as np
import pytest
from search_helpers import OutOfOrderPool, StopAfter, analytic_objectives, space_by_name

from nsga_lightning.search.build import check_config
from nsga_lightning.search.core.evaluator import Evaluation, safe_evaluate
from nsga_lightning.search.evolution.fidelity import Fidelity, make_fidelity
from nsga_lightning.search.loops.steady_state import ReplayDivergedError
from nsga_lightning.search.runner import SearchRunner
from nsga_lightning.search.scheduling.async_halving import AsynchronousHalving
from nsga_lightning.search.store.archive import Archive

ASYNC = Fidelity((1, 3, 9), 1 / 3, asynchronous=True)


class FifoPool(OutOfOrderPool):
    """Completes in submission order, with errors chosen per key (the hand-worked example)."""

    def __init__(self, errors: dict[str, float], workers: int = 2) -> None:
        super().__init__(workers, lambda c: {"error": errors[c.key] / c.epochs, "madds": 1.0, "params": 1.0})

    def next_completed(self) -> Evaluation:
        candidate = self.flight.pop(0)
        self.trained.append((candidate.key, candidate.epochs))
        return safe_evaluate(self.objectives, candidate)


def _runner(run_dir, pool, fidelity=ASYNC, callbacks=()) -> SearchRunner:
    return SearchRunner(space_by_name("micro"), pool, run_dir, pop_size=9, n_offspring=6, n_gens=3, seed=1,
                        fidelity=fidelity, callbacks=list(callbacks))


def _snapshot(run_dir) -> dict:
    with Archive(run_dir) as archive:
        return {"rows": [(r.key, r.generation, r.status, r.objectives, r.fidelity) for r in archive.rows()],
                "generations": [(g.population, g.rank, g.crowding, g.rng_state) for g in archive.generations()]}


def test_the_rule_on_a_hand_worked_sequence_promotes_early_and_tops_up_a_closed_rung(tmp_path):
    """Rungs (1, 3), keep 1/2, two slots, results in submission order; rung-1 errors a 2, b 4, c 1, d 0.5.

    a done: 1 reached, floor(0.5) = 0 promotions allowed: c starts. b done: {a, b}, 1 allowed: a (better than b)
    goes on at once. c done: 1 allowed, 1 promoted: d starts. a done at 3 epochs. d done: 2 allowed, best are d,
    c: d goes on (c, second best, is never promoted: MO-ASHA's early decision for a stands). The rung then closes
    with 2 = max(1, ceil(0.5 * 4)) promoted: nothing to top up.
    """
    fidelity = Fidelity((1, 3), 0.5, asynchronous=True)
    space = space_by_name("micro")
    genomes = space.sample(np.random.default_rng(0), 4)
    pool = FifoPool({}, workers=2)
    with _runner(tmp_path / "run", pool, fidelity) as runner:
        children = [runner.candidate(g, 1) for g in genomes]
        a, b, c, d = (child.key for child in children)
        errors = {a: 2.0, b: 4.0, c: 1.0, d: 0.5}
        pool.objectives = lambda cand: {"error": errors[cand.key] * (1 if cand.epochs == 1 else 0.5),
                                        "madds": 1.0, "params": 1.0}
        rows = AsynchronousHalving(runner, children, fidelity, 2).run()
    assert pool.submitted == [(a, 1), (b, 1), (c, 1), (a, 3), (d, 1), (d, 3)]
    assert {k: r.epochs for k, r in rows.items()} == {a: 3, b: 1, c: 1, d: 3}
    assert rows[d].rung_errors == {1: 0.5, 3: 0.25}


def test_a_closed_rung_is_topped_up_to_the_synchronous_count(tmp_path):
    """Two children and keep 1/3: floor(2/3) = 0 early promotions; closing the rung promotes max(1, ceil(2/3))."""
    fidelity = Fidelity((1, 3), 1 / 3, asynchronous=True)
    genomes = space_by_name("micro").sample(np.random.default_rng(1), 2)
    pool = FifoPool({}, workers=2)
    with _runner(tmp_path / "run", pool, fidelity) as runner:
        children = [runner.candidate(g, 1) for g in genomes]
        worse, better = (child.key for child in children)
        pool.objectives = lambda cand: {"error": {worse: 9.0, better: 3.0}[cand.key], "madds": 1.0, "params": 1.0}
        AsynchronousHalving(runner, children, fidelity, 2).run()
    assert pool.submitted == [(worse, 1), (better, 1), (better, 3)]


def test_a_search_promotes_before_rungs_close_and_spends_the_synchronous_number_of_promotions(tmp_path):
    pool = OutOfOrderPool(workers=3)
    with _runner(tmp_path / "run", pool) as runner:
        result = runner.run()
        rows = runner.archive.rows()
    assert pool.promoted_while_first_rung_open > 0  # promotions do not wait for the rung
    assert pool.most_in_flight == 3
    for generation, n in ((1, 6), (2, 6)):
        children = [r for r in rows if r.generation == generation]
        asked = [epochs for key, epochs in pool.submitted if any(r.key == key for r in children)]
        assert asked.count(1) == n
        ok_at = {e: sum(1 for r in children if e in r.rung_errors) for e in (1, 3)}
        assert asked.count(3) == max(1, math.ceil(ok_at[1] / 3))
        assert asked.count(9) == max(1, math.ceil(ok_at[3] / 3))
        for row in children:  # every rung result carries its commit order
            assert sorted(int(e) for e in row.fidelity["completed"]) == [e for e in (1, 3, 9) if e <= row.epochs]
    assert result.pareto and not any(r.stopped_early for r in result.pareto)
    assert not list((tmp_path / "run" / "rungs").glob("*"))  # every child is final: no checkpoint left


@pytest.mark.parametrize("interrupt_after", [10, 12, 14, 17, 21])
def test_a_resume_replays_the_recorded_order_and_ends_as_the_uninterrupted_run(tmp_path, interrupt_after):
    with _runner(tmp_path / "straight", OutOfOrderPool()) as runner:
        runner.run()
    first = OutOfOrderPool()
    with pytest.raises(KeyboardInterrupt), _runner(tmp_path / "resumed", first, callbacks=[StopAfter(interrupt_after)]) \
            as runner:
        runner.run()
    second = OutOfOrderPool()
    with _runner(tmp_path / "resumed", second) as runner:
        runner.run()
    assert _snapshot(tmp_path / "resumed") == _snapshot(tmp_path / "straight")
    committed = set(first.trained)
    assert not committed & set(second.trained)  # nothing that finished is trained again
    assert second.trained  # the rest was trained after the replay


def test_a_resume_whose_record_does_not_replay_stops_with_a_clear_error(tmp_path):
    with pytest.raises(KeyboardInterrupt), _runner(tmp_path / "run", OutOfOrderPool(), callbacks=[StopAfter(17)]) \
            as runner:
        runner.run()
    with Archive(tmp_path / "run") as archive:
        row = next(r for r in archive.rows() if r.generation == 1)
    fidelity = dict(row.fidelity)
    fidelity["completed"] = {"3": fidelity["completed"]["1"]}  # claims 3 epochs where it was never promoted
    db = sqlite3.connect(tmp_path / "run" / "archive.sqlite")
    with db:
        db.execute("UPDATE architectures SET fidelity = ? WHERE key = ?", (json.dumps(fidelity), row.key))
    db.close()
    with pytest.raises(ReplayDivergedError, match="cannot be resumed"), _runner(tmp_path / "run", OutOfOrderPool()) \
            as runner:
        runner.run()


def test_asynchronous_promotion_changes_the_fingerprint_and_needs_a_parallel_evaluator(tmp_path):
    with _runner(tmp_path / "run", OutOfOrderPool()) as runner:
        runner.run()
    with pytest.raises(ValueError, match="different configuration"):
        _runner(tmp_path / "run", OutOfOrderPool(), Fidelity((1, 3, 9), 1 / 3))
    assert "asynchronous" not in Fidelity((1, 9)).describe()  # synchronous fingerprints are unchanged

    class Sequential:
        def evaluate(self, candidates):
            yield from (safe_evaluate(analytic_objectives, c) for c in candidates)

    with pytest.raises(ValueError, match="one at a time"):
        _runner(tmp_path / "other", Sequential())


def test_bad_asynchronous_settings_are_one_line_each():
    with pytest.raises(ValueError, match="asynchronous must be true or false"):
        make_fidelity([1, 3], None, None, 3, asynchronous="yes")
    settings = {"search": {"workers": 1, "fidelity": {"rungs": [1, 3], "asynchronous": True}},
                "trainer": {"max_epochs": 3}, "data": {"class_path": "nsga_lightning.data.DigitsDataModule"}}
    with pytest.raises(ValueError, match=r"asynchronous needs search.workers > 1") as info:
        check_config(settings)
    assert "\n" not in str(info.value)
