"""Observing the apps: `remedlab traces` (recent traces; `traces get ID` as a tree), `remedlab metrics`
(per-service request rate, errors and latency, per-pod CPU and memory), `remedlab logs` and `remedlab events`."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.tree import Tree

from remedlab.api.kinds import BY_PLURAL, api_path
from remedlab.cli.output import fail
from remedlab.cli.server_client import ServerClient, ServerError

console = Console()

_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d)")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


def parse_duration(text: str) -> float:
    """Seconds in ``text``: ``90``, ``30s``, ``5m``, ``1h30m``, ``250ms``; ValueError otherwise."""
    value = text.strip().lower()
    if not value:
        raise ValueError("empty duration")
    try:
        seconds = float(value)
    except ValueError:
        pos, seconds = 0, 0.0
        for match in _DURATION_PART.finditer(value):
            if match.start() != pos:
                break
            seconds += float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
            pos = match.end()
        if pos != len(value):
            raise ValueError(f"invalid duration {text!r} (use e.g. 30s, 5m, 1h)") from None
    if seconds <= 0:
        raise ValueError(f"duration {text!r} must be positive")
    return seconds


def format_ms(ms: float) -> str:
    if ms < 1:
        return f"{ms * 1000:.0f}µs"
    if ms < 1000:
        return f"{ms:.1f}ms" if ms < 100 else f"{ms:.0f}ms"
    return f"{ms / 1000:.2f}s"


def _local_time(iso: str) -> str:
    try:
        return datetime.fromisoformat(iso.replace("Z", "+00:00")).astimezone().strftime("%H:%M:%S.%f")[:-3]
    except ValueError:
        return iso


def _parse_time(iso: str) -> datetime | None:
    try:
        return datetime.fromisoformat(iso.replace("Z", "+00:00"))
    except ValueError:
        return None


def traces_table(traces: list[dict[str, Any]], title: str) -> Table:
    table = Table(title=title)
    for column in ("TRACE ID", "START", "ROOT", "DURATION", "SPANS", "ERROR", "SERVICES"):
        table.add_column(column, justify="right" if column in ("DURATION", "SPANS") else "left")
    for t in traces:
        root = f"{t['rootService']}: {t['rootOperation']}" if t["rootService"] else t["rootOperation"]
        table.add_row(
            t["traceId"],
            _local_time(t["start"]),
            escape(root),
            format_ms(float(t["durationMs"])),
            str(t["spanCount"]),
            "[red]yes[/red]" if t["error"] else "",
            escape(", ".join(t["services"])),
        )
    return table


def span_label(span: dict[str, Any], trace_start: datetime | None) -> str:
    offset = ""
    start = _parse_time(span["start"])
    if trace_start is not None and start is not None:
        offset = f" [dim]+{format_ms((start - trace_start).total_seconds() * 1000)}[/dim]"
    label = (
        f"[bold]{escape(span['operation'] or '(unnamed)')}[/bold] "
        f"[cyan]{escape(span['service'] or '?')}[/cyan] [dim]{span['kind']}[/dim] "
        f"{format_ms(float(span['durationMs']))}{offset}"
    )
    if span["status"] == "ERROR":
        message = span.get("statusMessage") or "error"
        label += f" [red]ERROR: {escape(message)}[/red]"
    return label


def trace_tree(trace: dict[str, Any]) -> Tree:
    spans: list[dict[str, Any]] = trace["spans"]
    starts = [t for t in (_parse_time(s["start"]) for s in spans) if t is not None]
    trace_start = min(starts) if starts else None
    tree = Tree(f"trace [bold]{trace['traceId']}[/bold] ({len(spans)} spans)")
    parents: list[Tree] = [tree]
    for span in spans:
        depth = max(0, int(span["depth"]))
        del parents[depth + 1 :]
        parent = parents[-1]
        node = parent.add(span_label(span, trace_start))
        parents.append(node)
    return tree


def _cell(value: Any, fmt: str = "{:.2f}") -> str:
    return "-" if value is None else fmt.format(value)


def service_metrics_table(items: list[dict[str, Any]], title: str) -> Table:
    """One row per service: its latest sample."""
    table = Table(title=title)
    for column in ("NAMESPACE", "SERVICE", "REQ/S", "ERRORS", "P50", "P95", "P99", "TARGETS", "UPSTREAM ERRORS"):
        table.add_column(column, justify="left" if column in ("NAMESPACE", "SERVICE", "UPSTREAM ERRORS") else "right")
    for item in items:
        samples = item["samples"]
        if not samples:
            continue
        last = samples[-1]
        error_rate = last["errorRate"]
        errors = _cell(None if error_rate is None else error_rate * 100, "{:.1f}%")
        if error_rate:
            errors = f"[red]{errors}[/red]"
        targets = f"{last['targets'] - last['scrapeErrors']}/{last['targets']}"
        if last["scrapeErrors"]:
            targets = f"[red]{targets} down[/red]"
        upstream = ", ".join(
            f"{service} {outcome}={n}"
            for service, outcomes in sorted((last.get("upstreamErrors") or {}).items())
            for outcome, n in sorted(outcomes.items())
        )
        table.add_row(
            escape(item["namespace"]),
            escape(item["service"]),
            _cell(last["requestRate"]),
            errors,
            *(_cell(last[key], "{:.1f}ms") for key in ("p50Ms", "p95Ms", "p99Ms")),
            targets,
            escape(upstream),
        )
    return table


def pod_metrics_table(items: list[dict[str, Any]], title: str) -> Table:
    """One row per pod: its latest CPU and memory sample."""
    table = Table(title=title)
    for column in ("NAMESPACE", "POD", "CPU", "MEMORY", "RESTARTS"):
        table.add_column(column, justify="left" if column in ("NAMESPACE", "POD") else "right")
    for item in items:
        if not item["samples"]:
            continue
        last = item["samples"][-1]
        table.add_row(
            escape(item["namespace"]),
            escape(item["name"]),
            f"{float(last['cpuMillicores']):.0f}m",
            f"{int(last['memoryBytes']) / (1024 * 1024):.0f}Mi",
            str(last["restarts"]),
        )
    return table


def register(app: typer.Typer) -> None:
    traces_app = typer.Typer(
        help="Recent traces of the apps' requests; `traces get ID` shows one as a tree.",
        invoke_without_command=True,
        no_args_is_help=False,
    )

    @traces_app.callback()
    def traces(
        ctx: typer.Context,
        namespace: str | None = typer.Option(None, "-n", "--namespace", help="Only traces touching this namespace."),
        service: str | None = typer.Option(None, "--service", "-s", help="Only traces touching this service."),
        since: str = typer.Option("5m", "--since", help="How far back to look (30s, 5m, 1h)."),
        errors: bool = typer.Option(False, "--errors", help="Only traces with an error span."),
        min_duration: float | None = typer.Option(None, "--min-duration", help="Only traces lasting this many ms."),
        limit: int = typer.Option(20, "--limit", min=1, max=1000, help="At most this many traces."),
    ) -> None:
        """List recent traces, newest first."""
        if ctx.invoked_subcommand is not None:
            return
        try:
            since_seconds = parse_duration(since)
        except ValueError as exc:
            raise fail(str(exc)) from None
        params: dict[str, Any] = {"sinceSeconds": since_seconds, "limit": limit}
        if namespace:
            params["namespace"] = namespace
        if service:
            params["service"] = service
        if errors:
            params["errorsOnly"] = "true"
        if min_duration is not None:
            params["minDurationMs"] = min_duration
        client = ServerClient()
        try:
            found = client.request("GET", "/v1/traces", params=params)["traces"]
        except ServerError as exc:
            raise fail(str(exc)) from None
        scope = f" in {namespace}" if namespace else ""
        if not found:
            console.print(f"no traces{scope} in the last {since}", highlight=False)
            return
        console.print(traces_table(found, f"traces{scope}, last {since}"))

    @traces_app.command("get")
    def get(trace_id: str = typer.Argument(..., help="The trace id (32 hex digits).")) -> None:
        """Show one trace as a tree of spans, with durations and errors."""
        client = ServerClient()
        try:
            trace = client.request("GET", f"/v1/traces/{trace_id}")
        except ServerError as exc:
            raise fail(str(exc)) from None
        console.print(trace_tree(trace))

    app.add_typer(traces_app, name="traces")

    @app.command("metrics")
    def metrics(
        namespace: str | None = typer.Option(None, "-n", "--namespace", help="Only this namespace."),
        service: str | None = typer.Option(None, "--service", "-s", help="Only this service."),
        since: str = typer.Option("60s", "--since", help="The window to read (30s, 5m)."),
    ) -> None:
        """Request rate, error share and latency per service (latest sample), and CPU/memory per pod."""
        try:
            seconds = parse_duration(since)
        except ValueError as exc:
            raise fail(str(exc)) from None
        params: dict[str, Any] = {"seconds": min(seconds, 3600.0)}
        if namespace:
            params["namespace"] = namespace
        client = ServerClient()
        try:
            services = client.request("GET", "/v1/metrics/services", params={**params, "service": service or ""})
            pods = client.request("GET", "/v1/metrics/pods", params=params)
        except ServerError as exc:
            raise fail(str(exc)) from None
        scope = f" in {namespace}" if namespace else ""
        service_items = [i for i in services["items"] if i["samples"]]
        if service_items:
            console.print(service_metrics_table(service_items, f"services{scope}, last {since}"))
        else:
            console.print(f"no service metrics{scope} in the last {since}", highlight=False)
        pod_items = [i for i in pods["items"] if i["samples"]]
        if service is not None:
            pod_items = []  # pods carry no service name here; the service view stands alone
        if pod_items:
            console.print(pod_metrics_table(pod_items, f"pods{scope}"))

    @app.command("topology")
    def topology(
        namespace: str | None = typer.Option(None, "-n", "--namespace", help="Only this namespace."),
        since: str = typer.Option("5m", "--since", help="The window of traces to read (30s, 5m, 1h)."),
    ) -> None:
        """Who calls whom: calls between services and to their stores, from the traces of the window."""
        try:
            seconds = parse_duration(since)
        except ValueError as exc:
            raise fail(str(exc)) from None
        params: dict[str, Any] = {"sinceSeconds": min(seconds, 30 * 24 * 3600.0)}
        if namespace:
            params["namespace"] = namespace
        client = ServerClient()
        try:
            graph = client.request("GET", "/v1/topology", params=params)
        except ServerError as exc:
            raise fail(str(exc)) from None
        scope = f" in {namespace}" if namespace else ""
        if not graph["calls"]:
            console.print(f"no calls traced{scope} in the last {since}", highlight=False)
            return
        table = Table(title=f"calls{scope}, last {since}", title_justify="left")
        for column in ("from", "to", "protocol"):
            table.add_column(column)
        for column in ("calls", "errors", "mean ms", "p95 ms"):
            table.add_column(column, justify="right")
        for call in graph["calls"]:
            errors = f"[red]{call['errors']}[/red]" if call["errors"] else "0"
            times = (_cell(call["meanMs"]), _cell(call.get("p95Ms")))
            table.add_row(call["from"], call["to"], call["protocol"], str(call["calls"]), errors, *times)
        console.print(table)

    @app.command("logs")
    def logs(
        pod: str = typer.Argument(..., help="The pod."),
        namespace: str = typer.Option("default", "-n", "--namespace"),
        container: str | None = typer.Option(None, "-c", "--container"),
        tail: int | None = typer.Option(None, "--tail", min=0, help="Only the last N lines."),
        previous: bool = typer.Option(False, "--previous", "-p", help="The previous (crashed) container's log."),
    ) -> None:
        """Print a pod's log."""
        params: dict[str, Any] = {}
        if container:
            params["container"] = container
        if tail is not None:
            params["tailLines"] = tail
        if previous:
            params["previous"] = "true"
        client = ServerClient()
        try:
            text = client.request("GET", api_path(BY_PLURAL["pods"], namespace, pod, "log"), params=params)
        except ServerError as exc:
            raise fail(str(exc)) from None
        typer.echo(text if isinstance(text, str) else str(text), nl=False)

    @app.command("events")
    def events(namespace: str | None = typer.Option(None, "-n", "--namespace", help="Only this namespace.")) -> None:
        """Events, oldest first."""
        client = ServerClient()
        try:
            items: list[dict[str, Any]] = client.request("GET", api_path(BY_PLURAL["events"], namespace))["items"]
        except ServerError as exc:
            raise fail(str(exc)) from None
        if not items:
            console.print(f"no events{' in ' + namespace if namespace else ''}", highlight=False)
            return
        items.sort(key=lambda e: str(e.get("lastTimestamp") or e.get("eventTime") or ""))
        table = Table()
        for column in ("LAST SEEN", "NAMESPACE", "TYPE", "REASON", "OBJECT", "MESSAGE"):
            table.add_column(column)
        for e in items:
            involved = e.get("involvedObject") or {}
            table.add_row(
                _local_time(str(e.get("lastTimestamp") or e.get("eventTime") or "")),
                escape(str(e.get("metadata", {}).get("namespace", ""))),
                escape(str(e.get("type", ""))),
                escape(str(e.get("reason", ""))),
                escape(f"{str(involved.get('kind', '')).lower()}/{involved.get('name', '')}"),
                escape(str(e.get("message", ""))),
            )
        console.print(table)
