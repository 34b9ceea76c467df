"""Synthesized run directories for the report's tests: run.json, results.jsonl, and each episode's
timeline, conversation and playbook, shaped as `remedlab run` writes them."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

from remedlab.agents.run import CONVERSATION_FILE
from remedlab.bench.results import append_result, episode_dir, write_run
from remedlab.bench.timeline import (
    AGENT_END,
    AGENT_START,
    AGENT_STEP,
    CONFIRM,
    INJECT,
    STOP,
    TIMELINE_FILE,
    VERDICT,
    Timeline,
    TimelineEvent,
    WorkloadPoint,
)

FAULTS = ("cpu-stress", "pod-fail", "network-loss", "memory-stress")
TARGETS = ("time-service", "greeting-service")
T0 = 1_790_000_000.0


def _timeline(rng: random.Random, start: float, passed: bool) -> tuple[Timeline, float]:
    inject, confirm = start + 5.0, start + 7.0
    agent_start, agent_end = confirm + 0.5, confirm + 0.5 + rng.uniform(5, 30)
    verdict_end = agent_end + rng.uniform(3, 15)
    stop = verdict_end + 0.5
    events = [
        TimelineEvent(inject, INJECT, "inject cpu-stress on time-service"),
        TimelineEvent(confirm, CONFIRM, "fault shows"),
        TimelineEvent(agent_start, AGENT_START, "baseline starts"),
        TimelineEvent(agent_start + 1, AGENT_STEP, "observation (step 1)"),
        TimelineEvent(agent_start + 2, AGENT_STEP, "playbook playbook-1.yml", "ok" if passed else "failed"),
        TimelineEvent(agent_end, AGENT_END, "baseline ends: done", "done"),
        TimelineEvent(
            agent_end, VERDICT, f"verdict: {'passed' if passed else 'failed'} (sequential)", None, verdict_end
        ),
        TimelineEvent(stop, STOP, "fault stopped"),
    ]
    points = []
    for second in range(int(stop - start) + 5):
        t = start + second
        hurt = inject <= t < (agent_end if passed else stop)
        rate = rng.uniform(0.3, 0.7) if hurt else 1.0
        p50 = rng.uniform(4, 6) * (5 if hurt else 1)
        points.append(WorkloadPoint(t, 10, rate, round(p50, 3), round(p50 * 2.5, 3)))
    return Timeline(events, points), stop + 5


def write_run_dir(
    out: Path,
    *,
    method: str = "baseline",
    episodes: int = 3,
    seed: int = 0,
    repeats: int = 1,
    model: str | None = None,
    cost: float | None = None,
) -> Path:
    """A finished run of ``episodes`` episodes (each problem ``repeats`` times); every third fails."""
    rng = random.Random(f"{method}-{seed}")
    plan: list[dict[str, Any]] = []
    for index in range(episodes):
        problem = index // repeats
        fault, target = FAULTS[problem % len(FAULTS)], TARGETS[problem % len(TARGETS)]
        plan.append(
            {"index": index, "fault": fault, "target": target, "app": "simple-micro", "namespace": "simple-micro"}
        )
    run: dict[str, Any] = {
        "app": "simple-micro",
        "namespace": "simple-micro",
        "suite": "easy",
        "method": method,
        "model": {"model": model} if model else None,
        "settings": {"seed": seed, "oracle": "remedlab", "rate": 10.0},
        "task": "mitigation",
        "parallel": 1,
        "created": T0,
        "environment": {
            "versions": {"remedlab": "0.1.0", "python": "3.11.2", "host": "Linux 6.1 x86_64"},
            "isolation": [
                {"mechanism": "cgroups", "level": "full", "detail": "cgroup v2"},
                {"mechanism": "mount namespace", "level": "degraded", "detail": "shim"},
            ],
        },
        "selected": 0,
        "skipped": [],
        "plan": plan,
    }
    write_run(out, run)
    clock = T0
    for spec in plan:
        index = int(spec["index"])
        passed = index % 3 != 2
        timeline, clock_end = _timeline(rng, clock, passed)
        folder = episode_dir(out, index, str(spec["fault"]), str(spec["target"]))
        folder.mkdir(parents=True)
        timeline.save(folder / TIMELINE_FILE)
        (folder / "playbook-1.yml").write_text(
            f"- hosts: localhost\n  tasks:\n    - name: restart {spec['target']}\n"
            f"      command: kubectl rollout restart deployment/{spec['target']} -n simple-micro\n"
        )
        entries = [
            {"t": 0.0, "kind": "incident", "namespace": "simple-micro", "service": spec["target"]},
            {
                "t": 1.0,
                "kind": "observation",
                "step": 1,
                "findings": [{"kind": "cpu", "detail": "CPU at 98% of limit"}],
            },
            {"t": 2.0, "kind": "playbook", "file": "playbook-1.yml", "answer": {"ok": passed}},
            {"t": 3.0, "kind": "end", "ended": "done", "reason": "the playbook ran"},
        ]
        (folder / CONVERSATION_FILE).write_text(json.dumps({"started": clock + 7.5, "entries": entries}))
        seconds = round(rng.uniform(5, 30), 3)
        append_result(
            out,
            {
                **spec,
                "method": method,
                "seed": seed,
                "status": "success" if passed else "failure",
                "agent": {
                    "ended": "done",
                    "attempts": 1,
                    "steps": 2,
                    "seconds": seconds,
                    "usage": {"input_tokens": 0, "output_tokens": 0, "total_tokens": 1200 if model else 0},
                    "cost": cost,
                },
                "verdict": {
                    "passed": passed,
                    "reasons": [] if passed else ["success rate 45% is below the baseline's 100% - 5%"],
                    "decidedBy": "sequential",
                },
                "remediation_seconds": seconds,
                "harness_seconds": 20.0,
                "total_seconds": seconds + 20.0,
                "timeline": f"episodes/{folder.name}/{TIMELINE_FILE}",
            },
        )
        clock = clock_end
    return out
