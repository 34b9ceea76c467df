"""An episode's timeline: the workload's seconds between two Unix times, the agent's steps taken
from its conversation with their outcomes, and the file that holds them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from remedlab.agents.run import CONVERSATION_FILE
from remedlab.bench.timeline import AGENT_STEP, VERDICT, Timeline, agent_steps
from remedlab.observe.workload.stats import WorkloadStats


def test_the_workload_series_covers_the_asked_seconds() -> None:
    stats = WorkloadStats(started_at=1000.0)
    for second in range(10):
        for i in range(4):
            stats.record_sent(second + i / 4)
            stats.record_result(second + i / 4, 0.010 if second < 5 else 0.050, "ok" if i or second < 5 else "timeout")
    points = stats.series(1003.0, 1007.0)
    assert [p.t for p in points] == [1003.0, 1004.0, 1005.0, 1006.0]
    assert points[0].success_rate == 1.0 and points[2].success_rate == pytest.approx(0.75)
    assert points[0].p50_ms == pytest.approx(10, rel=0.01) and points[3].p95_ms == pytest.approx(50, rel=0.01)
    assert all(p.requests == 4 for p in points)
    assert stats.series(900.0, 1000.0) == []


def test_agent_steps_come_from_the_conversation(tmp_path: Path) -> None:
    entries = [
        {"t": 0.0, "kind": "incident", "namespace": "ns"},
        {"t": 0.5, "kind": "request", "messages": []},
        {"t": 1.0, "kind": "observation", "step": 1, "findings": []},
        {"t": 2.0, "kind": "playbook", "file": "playbook-1.yml", "answer": {"ok": False, "exitCode": 2}},
        {
            "t": 3.0,
            "kind": "playbook",
            "file": "playbook-2.yml",
            "answer": {"ok": False, "refused": "kubectl delete ns"},
        },
        {"t": 4.0, "kind": "exec_shell", "command": "kubectl get pods -n ns", "answer": "..."},
        {"t": 5.0, "kind": "submit", "answer": "Yes"},
        {"t": 6.0, "kind": "end", "ended": "done", "reason": "submitted"},
    ]
    (tmp_path / CONVERSATION_FILE).write_text(json.dumps({"started": 100.0, "entries": entries}))
    steps = agent_steps(tmp_path)
    assert [(s.t, s.label, s.outcome) for s in steps] == [
        (101.0, "observation (step 1)", None),
        (102.0, "playbook playbook-1.yml", "failed"),
        (103.0, "playbook playbook-2.yml", "refused"),
        (104.0, "shell: kubectl get pods -n ns", None),
        (105.0, 'submit: "Yes"', None),
    ]
    assert all(s.kind == AGENT_STEP for s in steps)
    assert agent_steps(tmp_path / "nowhere") == []


def test_a_timeline_is_saved_and_read_back(tmp_path: Path) -> None:
    timeline = Timeline()
    timeline.mark("inject", "inject cpu-stress on a", at=10.0)
    timeline.window(VERDICT, "verdict: passed (sequential)", 20.0, 24.5, "ok")
    timeline.save(tmp_path / "timeline.json")
    again = Timeline.load(tmp_path / "timeline.json")
    assert again == timeline
    assert again.events[1].end == 24.5 and again.events[1].outcome == "ok"
