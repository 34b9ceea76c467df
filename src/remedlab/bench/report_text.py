"""The report as text: a Markdown page of tables (the figures under MicroRemed's and AIOpsLab's names,
and each fault type per series), and a machine-readable JSON summary of the same figures."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from remedlab.bench.report import num, pct
from remedlab.bench.report_model import AIOPSLAB_COLUMNS, FaultCell, Report

SUMMARY_VERSION = 1


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _table(head: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(_cell(h) for h in head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(_cell(v) for v in row) + " |" for row in rows]
    return [*lines, ""]


def _fault_text(cell: FaultCell | None) -> str:
    if cell is None:
        return "-"
    text = f"{cell.successes}/{cell.judged} ({pct(cell.success_rate)})"
    if cell.success_ci is not None:
        text += f" [{pct(cell.success_ci.low)}, {pct(cell.success_ci.high)}]"
    text += f", TTM {num(cell.mean_ttm, ' s')}"
    if cell.mean_cost is not None:
        text += f", ${cell.mean_cost:.4f}"
    elif cell.mean_tokens is not None:
        text += f", {cell.mean_tokens:.0f} tokens"
    text += "".join(f", pass@{k} {pct(v)}" for k, v in cell.pass_at.items())
    return text


def markdown_report(report: Report) -> str:
    lines = [f"# remedlab report: {report.title}", "", "## MicroRemed's figures", ""]
    first = report.runs[0]
    rows = [[m.name, *(run.microremed[i].value for run in report.runs)] for i, m in enumerate(first.microremed)]
    lines += _table(["figure", *(f"{r.name} ({r.series})" for r in report.runs)], rows)
    lines += ["## AIOpsLab's figures, by task", ""]
    rows = [[run.name, *(m.value for m in task)] for run in report.runs for task in run.aiopslab]
    lines += _table(["run", *AIOPSLAB_COLUMNS], rows)
    if report.cells:
        lines += ["## By fault type", ""]
        rows = [[fault, *(_fault_text(report.cell(fault, s)) for s in report.series)] for fault in report.faults]
        lines += _table(["fault type", *report.series], rows)
    lines += ["## Environment", ""]
    for run in report.runs:
        lines += [f"### {run.name}", ""]
        lines += _table(["setting", "value"], [[m.name, m.value] for m in run.environment])
        if run.isolation:
            lines += _table(["mechanism", "isolation level"], [[c.mechanism, c.level] for c in run.isolation])
        lines += [f"- {note}" for note in run.notes]
    return "\n".join(lines).rstrip() + "\n"


def json_summary(report: Report) -> dict[str, Any]:
    """The figures, without the episodes' conversations and timelines."""
    return {
        "version": SUMMARY_VERSION,
        "title": report.title,
        "series": report.series,
        "runs": [
            {
                "name": run.name,
                "series": run.series,
                "environment": {m.name: m.value for m in run.environment},
                "isolation": [asdict(c) for c in run.isolation],
                "microremed": {m.name: m.number for m in run.microremed},
                "aiopslab": [
                    {m.name: (m.number if m.number is not None else m.value) for m in t} for t in run.aiopslab
                ],
                "notes": run.notes,
            }
            for run in report.runs
        ],
        "by_fault": [
            {
                "fault": c.fault,
                "series": c.series,
                "judged": c.judged,
                "successes": c.successes,
                "success_rate": c.success_rate,
                "success_ci": None if c.success_ci is None else [c.success_ci.low, c.success_ci.high],
                "mean_ttm_seconds": c.mean_ttm,
                "ttm_ci": None if c.ttm_ci is None else [c.ttm_ci.low, c.ttm_ci.high],
                "mean_cost": c.mean_cost,
                "mean_tokens": c.mean_tokens,
                "pass_at_k": {str(k): v for k, v in c.pass_at.items()},
            }
            for c in report.cells
        ],
        "episodes": [
            {
                "run": e.run,
                "index": e.index,
                "task": e.task,
                "fault": e.fault,
                "target": e.target,
                "status": e.status,
                "verdict": e.verdict,
                "reasons": e.reasons,
                "ttm_seconds": e.ttm,
                "steps": e.steps,
                "tokens": e.tokens,
                "cost": e.cost,
            }
            for e in report.episodes
        ],
    }
