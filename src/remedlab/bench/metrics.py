"""AIOpsLab's metrics. Per episode: the agent's time to its answer or fix, named by task (TTD, TTL,
TTA, TTM), its steps and its input and output tokens. Per task: successes among the judged episodes
(injection failures and harness errors are not judged), those means, the mean score (localization's
is AIOpsLab's: 100/len when the faulty component is in the answer), localization's Acc@3 (the
faulty component among the first three answers, as the AIOpsLab paper reports it), and for detection
the success rate an always-"Yes" answerer gets on the same episodes: the chance level to beat."""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from typing import Any

from remedlab.agents.episode import TASKS
from remedlab.bench.answers import NO_FAULT

TIME_METRIC = {"detection": "TTD", "localization": "TTL", "analysis": "TTA", "mitigation": "TTM"}
JUDGED = ("success", "failure")
ACC_K = 3


def episode_metrics(record: dict[str, Any]) -> dict[str, Any]:
    """The AIOpsLab metrics of a finished episode record (empty when the agent never ran)."""
    agent = record.get("agent") or {}
    if not agent:
        return {}
    task = str(record.get("task") or "mitigation")
    usage = agent.get("usage") or {}
    return {
        "task": task,
        TIME_METRIC.get(task, "TTM"): round(float(agent.get("seconds") or 0.0), 3),
        "steps": int(agent.get("steps") or 0),
        "in_tokens": int(usage.get("input_tokens") or 0),
        "out_tokens": int(usage.get("output_tokens") or 0),
    }


@dataclass(frozen=True)
class TaskFigures:
    task: str
    episodes: int
    judged: int
    successes: int
    controls: int
    mean_seconds: float | None
    mean_steps: float | None
    mean_in_tokens: float | None
    mean_out_tokens: float | None
    mean_score: float | None
    always_yes: float | None
    """Detection only: the success rate of answering "Yes" to every judged episode."""
    acc_at_k: float | None = None
    """Localization only: the share of judged episodes whose answer has the truth among its first
    ``ACC_K``."""

    @property
    def success_rate(self) -> float | None:
        return self.successes / self.judged if self.judged else None

    @property
    def time_metric(self) -> str:
        return TIME_METRIC.get(self.task, "TTM")


def _mean(values: list[float]) -> float | None:
    return statistics.fmean(values) if values else None


def _score(record: dict[str, Any]) -> float:
    verdict = record.get("verdict") or {}
    if "score" in verdict:
        return float(verdict["score"])
    return 100.0 if record.get("status") == "success" else 0.0


def _acc_at_k(judged: list[dict[str, Any]]) -> float:
    ranks = [(r.get("verdict") or {}).get("rank") for r in judged]
    return sum(1 for rank in ranks if rank is not None and int(rank) <= ACC_K) / len(judged)


def task_figures(records: list[dict[str, Any]], default_task: str = "mitigation") -> list[TaskFigures]:
    """The figures of each task the records hold, in AIOpsLab's order (records without a task, from
    runs of one task, count as ``default_task``)."""
    out = []
    for task in TASKS:
        these = [r for r in records if str(r.get("task") or default_task) == task]
        if not these:
            continue
        judged = [r for r in these if r.get("status") in JUDGED]
        agents = [r.get("agent") or {} for r in judged]
        usages = [a.get("usage") or {} for a in agents]
        controls = sum(1 for r in judged if r.get("fault") == NO_FAULT)
        out.append(
            TaskFigures(
                task=task,
                episodes=len(these),
                judged=len(judged),
                successes=sum(1 for r in judged if r.get("status") == "success"),
                controls=controls,
                mean_seconds=_mean([float(a.get("seconds") or 0.0) for a in agents]),
                mean_steps=_mean([float(a.get("steps") or 0) for a in agents]),
                mean_in_tokens=_mean([float(u.get("input_tokens") or 0) for u in usages]),
                mean_out_tokens=_mean([float(u.get("output_tokens") or 0) for u in usages]),
                mean_score=_mean([_score(r) for r in judged]),
                always_yes=(len(judged) - controls) / len(judged) if task == "detection" and judged else None,
                acc_at_k=_acc_at_k(judged) if task == "localization" and judged else None,
            )
        )
    return out
