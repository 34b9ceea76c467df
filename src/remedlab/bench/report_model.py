"""What a report shows, built from run directories: each run's environment and its figures under
MicroRemed's and AIOpsLab's names; per fault type and per method (and model), success with its
confidence interval, time to mitigate, cost and pass@k where a problem was tried more than once;
and each episode with its verdict, playbooks, conversation and timeline. The HTML, Markdown and JSON
reports all render this one model."""

from __future__ import annotations

import json
import statistics
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from remedlab.agents.run import CONVERSATION_FILE
from remedlab.bench.aiopslab_plan import is_aiopslab_suite
from remedlab.bench.episode import ERROR, INJECTION_FAILURE, SUCCESS
from remedlab.bench.intervals import Interval, mean_interval, pass_at_k, wilson
from remedlab.bench.metrics import ACC_K, task_figures
from remedlab.bench.report import figures, num, pct, skip_lines
from remedlab.bench.results import RunDirError, episode_dir, read_results, read_run
from remedlab.bench.timeline import Timeline

CONVERSATION_CHARS = 2000
"""Characters of one conversation entry a report keeps (the episode's folder has them all)."""
PASS_KS = (1, 3, 5)


@dataclass(frozen=True)
class LoadedRun:
    folder: Path
    run: dict[str, Any]
    records: list[dict[str, Any]]


def load_run(folder: Path) -> LoadedRun:
    run = read_run(folder)
    if not isinstance(run.get("plan"), list) or "method" not in run:
        raise RunDirError(f"{folder / 'run.json'} is not a remedlab run's plan")
    return LoadedRun(folder, run, sorted(read_results(folder), key=lambda r: int(r.get("index", 0))))


@dataclass(frozen=True)
class Metric:
    name: str
    value: str
    number: float | None = None


@dataclass(frozen=True)
class IsolationCheck:
    mechanism: str
    level: str
    detail: str


@dataclass(frozen=True)
class RunSummary:
    name: str
    series: str
    """The method, and its model where it has one: runs of one series are repeats of each other."""
    environment: list[Metric]
    isolation: list[IsolationCheck]
    microremed: list[Metric]
    aiopslab: list[list[Metric]]
    """One list per task the run holds."""
    notes: list[str]


@dataclass(frozen=True)
class FaultCell:
    """One fault type's figures for one series."""

    fault: str
    series: str
    judged: int
    successes: int
    success_ci: Interval | None
    mean_ttm: float | None
    ttm_ci: Interval | None
    mean_cost: float | None
    mean_tokens: float | None
    pass_at: dict[int, float] = field(default_factory=dict)

    @property
    def success_rate(self) -> float | None:
        return self.successes / self.judged if self.judged else None


@dataclass(frozen=True)
class ConversationLine:
    t: float
    kind: str
    text: str


@dataclass(frozen=True)
class EpisodeView:
    key: str
    """Unique in the report: the run's name and the episode's index."""
    run: str
    series: str
    index: int
    task: str
    fault: str
    target: str
    problem: str
    status: str
    ttm: float | None
    tokens: int | None
    cost: float | None
    steps: int | None
    reasons: list[str]
    verdict: str
    playbooks: list[tuple[str, str]]
    conversation: list[ConversationLine]
    timeline: Timeline | None


@dataclass(frozen=True)
class Report:
    title: str
    runs: list[RunSummary]
    series: list[str]
    faults: list[str]
    cells: list[FaultCell]
    episodes: list[EpisodeView]

    @property
    def repeats(self) -> bool:
        """Whether some problem was tried more than once in a series (then pass@k means something)."""
        return any(cell.pass_at for cell in self.cells)

    def cell(self, fault: str, series: str) -> FaultCell | None:
        for cell in self.cells:
            if cell.fault == fault and cell.series == series:
                return cell
        return None


def series_of(run: dict[str, Any]) -> str:
    model = run.get("model") or {}
    name = model.get("model") if isinstance(model, dict) else None
    return f"{run['method']} ({name})" if name else str(run["method"])


def _text(value: Any) -> str:
    """A value as a report shows it: never "None"."""
    if value is None or value == "":
        return "-"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def _environment(loaded: LoadedRun) -> tuple[list[Metric], list[IsolationCheck]]:
    run = loaded.run
    settings = run.get("settings") or {}
    env = run.get("environment") or {}
    versions = env.get("versions") or {}
    model = run.get("model") or {}
    rows = [
        Metric("app", _text(run.get("app"))),
        Metric("namespace", _text(run.get("namespace"))),
        Metric("suite", _text(run.get("suite"))),
        Metric("task", _text(run.get("task") or "mitigation")),
        Metric("method", _text(run.get("method"))),
        Metric("model", _text(model.get("model") if isinstance(model, dict) else None)),
        Metric("seed", _text(settings.get("seed", run.get("seed")))),
        Metric("oracle", _text(settings.get("oracle"))),
        Metric("episodes planned", str(len(run.get("plan") or []))),
        Metric("episodes at once", _text(run.get("parallel", 1))),
        Metric("workload rate (req/s)", _text(settings.get("rate"))),
        *(Metric(f"{name} version", _text(value)) for name, value in versions.items() if name != "host"),
        *([Metric("host", _text(versions["host"]))] if versions.get("host") else []),
        Metric("directory", str(loaded.folder)),
    ]
    isolation = [
        IsolationCheck(str(c.get("mechanism") or "-"), str(c.get("level") or "-"), str(c.get("detail") or "-"))
        for c in env.get("isolation") or []
    ]
    return rows, isolation


def _microremed(records: list[dict[str, Any]]) -> list[Metric]:
    fig = figures(records)
    return [
        Metric("total", str(fig.total), fig.total),
        Metric("injection failures", str(fig.injection_failures), fig.injection_failures),
        Metric("harness errors", str(fig.errors), fig.errors),
        Metric("successes", str(fig.successes), fig.successes),
        Metric("success rate", pct(fig.success_rate), fig.success_rate),
        Metric("attempts per success", num(fig.attempts_per_success, digits=2), fig.attempts_per_success),
        Metric("mean remediation time", num(fig.mean_remediation_seconds, " s"), fig.mean_remediation_seconds),
        Metric("mean tokens", num(fig.mean_tokens, digits=0), fig.mean_tokens),
        Metric("cost", "-" if fig.total_cost is None else f"${fig.total_cost:.4f}", fig.total_cost),
        Metric("median harness time", num(fig.median_harness_seconds, " s"), fig.median_harness_seconds),
    ]


AIOPSLAB_COLUMNS = (
    "task",
    "judged",
    "success",
    "mean time (TTD/TTL/TTA/TTM)",
    "steps",
    "input tokens",
    "output tokens",
    "score",
    f"Acc@{ACC_K}",
    'always "Yes"',
)


def _aiopslab(records: list[dict[str, Any]], task: str) -> list[list[Metric]]:
    """Each task's AIOpsLab figures, in ``AIOPSLAB_COLUMNS``' order."""
    out = []
    for fig in task_figures(records, task):
        values = [
            (fig.task, None),
            (f"{fig.judged}/{fig.episodes}", float(fig.judged)),
            (pct(fig.success_rate), fig.success_rate),
            (num(fig.mean_seconds, " s") + f" {fig.time_metric}", fig.mean_seconds),
            (num(fig.mean_steps), fig.mean_steps),
            (num(fig.mean_in_tokens, digits=0), fig.mean_in_tokens),
            (num(fig.mean_out_tokens, digits=0), fig.mean_out_tokens),
            (num(fig.mean_score), fig.mean_score),
            (pct(fig.acc_at_k), fig.acc_at_k),
            (pct(fig.always_yes), fig.always_yes),
        ]
        out.append([Metric(name, text, number) for name, (text, number) in zip(AIOPSLAB_COLUMNS, values, strict=True)])
    return out


def _summary(loaded: LoadedRun, name: str) -> RunSummary:
    environment, isolation = _environment(loaded)
    run = loaded.run
    notes = skip_lines(run)
    if not loaded.records:
        notes = ["no episode has finished yet", *notes]
    return RunSummary(
        name=name,
        series=series_of(run),
        environment=environment,
        isolation=isolation,
        microremed=_microremed(loaded.records),
        aiopslab=_aiopslab(loaded.records, str(run.get("task") or "mitigation")),
        notes=notes,
    )


def _judged(record: dict[str, Any]) -> bool:
    return record.get("status") not in (INJECTION_FAILURE, ERROR)


def _agent(record: dict[str, Any]) -> dict[str, Any]:
    agent = record.get("agent")
    return agent if isinstance(agent, dict) else {}


def _mean(values: list[float]) -> float | None:
    return statistics.fmean(values) if values else None


def _problem(record: dict[str, Any]) -> str:
    return str(record.get("problem") or f"{record.get('fault')}@{record.get('target')}")


def fault_cells(runs: list[LoadedRun]) -> list[FaultCell]:
    """Each fault type's figures per series; runs of the same series count as repeats."""
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for loaded in runs:
        for record in loaded.records:
            if _judged(record):
                groups.setdefault((str(record.get("fault")), series_of(loaded.run)), []).append(record)
    cells = []
    for (fault, series), records in sorted(groups.items()):
        wins = sum(1 for r in records if r.get("status") == SUCCESS)
        times = [float(r.get("remediation_seconds") or 0.0) for r in records]
        costs = [float(c) for r in records if (c := _agent(r).get("cost")) is not None]
        tokens = [float((_agent(r).get("usage") or {}).get("total_tokens") or 0) for r in records]
        tries: dict[str, list[bool]] = {}
        for r in records:
            tries.setdefault(_problem(r), []).append(r.get("status") == SUCCESS)
        trials = [(len(t), sum(t)) for t in tries.values()]
        passes = {}
        if any(n > 1 for n, _ in trials):
            for k in PASS_KS:
                value = pass_at_k(trials, k)
                if value is not None:
                    passes[k] = value
        cells.append(
            FaultCell(
                fault=fault,
                series=series,
                judged=len(records),
                successes=wins,
                success_ci=wilson(wins, len(records)),
                mean_ttm=_mean(times),
                ttm_ci=mean_interval(times),
                mean_cost=_mean(costs) if len(costs) == len(records) else None,
                mean_tokens=_mean(tokens),
                pass_at=passes,
            )
        )
    return cells


def _conversation(folder: Path) -> list[ConversationLine]:
    try:
        log = json.loads((folder / CONVERSATION_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    lines = []
    for entry in log.get("entries") or []:
        rest = {k: v for k, v in entry.items() if k not in ("t", "kind")}
        text = json.dumps(rest, default=str, ensure_ascii=False)
        if len(text) > CONVERSATION_CHARS:
            text = text[:CONVERSATION_CHARS] + f" … [{len(text) - CONVERSATION_CHARS} more characters]"
        lines.append(ConversationLine(float(entry.get("t") or 0.0), str(entry.get("kind") or "-"), text))
    return lines


def _playbooks(folder: Path) -> list[tuple[str, str]]:
    if not folder.is_dir():
        return []
    return [(p.name, p.read_text(encoding="utf-8", errors="replace")) for p in sorted(folder.glob("playbook-*.yml"))]


def _timeline(loaded: LoadedRun, record: dict[str, Any]) -> Timeline | None:
    where = record.get("timeline")
    if not where:
        return None
    try:
        return Timeline.load(loaded.folder / str(where))
    except (OSError, ValueError, KeyError):
        return None


def _verdict(record: dict[str, Any]) -> tuple[str, list[str]]:
    verdict = record.get("verdict") or {}
    reasons = [str(r) for r in verdict.get("reasons") or []]
    if record.get("error"):
        reasons.append(str(record["error"]))
    if record.get("status") == INJECTION_FAILURE:
        reasons.append(str((record.get("confirm") or {}).get("detail") or "the fault did not show in time"))
    if not verdict:
        return "-", reasons
    said = "passed" if verdict.get("passed") else "failed"
    how = verdict.get("decidedBy") or verdict.get("oracle")
    return (f"{said} ({how})" if how else said), reasons


def episode_view(loaded: LoadedRun, name: str, record: dict[str, Any]) -> EpisodeView:
    index = int(record.get("index", 0))
    folder = episode_dir(loaded.folder, index, str(record.get("fault")), str(record.get("target")))
    agent = _agent(record)
    usage = agent.get("usage") or {}
    verdict, reasons = _verdict(record)
    cost = agent.get("cost")
    return EpisodeView(
        key=f"{name}#{index}",
        run=name,
        series=series_of(loaded.run),
        index=index,
        task=str(record.get("task") or loaded.run.get("task") or "mitigation"),
        fault=str(record.get("fault") or "-"),
        target=str(record.get("target") or "-"),
        problem=str(record.get("problem") or "-"),
        status=str(record.get("status") or "-"),
        ttm=float(record["remediation_seconds"]) if agent and "remediation_seconds" in record else None,
        tokens=int(usage.get("total_tokens") or 0) if agent else None,
        cost=None if cost is None else float(cost),
        steps=int(agent.get("steps") or 0) if agent else None,
        reasons=reasons,
        verdict=verdict,
        playbooks=_playbooks(folder),
        conversation=_conversation(folder),
        timeline=_timeline(loaded, record),
    )


def run_names(runs: list[LoadedRun]) -> list[str]:
    """Each run's name in a report: its directory's, made unique."""
    names: list[str] = []
    for loaded in runs:
        name = loaded.folder.resolve().name or str(loaded.folder)
        while name in names:
            name = f"{name}'"
        names.append(name)
    return names


def build_report(runs: list[LoadedRun]) -> Report:
    names = run_names(runs)
    summaries = [_summary(loaded, name) for loaded, name in zip(runs, names, strict=True)]
    series = list(dict.fromkeys(s.series for s in summaries))
    cells = fault_cells(runs)
    if len(runs) == 1:
        run = runs[0].run
        aiops = " (AIOpsLab)" if is_aiopslab_suite(str(run.get("suite") or "")) else ""
        title = f"{names[0]}: {series[0]} on {run.get('app')}, suite {run.get('suite')}{aiops}"
    else:
        title = "comparison: " + " vs ".join(series) + f" ({len(runs)} runs)"
    episodes = [
        episode_view(loaded, name, record)
        for loaded, name in zip(runs, names, strict=True)
        for record in loaded.records
    ]
    return Report(
        title=title,
        runs=summaries,
        series=series,
        faults=sorted({c.fault for c in cells}),
        cells=cells,
        episodes=episodes,
    )
