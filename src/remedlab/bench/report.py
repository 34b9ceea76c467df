"""A run's figures, as MicroRemed reports them (success rate = successes / (total - injection
failures), attempts per success, remediation time, tokens, per fault type) plus cost and the
harness's own time per episode; AIOpsLab's per task (bench/metrics.py), with the always-"Yes" score
beside detection's; the AIOpsLab problems a run skipped, and why; and the terminal's tables of them
(the HTML, Markdown and JSON reports render bench/report_model.py)."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from typing import Any

from rich.table import Table

from remedlab.bench.aiopslab_plan import SkippedProblem, describe_skips
from remedlab.bench.episode import ERROR, INJECTION_FAILURE, SUCCESS
from remedlab.bench.metrics import ACC_K, TaskFigures, task_figures


@dataclass
class Figures:
    label: str
    total: int = 0
    injection_failures: int = 0
    errors: int = 0
    successes: int = 0
    attempts_per_success: float | None = None
    mean_remediation_seconds: float | None = None
    mean_tokens: float | None = None
    mean_steps: float | None = None
    total_cost: float | None = None
    median_harness_seconds: float | None = None
    by_fault: dict[str, tuple[int, int]] = field(default_factory=dict)  # fault -> (successes, judged)

    @property
    def judged(self) -> int:
        return self.total - self.injection_failures - self.errors

    @property
    def success_rate(self) -> float | None:
        return self.successes / self.judged if self.judged else None


def _mean(values: list[float]) -> float | None:
    return statistics.fmean(values) if values else None


def figures(records: list[dict[str, Any]], label: str = "") -> Figures:
    out = Figures(label=label, total=len(records))
    judged = [r for r in records if r.get("status") not in (INJECTION_FAILURE, ERROR)]
    out.injection_failures = sum(r.get("status") == INJECTION_FAILURE for r in records)
    out.errors = sum(r.get("status") == ERROR for r in records)
    wins = [r for r in judged if r.get("status") == SUCCESS]
    out.successes = len(wins)
    attempts = [float((r.get("agent") or {}).get("attempts", 0)) for r in wins]
    out.attempts_per_success = _mean(attempts)
    out.mean_remediation_seconds = _mean([float(r.get("remediation_seconds", 0)) for r in judged])
    out.mean_tokens = _mean([float(((r.get("agent") or {}).get("usage") or {}).get("total_tokens", 0)) for r in judged])
    out.mean_steps = _mean([float((r.get("agent") or {}).get("steps", 0)) for r in judged])
    costs = [(r.get("agent") or {}).get("cost") for r in judged]
    known = [float(c) for c in costs if c is not None]
    out.total_cost = sum(known) if known and len(known) == len(costs) else None
    harness = [float(r["harness_seconds"]) for r in records if "harness_seconds" in r]
    out.median_harness_seconds = statistics.median(harness) if harness else None
    for record in judged:
        wins_, count = out.by_fault.get(record["fault"], (0, 0))
        out.by_fault[record["fault"]] = (wins_ + (record.get("status") == SUCCESS), count + 1)
    return out


def pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def num(value: float | None, unit: str = "", digits: int = 1) -> str:
    return "-" if value is None else f"{value:.{digits}f}{unit}"


TIME_NAMES = {
    "detection": "mean time to detect (TTD)",
    "localization": "mean time to localize (TTL)",
    "analysis": "mean time to analyse (TTA)",
    "mitigation": "mean remediation time (TTM)",
    "mixed": "mean agent time (every task)",
}


def task_rows(fig: TaskFigures) -> list[str]:
    """A task's figures as table cells: task, episodes judged, successes, success rate, mean score,
    Acc@3 (localization), mean time, steps, tokens in and out, and the always-"Yes" success rate
    (detection)."""
    return [
        fig.task,
        f"{fig.judged}/{fig.episodes}" + (f" ({fig.controls} no fault)" if fig.task == "detection" else ""),
        str(fig.successes),
        pct(fig.success_rate),
        num(fig.mean_score),
        pct(fig.acc_at_k) if fig.acc_at_k is not None else "",
        num(fig.mean_seconds, " s") + f" {fig.time_metric}",
        num(fig.mean_steps),
        num(fig.mean_in_tokens, digits=0),
        num(fig.mean_out_tokens, digits=0),
        pct(fig.always_yes) if fig.always_yes is not None else "",
    ]


TASK_COLUMNS = (
    "task",
    "judged",
    "successes",
    "success rate",
    "mean score",
    f"Acc@{ACC_K}",
    "mean time",
    "steps",
    "tokens in",
    "tokens out",
    'always "Yes"',
)


def task_table(records: list[dict[str, Any]], title: str, default_task: str = "mitigation") -> Table:
    """AIOpsLab's metrics per task."""
    table = Table(title=title, title_justify="left")
    for i, name in enumerate(TASK_COLUMNS):
        table.add_column(name, justify="left" if i == 0 else "right")
    for fig in task_figures(records, default_task):
        table.add_row(*task_rows(fig))
    return table


def skipped_of(run: dict[str, Any]) -> list[SkippedProblem]:
    return [SkippedProblem.from_dict(entry) for entry in run.get("skipped") or []]


def skip_lines(run: dict[str, Any]) -> list[str]:
    """What the run says of the AIOpsLab problems it skipped: how many for each reason, and which."""
    skipped = skipped_of(run)
    if not skipped:
        return []
    head = f"AIOpsLab problems skipped: {len(skipped)} of {run.get('selected') or len(skipped)} selected"
    return [head, *(f"  {line}" for line in describe_skips(skipped))]


def summary_table(fig: Figures, title: str, parallel: int = 1, task: str = "mitigation") -> Table:
    table = Table(title=title, title_justify="left")
    table.add_column("figure")
    table.add_column("value", justify="right")
    rows = [
        ("episodes", str(fig.total)),
        ("injection failures", str(fig.injection_failures)),
        ("harness errors", str(fig.errors)),
        ("successes", str(fig.successes)),
        ("success rate", pct(fig.success_rate)),
        ("attempts per success", num(fig.attempts_per_success, digits=2)),
        (TIME_NAMES.get(task, TIME_NAMES["mitigation"]), num(fig.mean_remediation_seconds, " s")),
        ("mean agent steps", num(fig.mean_steps)),
        ("mean tokens", num(fig.mean_tokens, digits=0)),
        ("cost", "-" if fig.total_cost is None else f"${fig.total_cost:.4f}"),
        ("median harness time per episode", num(fig.median_harness_seconds, " s")),
        ("episodes at once", str(parallel)),
    ]
    for name, value in rows:
        table.add_row(name, value)
    for fault, (wins, count) in sorted(fig.by_fault.items()):
        table.add_row(f"  {fault}", f"{wins}/{count} ({wins / count:.0%})")
    return table
