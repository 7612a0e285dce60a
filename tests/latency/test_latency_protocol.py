"""The measurement protocol's logic, driven by fake runners and a fake clock (no timing of real code)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from nsga_lightning.latency.protocol import Protocol, estimate, measure, rotation, spread


class FakeMachine:
    """A clock and runners whose calls take a fixed time per call times a slowdown that changes with the round."""

    def __init__(self, per_call: dict[str, float], slowdown=lambda t: 1.0) -> None:
        self.now, self.per_call, self.slowdown = 0.0, per_call, slowdown
        self.calls: list[str] = []

    def clock(self) -> float:
        return self.now

    def runners(self) -> dict:
        def runner(name: str):
            def run(k: int) -> float:
                seconds = k * self.per_call[name] * self.slowdown(self.now)
                self.now += seconds
                self.calls.append(name)
                return seconds

            return run

        return {name: runner(name) for name in self.per_call}


def test_steady_runners_stop_at_min_repeats_with_exact_estimates() -> None:
    machine = FakeMachine({"a": 0.004, "b": 0.001})
    found = measure(machine.runners(), Protocol(min_repeats=7, warmup_s=0.0, best_of=1), clock=machine.clock)
    assert found["a"].repeats == found["b"].repeats == 7
    assert found["a"].ms == pytest.approx(4.0) and found["b"].ms == pytest.approx(1.0)
    assert found["a"].spread == 0.0
    assert found["b"].calls == 2  # blocks of 2 ms of calls (min_sample_s): 2 calls of 1 ms


def test_noisy_runners_run_until_the_time_cap_and_report_their_spread() -> None:
    noise = itertools.cycle([1.0, 1.5, 0.7, 1.3])
    machine = FakeMachine({"a": 0.01})
    machine.slowdown = lambda t: next(noise)
    protocol = Protocol(min_repeats=5, max_repeats=1000, threshold=0.01, time_cap_s=1.0, warmup_s=0.0, best_of=1)
    found = measure(machine.runners(), protocol, clock=machine.clock)["a"]
    assert 5 < found.repeats < 1000  # stopped by the cap, not by the spread
    assert found.spread > 0.01
    assert machine.now == pytest.approx(1.0, abs=0.1)


def test_the_estimate_is_the_median_or_the_interquartile_mean() -> None:
    samples = [1.0, 2.0, 3.0, 4.0, 100.0]
    assert estimate(samples, "median") == 3.0
    assert estimate(samples, "iqm") == pytest.approx(3.0)  # 2, 3, 4: the outlier is left out
    assert spread([1.0, 1.0, 1.0]) == 0.0
    assert spread([1.0, 2.0, 3.0, 4.0, 5.0]) == pytest.approx((4.0 - 2.0) / 3.0)


def test_rounds_rotate_so_every_item_runs_first_and_last() -> None:
    names = ["a", "b", "c"]
    orders = [rotation(names, r) for r in range(6)]
    assert orders[:3] == [["a", "b", "c"], ["b", "c", "a"], ["c", "a", "b"]]
    assert orders[3] == ["c", "b", "a"]  # reversed in the next pass
    assert {o[0] for o in orders} == {o[-1] for o in orders} == set(names)


def test_a_reference_cancels_a_slowdown_that_hits_every_item_of_a_round() -> None:
    machine = FakeMachine({"ref": 0.002, "x": 0.006})
    # spells of up to 4x slower rounds (each round: the two calls after the six warm-up calls)
    machine.slowdown = lambda t: 1.0 + 3.0 * ((max(len(machine.calls) - 6, 0) // 2) % 4)
    protocol = Protocol(min_repeats=20, warmup_s=0.0, threshold=0.0, max_repeats=20, best_of=1)
    plain = measure(machine.runners(), protocol, clock=machine.clock)
    machine.now = 0.0
    paired = measure(machine.runners(), protocol, clock=machine.clock, reference="ref")
    assert plain["x"].spread > 0.3  # the drift shows in the plain samples
    assert paired["x"].ratio == pytest.approx(3.0) and paired["x"].spread == pytest.approx(0.0, abs=1e-9)
    assert paired["x"].ms == pytest.approx(3.0 * paired["ref"].ms)


def test_the_warm_up_lasts_its_calls_and_its_seconds() -> None:
    machine = FakeMachine({"a": 0.01})
    measure(machine.runners(), Protocol(warmup_calls=2, warmup_s=0.095, min_repeats=1, max_repeats=1),
            clock=machine.clock)
    assert machine.calls.count("a") == 10 + 3  # 0.1 s of 10 ms calls, then one sample: the best of 3 blocks


def test_a_sample_is_the_fastest_of_its_blocks() -> None:
    disturbed = itertools.cycle([3.0, 1.0, 2.0])  # a preemption, then a clean block, then cold caches
    machine = FakeMachine({"a": 0.01})
    machine.slowdown = lambda t: next(disturbed)
    found = measure(machine.runners(), Protocol(warmup_calls=1, warmup_s=0.0, min_repeats=4, max_repeats=4),
                    clock=machine.clock)["a"]
    assert found.ms == pytest.approx(10.0) and found.spread == 0.0


@pytest.mark.parametrize(("field", "value", "text"), [
    ("estimator", "mean", "estimator must be one of median, iqm"),
    ("min_repeats", 0, "min_repeats must be an integer >= 1"),
    ("threshold", -1, "threshold must be a number >= 0"),
])
def test_bad_protocol_settings_are_one_line(field: str, value: object, text: str) -> None:
    with pytest.raises(ValueError, match=text):
        Protocol(**{field: value})
    with pytest.raises(ValueError, match="max_repeats"):
        Protocol(min_repeats=5, max_repeats=3)


def test_nothing_to_measure_and_an_unknown_reference_are_refused() -> None:
    with pytest.raises(ValueError, match="nothing to measure"):
        measure({})
    with pytest.raises(ValueError, match="reference 'r' is not among"):
        measure({"a": lambda k: 0.001 * k}, reference="r")
    assert np.isfinite(measure({"a": lambda k: 0.001 * k}, Protocol(warmup_s=0, min_repeats=3))["a"].ms)
