"""An episode's timeline, saved beside its conversation (timeline.json) and named by its result:
the workload's per-second points (requests, success rate, p50 and p95 latency) and what happened
when (the injection, its confirmation, each agent step with its outcome, the fault's stop and the
window the verdict was judged on), all in Unix time."""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from remedlab.agents.run import CONVERSATION_FILE

TIMELINE_FILE = "timeline.json"
LEAD_SECONDS = 5.0
"""Seconds of workload before an episode's first event that its timeline keeps (the baseline)."""

INJECT, CONFIRM, AGENT_START, AGENT_STEP, AGENT_END, STOP, VERDICT = (
    "inject",
    "confirm",
    "agent-start",
    "agent-step",
    "agent-end",
    "stop",
    "verdict",
)
AGENT_KINDS = {
    "playbook": "playbook",
    "exec_shell": "shell",
    "aci": "tool",
    "probe": "probe",
    "observation": "observation",
    "submit": "submit",
    "verification": "verification",
    "mcp": "tool",
}
"""The conversation's entries that are agent steps, and the name a timeline gives them."""


@dataclass(frozen=True)
class TimelineEvent:
    t: float
    kind: str
    label: str
    outcome: str | None = None
    """ok, failed, refused: what an action came to, where it has an outcome."""
    end: float | None = None
    """The end of a window (the verdict's)."""

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TimelineEvent:
        end = data.get("end")
        return cls(
            t=float(data["t"]),
            kind=str(data["kind"]),
            label=str(data.get("label") or ""),
            outcome=None if data.get("outcome") is None else str(data["outcome"]),
            end=None if end is None else float(end),
        )


@dataclass(frozen=True)
class WorkloadPoint:
    t: float
    requests: int
    success_rate: float | None
    p50_ms: float | None
    p95_ms: float | None

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> WorkloadPoint:
        def number(key: str) -> float | None:
            value = data.get(key)
            return None if value is None else float(value)

        return cls(
            t=float(data["t"]),
            requests=int(data.get("requests") or 0),
            success_rate=number("success_rate"),
            p50_ms=number("p50_ms"),
            p95_ms=number("p95_ms"),
        )


@dataclass
class Timeline:
    events: list[TimelineEvent] = field(default_factory=list)
    points: list[WorkloadPoint] = field(default_factory=list)

    def mark(self, kind: str, label: str, outcome: str | None = None, at: float | None = None) -> None:
        self.events.append(TimelineEvent(time.time() if at is None else at, kind, label, outcome))

    def window(self, kind: str, label: str, start: float, end: float, outcome: str | None = None) -> None:
        self.events.append(TimelineEvent(start, kind, label, outcome, end))

    def to_dict(self) -> dict[str, Any]:
        return {
            "events": [asdict(e) for e in sorted(self.events, key=lambda e: e.t)],
            "points": [asdict(p) for p in self.points],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Timeline:
        return cls(
            events=[TimelineEvent.from_dict(e) for e in data.get("events") or []],
            points=[WorkloadPoint.from_dict(p) for p in data.get("points") or []],
        )

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(self.to_dict(), separators=(",", ":")) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> Timeline:
        return cls.from_dict(json.loads(path.read_text(encoding="utf-8")))


def _step(entry: dict[str, Any]) -> tuple[str, str | None]:
    """A conversation entry's label and outcome as a timeline step."""
    kind = str(entry.get("kind"))
    if kind == "playbook":
        answer = entry.get("answer") or {}
        outcome = "refused" if answer.get("refused") else ("ok" if answer.get("ok") else "failed")
        return f"playbook {entry.get('file') or ''}".strip(), outcome
    if kind == "exec_shell":
        return f"shell: {str(entry.get('command') or '')[:80]}", None
    if kind == "aci":
        return f"tool: {entry.get('call') or ''}", None
    if kind == "observation":
        return "observation" + (f" (step {entry['step']})" if entry.get("step") is not None else ""), None
    if kind == "submit":
        return f"submit: {json.dumps(entry.get('answer'), default=str)[:80]}", None
    if kind == "verification":
        attempt = f" (attempt {entry['attempt']})" if entry.get("attempt") is not None else ""
        return f"verification{attempt}", "ok" if entry.get("fixed") else "failed"
    return AGENT_KINDS.get(kind, kind), None


def agent_steps(folder: Path) -> list[TimelineEvent]:
    """The agent's steps, from the conversation an episode saved in ``folder`` (none without one)."""
    try:
        log = json.loads((folder / CONVERSATION_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    started = float(log.get("started") or 0.0)
    steps = []
    for entry in log.get("entries") or []:
        if entry.get("kind") in AGENT_KINDS:
            label, outcome = _step(entry)
            steps.append(TimelineEvent(started + float(entry.get("t") or 0.0), AGENT_STEP, label, outcome))
    return steps
