"""AIOpsLab's agent-computer interface over the remedlab server: get_logs, get_metrics/read_metrics,
get_traces/read_traces, exec_shell and submit. Metrics and traces are written as CSV files into the
episode's directory and read back by path, as AIOpsLab's interface does; the agent is given paths
relative to the interface's own folder (``metrics-…/pods.csv``), never where the episode's directory
is: its name says the episode's fault and target."""

from __future__ import annotations

import csv
import io
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

from remedlab.agents.episode import AgentContext
from remedlab.agents.methods.playbooks import run_playbook, summary
from remedlab.agents.server_api import AgentApiError
from remedlab.agents.signals import name_of

MAX_READ = 7000
MAX_LOG_LINES = 80


class AciError(Exception):
    """A call the interface cannot run (bad arguments, unknown path); the agent reads the message."""


class Aci:
    def __init__(self, ctx: AgentContext) -> None:
        self.ctx = ctx
        base = ctx.out_dir if ctx.out_dir is not None else Path(tempfile.mkdtemp(prefix="remedlab-aci-"))
        (base / "aci").mkdir(parents=True, exist_ok=True)
        self.files = (base / "aci").resolve()

    # ------------------------------------------------------------------ observing

    def get_logs(self, namespace: str, service: str) -> str:
        api = self.ctx.api
        try:
            selector = (api.get("services", namespace, service).get("spec") or {}).get("selector") or {}
        except AgentApiError:
            selector = {}
        pods = [p for p in api.objects("pods", namespace) if _serves(service, selector, p)]
        if not pods:
            return f"no pods of service {service!r} in namespace {namespace!r}"
        parts = []
        for pod in pods:
            text = api.pod_log(namespace, name_of(pod), tail=MAX_LOG_LINES)
            parts.append(f"--- {name_of(pod)} ---\n{text.strip() or '(no log lines)'}")
        return "\n".join(parts)

    def get_metrics(self, namespace: str, duration: int | float = 5) -> str:
        seconds = _seconds(duration)
        api = self.ctx.api
        folder = self.files / f"metrics-{int(time.time())}"
        folder.mkdir(parents=True, exist_ok=True)
        pod_rows = [
            {"pod": item["name"], **sample}
            for item in api.pod_metrics(namespace, seconds)
            for sample in item["samples"]
        ]
        service_rows = []
        for item in api.service_metrics(namespace, seconds):
            for sample in item["samples"]:
                row = {k: v for k, v in sample.items() if k != "upstreamErrors"}
                failed = sample.get("upstreamErrors") or {}
                row["failedCalls"] = ";".join(f"{c}:{sum(o.values())}" for c, o in failed.items())
                service_rows.append({"service": item["service"], **row})
        _write_csv(folder / "pods.csv", pod_rows)
        _write_csv(folder / "services.csv", service_rows)
        return self._shown(folder)

    def read_metrics(self, file_path: str) -> str:
        return self._read(file_path)

    def get_traces(self, namespace: str, duration: int | float = 5) -> str:
        traces = self.ctx.api.traces(namespace, since=_seconds(duration), limit=200)
        path = self.files / f"traces-{int(time.time())}.csv"
        rows = [
            {
                "traceId": t.get("traceId"),
                "start": t.get("start"),
                "rootService": t.get("rootService"),
                "rootOperation": t.get("rootOperation"),
                "durationMs": t.get("durationMs"),
                "spanCount": t.get("spanCount"),
                "error": t.get("error"),
                "services": ";".join(t.get("services") or []),
            }
            for t in traces
        ]
        _write_csv(path, rows)
        return self._shown(path)

    def read_traces(self, file_path: str) -> str:
        return self._read(file_path)

    # ------------------------------------------------------------------ acting

    def exec_shell(self, command: str) -> str:
        """Read-only commands run as probes; for mitigation, a command the probe policy refuses runs
        as a one-task playbook (the server's remediation policy decides)."""
        if not isinstance(command, str) or not command.strip():
            raise AciError("exec_shell needs the command to run, as a string")
        answer = self.ctx.api.probe(command)
        self.ctx.log.add("exec_shell", command=command, answer=answer)
        refused = [r for r in answer.get("results") or [] if r.get("refused")]
        if not refused or self.ctx.incident.task != "mitigation":
            return str(answer.get("output") or "(no output)")
        play = [
            {
                "name": "exec_shell",
                "hosts": "localhost",
                "gather_facts": False,
                "tasks": [{"name": command[:80], "command": command}],
            }
        ]
        result = run_playbook(self.ctx, str(yaml.safe_dump(play, sort_keys=False)), why=f"exec_shell: {command}")
        if result.get("refused"):
            return f"refused: {result['refused']}"
        tasks = [t for t in result.get("tasks") or [] if t.get("task") == command[:80]]
        if tasks:
            task = tasks[-1]
            return (str(task.get("stdout") or "") + str(task.get("stderr") or "") or str(task.get("msg") or "")).strip()
        return summary(result)

    # ------------------------------------------------------------------ files

    def _shown(self, path: Path) -> str:
        """The path the agent is given: relative to the interface's folder."""
        return str(path.relative_to(self.files))

    def _read(self, file_path: str) -> str:
        path = self.files / str(file_path)  # an absolute path stays itself
        try:
            resolved = path.resolve()
            resolved.relative_to(self.files)
        except (OSError, ValueError):
            raise AciError(f"{file_path} is not a file get_metrics or get_traces returned") from None
        if resolved.is_dir():
            names = sorted(p.name for p in resolved.iterdir())
            return "files: " + ", ".join(self._shown(resolved / n) for n in names)
        if not resolved.is_file():
            raise AciError(f"no such file: {file_path}")
        text = resolved.read_text(encoding="utf-8")
        if len(text) <= MAX_READ:
            return text
        lines = text.splitlines()
        if resolved.suffix == ".csv":
            # the header, then the newest rows that fit (metrics are oldest first, traces newest first)
            rows = lines[1:] if "traces" in resolved.name else lines[:0:-1]
            kept: list[str] = []
            size = len(lines[0])
            for row in rows:
                size += len(row) + 1
                if size > MAX_READ:
                    break
                kept.append(row)
            if "traces" not in resolved.name:
                kept.reverse()
            return "\n".join([lines[0], *kept, f"({len(lines) - 1 - len(kept)} older rows not shown)"])
        return text[:MAX_READ] + "\n(truncated)"


def _serves(service: str, selector: dict[str, str], pod: dict[str, Any]) -> bool:
    """Is the pod behind the Service (by its selector), or named after it when there is no such Service?"""
    labels = pod["metadata"].get("labels") or {}
    if selector:
        return all(labels.get(k) == v for k, v in selector.items())
    return name_of(pod).startswith(service + "-")


def _seconds(duration: int | float) -> int:
    try:
        minutes = float(duration)
    except (TypeError, ValueError):
        raise AciError("duration is a number of minutes") from None
    return int(min(max(minutes, 0.1), 60) * 60)


def _write_csv(path: Path, rows: list[dict[str, Any]]) -> None:
    columns: list[str] = []
    for row in rows:
        columns.extend(k for k in row if k not in columns)
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns or ["empty"])
    writer.writeheader()
    writer.writerows(rows)
    path.write_text(out.getvalue(), encoding="utf-8")
