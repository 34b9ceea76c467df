"""The oracle's sequential test: how much evidence passes a healthy system, how rarely a degraded one
passes, and which requests count as evidence."""

from __future__ import annotations

import random

from remedlab.observe.workload.stats import WorkloadStats
from remedlab.oracle.sequential import SequentialTest


def passes_within(test: SequentialTest, bad_rate: float, requests: int, rng: random.Random) -> bool:
    good = bad = 0
    for _ in range(requests):
        if rng.random() < bad_rate:
            bad += 1
        else:
            good += 1
        if test.weigh(good, bad).healthy:
            return True
    return False


def test_a_clean_stream_passes_after_a_few_seconds_of_requests() -> None:
    test = SequentialTest()
    needed = next(n for n in range(1, 500) if test.weigh(n, 0).healthy)
    assert 15 <= needed <= 40  # 1.5-4 s of a 10 req/s workload
    assert not test.weigh(needed, 1).healthy  # one bad request asks for more evidence


def test_a_degraded_system_passes_at_most_as_often_as_allowed() -> None:
    test = SequentialTest(false_pass=0.01, false_fail=0.01)
    rng = random.Random(7)
    trials = 3000
    passed = sum(passes_within(test, test.degraded_rate, 150, rng) for _ in range(trials))
    assert passed / trials <= 0.01


def test_a_healthy_system_passes_early_nearly_always() -> None:
    test = SequentialTest(baseline_bad=0.0)
    rng = random.Random(11)
    trials = 2000
    passed = sum(passes_within(test, 0.005, 150, rng) for _ in range(trials))
    assert passed / trials >= 0.99


def test_the_baseline_failures_move_what_counts_as_healthy() -> None:
    flaky = SequentialTest(baseline_bad=0.1)
    assert flaky.healthy_rate > SequentialTest().healthy_rate
    assert flaky.weigh(60, 6).healthy  # 9 % bad: the baseline's share
    assert not SequentialTest().weigh(60, 6).healthy


def test_only_seconds_whose_requests_all_finished_count_and_slow_successes_are_bad() -> None:
    stats = WorkloadStats()
    for second in range(3):
        for i in range(10):
            stats.record_sent(second + i / 10)
    for i in range(10):
        stats.record_result(0 + i / 10, 0.005, "ok")
    for i in range(9):
        stats.record_result(1 + i / 10, 0.5 if i == 0 else 0.005, "ok")
    stats.record_result(1.95, 0.005, "timeout")
    for i in range(9):  # second 2 still waits for one request
        stats.record_result(2 + i / 10, 0.005, "ok")
    assert stats.settled_outcomes(0, 3, slow_ms=100) == (18, 2)
    assert stats.settled_outcomes(0, 3, slow_ms=None) == (19, 1)
