"""The bench's timing helpers (bench/timing.py), on a fake clock: every contender "takes" exactly
the time the test gives it, so orders, medians, ratios and the budget's subsets have answers
worked out by hand. Needs the repository root on sys.path (``python -m pytest`` from there)."""

from __future__ import annotations

import math
from collections.abc import Callable
from types import SimpleNamespace

import numpy as np
import pytest

import bench.timing as timing
from bench.timing import Contender, Series, interleaved, ratio, repeat_ms


class FakeClock:
    """``perf_counter`` that moves only when a contender runs."""

    def __init__(self) -> None:
        self.now = 0.0

    def perf_counter(self) -> float:
        return self.now

    def contender(self, name: str, seconds: Callable[[int], float], log: list[tuple[str, int]]) -> Contender[int]:
        def run(item: int) -> str:
            log.append((name, item))
            self.now += seconds(item)
            return f"{name}:{item}"
        return Contender(name, run)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    fake = FakeClock()
    monkeypatch.setattr(timing, "time", SimpleNamespace(perf_counter=fake.perf_counter))
    return fake


def test_each_round_rotates_who_goes_first(clock: FakeClock) -> None:
    log: list[tuple[str, int]] = []
    contenders = [clock.contender(n, lambda i: 0.001, log) for n in "abc"]
    interleaved(contenders, list(range(4)), warmup=1)
    warmups, rounds = log[:3], log[3:]
    assert warmups == [("a", 0), ("b", 0), ("c", 0)]
    assert rounds == [("a", 0), ("b", 0), ("c", 0),
                      ("b", 1), ("c", 1), ("a", 1),
                      ("c", 2), ("a", 2), ("b", 2),
                      ("a", 3), ("b", 3), ("c", 3)]


def test_times_and_outputs_are_kept_per_item_and_summarised_by_median(clock: FakeClock) -> None:
    log: list[tuple[str, int]] = []
    durations = [0.010, 0.030, 0.020, 0.500, 0.040]  # one slow outlier
    series = interleaved([clock.contender("a", lambda i: durations[i], log)], list(range(5)), warmup=1)["a"]
    assert series.times == pytest.approx(dict(enumerate(durations)))
    assert series.outputs == {i: f"a:{i}" for i in range(5)}
    assert series.median_ms() == pytest.approx(30.0)  # 10 20 [30] 40 500: the outlier does not move it
    assert series.median_ms([0, 1]) == pytest.approx(20.0)
    assert series.p90_ms() == pytest.approx(float(np.percentile([10, 30, 20, 500, 40], 90)))
    assert series.stride == 1 and series.error is None


def test_ratio_is_taken_over_the_items_both_contenders_ran() -> None:
    ours = Series("ours", times={0: 0.001, 1: 0.002, 2: 0.003, 3: 0.010})
    peer = Series("peer", times={1: 0.001, 3: 0.004, 7: 1.0})
    # common items 1 and 3: ours median (2 + 10) / 2 = 6 ms, the peer's (1 + 4) / 2 = 2.5 ms
    assert ratio(ours, peer) == pytest.approx(6 / 2.5)
    assert math.isnan(ratio(ours, Series("none", times={9: 0.001})))


def test_a_budget_gives_a_slow_contender_a_fixed_pseudo_random_share(clock: FakeClock) -> None:
    """Warm-up times 0.01 s and 1 s on 40 items within a 10 s budget: strides 1 and
    ceil(1 * 40 / 10) = 4, i.e. the slow ones run 10 items, the same 10 for both slow ones,
    from both videos of an interleaving of two (even and odd items) and both halves of the list."""
    log: list[tuple[str, int]] = []
    fast = clock.contender("fast", lambda i: 0.01, log)
    slow = clock.contender("slow", lambda i: 1.0, log)
    twin = clock.contender("twin", lambda i: 1.0, log)
    series = interleaved([fast, slow, twin], list(range(40)), warmup=2, budget_s=10.0)
    assert [series[n].stride for n in ("fast", "slow", "twin")] == [1, 4, 4]
    assert sorted(series["fast"].times) == list(range(40))
    chosen = set(series["slow"].times)
    assert len(chosen) == 10 and set(series["twin"].times) == chosen
    assert chosen != set(range(0, 40, 4)), "a fixed subset, not every k-th item"
    assert {i % 2 for i in chosen} == {0, 1} and min(chosen) < 20 <= max(chosen)
    assert ratio(series["fast"], series["slow"]) == pytest.approx(0.01)


def test_a_contender_that_breaks_is_reported_and_the_others_go_on(clock: FakeClock) -> None:
    log: list[tuple[str, int]] = []

    def broken(item: int) -> None:
        raise RuntimeError("no model")

    series = interleaved([Contender("broken", broken), clock.contender("ok", lambda i: 0.002, log)],
                         list(range(3)), warmup=1)
    assert series["broken"].error == "RuntimeError: no model" and series["broken"].times == {}
    assert sorted(series["ok"].times) == [0, 1, 2]
    assert math.isnan(ratio(series["ok"], series["broken"]))


def test_repeat_ms_times_only_the_repetitions_after_warm_up(clock: FakeClock) -> None:
    calls = iter([5.0, 5.0, 0.001, 0.002, 0.003, 0.004])  # two slow warm-up calls, then four timed

    def step() -> None:
        clock.now += next(calls)

    summary = repeat_ms(step, reps=4, warmup=2)
    assert summary["n"] == 4
    assert summary["median_ms"] == pytest.approx(2.5)
    assert summary["p90_ms"] == pytest.approx(float(np.percentile([1, 2, 3, 4], 90)))
