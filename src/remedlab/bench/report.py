"""A run's figures, as MicroRemed reports them (success rate = successes / (total - injection
failures), attempts per success, remediation time, tokens, per fault type) plus cost and the
harness's own time per episode; AIOpsLab's per task (bench/metrics.py), with the always-"Yes" score
beside detection's; the AIOpsLab problems a run skipped, and why; a terminal table, and an HTML page
with plots comparing runs."""

from __future__ import annotations

import html
import statistics
from dataclasses import dataclass, field
from pathlib import Path
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


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def _num(value: float | None, unit: str = "", digits: int = 1) -> str:
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
        _pct(fig.success_rate),
        _num(fig.mean_score),
        _pct(fig.acc_at_k) if fig.acc_at_k is not None else "",
        _num(fig.mean_seconds, " s") + f" {fig.time_metric}",
        _num(fig.mean_steps),
        _num(fig.mean_in_tokens, digits=0),
        _num(fig.mean_out_tokens, digits=0),
        _pct(fig.always_yes) if fig.always_yes is not None else "",
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
        ("success rate", _pct(fig.success_rate)),
        ("attempts per success", _num(fig.attempts_per_success, digits=2)),
        (TIME_NAMES.get(task, TIME_NAMES["mitigation"]), _num(fig.mean_remediation_seconds, " s")),
        ("mean agent steps", _num(fig.mean_steps)),
        ("mean tokens", _num(fig.mean_tokens, digits=0)),
        ("cost", "-" if fig.total_cost is None else f"${fig.total_cost:.4f}"),
        ("median harness time per episode", _num(fig.median_harness_seconds, " s")),
        ("episodes at once", str(parallel)),
    ]
    for name, value in rows:
        table.add_row(name, value)
    for fault, (wins, count) in sorted(fig.by_fault.items()):
        table.add_row(f"  {fault}", f"{wins}/{count} ({wins / count:.0%})")
    return table


# ---------------------------------------------------------------- HTML


def _bars(title: str, items: list[tuple[str, float]], unit: str = "%", scale: float = 100.0) -> str:
    """A horizontal bar chart as inline SVG."""
    width, row, left = 560, 22, 190
    height = row * len(items) + 30
    parts = [f'<svg width="{width}" height="{height}" role="img" aria-label="{html.escape(title)}">']
    top = max((v for _, v in items), default=0) or 1.0
    limit = scale if unit == "%" else top
    for i, (name, value) in enumerate(items):
        y = 10 + i * row
        length = (width - left - 70) * (value / limit if limit else 0)
        shown = f"{value:.0f}%" if unit == "%" else f"{value:.1f}{unit}"
        parts.append(f'<text x="{left - 6}" y="{y + 14}" text-anchor="end">{html.escape(name)}</text>')
        parts.append(f'<rect x="{left}" y="{y + 2}" width="{max(length, 1):.1f}" height="16" fill="#4e79a7"/>')
        parts.append(f'<text x="{left + length + 6:.1f}" y="{y + 14}">{shown}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _scatter(title: str, points: list[tuple[float, float, bool]]) -> str:
    """Tokens (x) against remediation time (y), green for successes."""
    width, height, pad = 560, 260, 40
    xs = [p[0] for p in points] or [1.0]
    ys = [p[1] for p in points] or [1.0]
    xmax, ymax = max(xs) or 1.0, max(ys) or 1.0
    parts = [f'<svg width="{width}" height="{height}" role="img" aria-label="{html.escape(title)}">']
    parts.append(f'<line x1="{pad}" y1="{height - pad}" x2="{width - 10}" y2="{height - pad}" stroke="#888"/>')
    parts.append(f'<line x1="{pad}" y1="10" x2="{pad}" y2="{height - pad}" stroke="#888"/>')
    for x, y, ok in points:
        cx = pad + (width - pad - 20) * x / xmax
        cy = height - pad - (height - pad - 20) * y / ymax
        parts.append(f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="4" fill="{"#59a14f" if ok else "#e15759"}"/>')
    parts.append(f'<text x="{width - 10}" y="{height - 12}" text-anchor="end">tokens (max {xmax:.0f})</text>')
    parts.append(f'<text x="{pad + 4}" y="20">time (max {ymax:.0f} s)</text>')
    parts.append("</svg>")
    return "".join(parts)


def html_report(runs: list[tuple[str, dict[str, Any], list[dict[str, Any]]]]) -> str:
    """One page: a column of figures per run, side by side, then each run's plots."""
    figs = [figures(records, label) for label, _, records in runs]
    names = [
        "episodes",
        "injection failures",
        "successes",
        "success rate",
        "attempts per success",
        "mean remediation time (s)",
        "mean tokens",
        "cost ($)",
        "median harness time (s)",
    ]
    values = [
        [
            str(f.total),
            str(f.injection_failures),
            str(f.successes),
            _pct(f.success_rate),
            _num(f.attempts_per_success, digits=2),
            _num(f.mean_remediation_seconds),
            _num(f.mean_tokens, digits=0),
            "-" if f.total_cost is None else f"{f.total_cost:.4f}",
            _num(f.median_harness_seconds),
        ]
        for f in figs
    ]
    head = "".join(f"<th>{html.escape(f.label)}</th>" for f in figs)
    body = "".join(
        f"<tr><td>{html.escape(name)}</td>" + "".join(f"<td>{html.escape(v[i])}</td>" for v in values) + "</tr>"
        for i, name in enumerate(names)
    )
    sections = []
    for (label, run, records), fig in zip(runs, figs, strict=True):
        by_fault = [(fault, 100.0 * w / n) for fault, (w, n) in sorted(fig.by_fault.items()) if n]
        times = sorted(float(r.get("remediation_seconds", 0)) for r in records if r.get("agent"))
        deciles = (
            [(f"p{q}", times[min(len(times) - 1, q * len(times) // 100)]) for q in (10, 25, 50, 75, 90)]
            if times
            else []
        )
        points = [
            (
                float(((r.get("agent") or {}).get("usage") or {}).get("total_tokens", 0)),
                float(r.get("remediation_seconds", 0)),
                r.get("status") == SUCCESS,
            )
            for r in records
            if r.get("agent")
        ]
        described = ", ".join(
            f"{k} {html.escape(str(run.get(k)))}" for k in ("app", "suite", "method", "model", "seed", "parallel")
        )
        sections.append(
            f"<h2>{html.escape(label)}</h2><p>{described}</p>"
            + _task_html(records, str(run.get("task") or "mitigation"))
            + _skips_html(run)
            + f"<h3>Success by fault type</h3>{_bars('success by fault type', by_fault)}"
            f"<h3>Remediation time</h3>{_bars('remediation time', deciles, unit=' s')}"
            f"<h3>Tokens and time (green: success)</h3>{_scatter('tokens vs time', points)}"
        )
    style = (
        "body{font-family:sans-serif;margin:2em;max-width:1100px}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:4px 10px;text-align:right}td:first-child{text-align:left}"
        "svg text{font-size:12px;font-family:sans-serif}"
    )
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>remedlab report</title><style>{style}</style>"
        f"</head><body><h1>remedlab report</h1><table><tr><th></th>{head}</tr>{body}</table>"
        + "".join(sections)
        + "</body></html>\n"
    )


def _task_html(records: list[dict[str, Any]], default_task: str) -> str:
    rows = [task_rows(fig) for fig in task_figures(records, default_task)]
    if not rows:
        return ""
    head = "".join(f"<th>{html.escape(c)}</th>" for c in TASK_COLUMNS)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(v)}</td>" for v in row) + "</tr>" for row in rows)
    return f"<h3>By task (AIOpsLab's metrics)</h3><table><tr>{head}</tr>{body}</table>"


def _skips_html(run: dict[str, Any]) -> str:
    lines = skip_lines(run)
    if not lines:
        return ""
    items = "".join(f"<li>{html.escape(line.strip())}</li>" for line in lines[1:])
    return f"<h3>{html.escape(lines[0])}</h3><ul>{items}</ul>"


def write_html(path: Path, runs: list[tuple[str, dict[str, Any], list[dict[str, Any]]]]) -> None:
    path.write_text(html_report(runs), encoding="utf-8")
