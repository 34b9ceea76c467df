"""Suites, seeded plans, results files and the figures reported from them."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from remedlab.bench.plan import MICROREMED_FAULTS, SuiteError, draw_plan, read_suite
from remedlab.bench.report import figures
from remedlab.bench.results import RESULTS_FILE, append_result, read_results

TARGETS = {"default": ["a", "b", "c", "d"], "disk-io": ["db"]}


def test_built_in_suites_have_microremed_compositions() -> None:
    assert Counter(read_suite("easy")) == {"cpu-stress": 6, "memory-stress": 5, "network-delay": 6, "network-loss": 6}
    medium = Counter(read_suite("medium"))
    assert sum(medium.values()) == 49 and medium["disk-io"] == 8 and medium["pod-fail"] == 5
    hard = Counter(read_suite("hard"))
    assert sum(hard.values()) == 80 and hard["pod-config-error"] == 14 and hard["cpu-stress"] == 8
    for fault in MICROREMED_FAULTS:
        assert read_suite(fault) == [fault] * 15


def test_suite_files_and_their_errors(tmp_path: Path) -> None:
    suite = tmp_path / "mine.txt"
    suite.write_text("# mine\ncpu-stress\n\n  pod-fail  # trailing comment\n")
    assert read_suite(str(suite), set(MICROREMED_FAULTS)) == ["cpu-stress", "pod-fail"]
    suite.write_text("cpu-stress\ncpu-stres\n")
    with pytest.raises(SuiteError, match="line 2: unknown fault type 'cpu-stres'"):
        read_suite(str(suite), set(MICROREMED_FAULTS))
    with pytest.raises(SuiteError, match="no suite"):
        read_suite(str(tmp_path / "missing.txt"))
    suite.write_text("# nothing\n")
    with pytest.raises(SuiteError, match="lists no fault"):
        read_suite(str(suite))


def test_the_same_seed_gives_the_same_plan() -> None:
    faults = read_suite("hard")
    one = draw_plan(faults, TARGETS, "app", "ns", seed=7)
    assert one == draw_plan(faults, TARGETS, "app", "ns", seed=7)
    assert [s.target for s in one] != [s.target for s in draw_plan(faults, TARGETS, "app", "ns", seed=8)]
    assert {s.target for s in one if s.fault == "disk-io"} == {"db"}
    assert {s.target for s in one if s.fault != "disk-io"} <= set(TARGETS["default"])
    assert [s.index for s in one] == list(range(80))
    assert len(draw_plan(faults, TARGETS, "app", "ns", seed=7, limit=5)) == 5
    with pytest.raises(SuiteError, match="no fault targets"):
        draw_plan(["cpu-stress"], {}, "app", "ns", seed=1)


def test_results_survive_a_torn_last_line(tmp_path: Path) -> None:
    append_result(tmp_path, {"index": 0, "status": "success"})
    append_result(tmp_path, {"index": 1, "status": "failure"})
    with (tmp_path / RESULTS_FILE).open("a") as handle:
        handle.write('{"index": 2, "sta')
    assert [r["index"] for r in read_results(tmp_path)] == [0, 1]


def record(fault: str, status: str, attempts: int = 1, tokens: int = 0, cost: float | None = None) -> dict[str, Any]:
    agent = None
    if status in ("success", "failure"):
        agent = {"attempts": attempts, "usage": {"total_tokens": tokens}, "cost": cost}
    return {
        "fault": fault,
        "status": status,
        "agent": agent,
        "remediation_seconds": 10.0,
        "harness_seconds": 4.0,
    }


def test_figures_follow_microremed_definitions() -> None:
    records = [
        record("cpu-stress", "success", attempts=1, tokens=100, cost=0.01),
        record("cpu-stress", "failure", tokens=300, cost=0.02),
        record("network-loss", "success", attempts=2, tokens=200, cost=0.03),
        record("network-loss", "injection-failure"),
    ]
    fig = figures(records, "run")
    assert (fig.total, fig.injection_failures, fig.successes) == (4, 1, 2)
    assert fig.success_rate == pytest.approx(2 / 3)  # injection failures are not judged
    assert fig.attempts_per_success == 1.5 and fig.mean_tokens == 200
    assert fig.total_cost == pytest.approx(0.06) and fig.median_harness_seconds == 4.0
    assert fig.by_fault == {"cpu-stress": (1, 2), "network-loss": (1, 1)}
    unknown = figures([record("cpu-stress", "success", cost=None)], "x")
    assert unknown.total_cost is None  # a model without a price has no cost, not a zero one


def test_answers_are_graded_as_aiopslab_does() -> None:
    from remedlab.bench.answers import grade_answer

    truth = {"system_level": "Virtualization", "fault_type": "Operation Error"}
    assert grade_answer("detection", "Yes", "pod-fail", "geo", truth)["passed"]
    assert not grade_answer("detection", "Yes", "none", "", {})["passed"]  # a no-fault control
    assert grade_answer("detection", "no", "none", "", {})["passed"]
    one = grade_answer("localization", ["geo"], "pod-fail", "geo", truth)
    assert one["passed"] and one["score"] == 100.0
    two = grade_answer("localization", ["rate", "geo"], "pod-fail", "geo", truth)
    assert not two["passed"] and two["score"] == 50.0 and two["rank"] == 2
    assert grade_answer("localization", "geo", "pod-fail", "geo", truth)["passed"]  # AIOpsLab: "x" is ["x"]
    assert grade_answer("localization", {"geo": 1}, "pod-fail", "geo", truth)["score"] == 0.0  # not a list
    assert grade_answer(
        "analysis", {"system_level": "virtualization", "fault_type": "Operation Error"}, "x", "", truth
    )["passed"]
    assert not grade_answer(
        "analysis", {"system_level": "Application", "fault_type": "Operation Error"}, "x", "", truth
    )["passed"]


def test_no_fault_controls_take_seeded_places() -> None:
    plan = draw_plan(["cpu-stress"] * 4, TARGETS, "app", "ns", seed=3, controls=2)
    assert [s.fault for s in plan].count("none") == 2 and len(plan) == 6
    assert plan == draw_plan(["cpu-stress"] * 4, TARGETS, "app", "ns", seed=3, controls=2)
    assert all(s.target == "" for s in plan if s.fault == "none")
    lanes = draw_plan(["cpu-stress"] * 4, TARGETS, "app", "ns", seed=3, parallel=2)
    assert [s.namespace for s in lanes] == ["ns-1", "ns-2", "ns-1", "ns-2"]
