"""`remedlab load`: open-loop load against a deployed app, with live per-second stats."""

from __future__ import annotations

import asyncio
import json
import math
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.live import Live
from rich.table import Table

from remedlab.api.kinds import BY_PLURAL, api_path
from remedlab.apps.catalog import UnknownApp, get_app
from remedlab.cli.output import fail
from remedlab.cli.server_client import ServerClient, ServerError
from remedlab.observe.workload.generator import LoadProfile, Target, TargetRefused, WorkloadRunner
from remedlab.observe.workload.mix import Mix, MixError, load_app_mix
from remedlab.observe.workload.stats import Summary

console = Console()

MAX_RATE = 5000.0
MAX_DURATION = 3600.0
MAX_TIMEOUT = 60.0
MAX_PRINTED_SECONDS = 120
LIVE_REFRESH = 0.25


def check_options(rate: float, duration: float, timeout: float) -> str | None:
    """The first problem with the options, as one line; None when they are fine."""
    if not (math.isfinite(rate) and 0 < rate <= MAX_RATE):
        return f"--rate must be more than 0 and at most {MAX_RATE:g} requests per second, not {rate:g}"
    if not (math.isfinite(duration) and 0 < duration <= MAX_DURATION):
        return f"--duration must be more than 0 and at most {MAX_DURATION:g} seconds, not {duration:g}"
    if not (math.isfinite(timeout) and 0 < timeout <= MAX_TIMEOUT):
        return f"--timeout must be more than 0 and at most {MAX_TIMEOUT:g} seconds, not {timeout:g}"
    return None


def resolve_target(client: ServerClient, app: str, namespace: str, mix: Mix) -> Target:
    """The cluster IP and port of the mix's Service, checked to be loopback."""
    assert mix.service is not None and mix.port is not None
    if not client.alive():
        raise ServerError(f"no remedlab server answers at {client.url}: deploy the app with `remedlab up {app}`")
    try:
        service = client.request("GET", api_path(BY_PLURAL["services"], namespace, mix.service))
    except ServerError as exc:
        raise ServerError(f"{exc} in namespace {namespace}: deploy the app with `remedlab up {app}`") from None
    cluster_ip = (service.get("spec") or {}).get("clusterIP")
    if not cluster_ip or cluster_ip == "None":
        raise ServerError(f"service {mix.service} in namespace {namespace} has no cluster IP")
    return Target(str(cluster_ip), mix.port)


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def _errors_text(errors: dict[str, int]) -> str:
    return ", ".join(f"{kind} {count}" for kind, count in sorted(errors.items(), key=lambda kv: -kv[1])) or "none"


def seconds_table(rows: list[Summary], title: str, first: int = 0) -> Table:
    table = Table(title=title, title_justify="left")
    for column in ("t", "sent", "ok", "errors", "success %", "p50 ms", "p95 ms", "p99 ms"):
        table.add_column(column, justify="right")
    for second, row in enumerate(rows, start=first):
        errors = row.error_count
        colour = "green" if row.requests and errors == 0 else ("red" if errors else "white")
        table.add_row(
            str(second),
            str(row.sent),
            str(row.successes),
            f"[red]{errors}[/red]" if errors else "0",
            f"[{colour}]{row.success_rate * 100:.1f}[/{colour}]" if row.requests else "-",
            _ms(row.p50_ms),
            _ms(row.p95_ms),
            _ms(row.p99_ms),
        )
    return table


def kinds_table(kinds: dict[str, Summary]) -> Table:
    """One row per kind of request: how many, how many failed, and their latency."""
    table = Table(title="by request", title_justify="left")
    table.add_column("request")
    for column in ("sent", "ok", "errors", "success %", "p50 ms", "p95 ms", "p99 ms"):
        table.add_column(column, justify="right")
    table.add_column("error kinds")
    for kind, row in kinds.items():
        errors = row.error_count
        table.add_row(
            kind,
            str(row.sent),
            str(row.successes),
            f"[red]{errors}[/red]" if errors else "0",
            f"{row.success_rate * 100:.1f}" if row.requests else "-",
            _ms(row.p50_ms),
            _ms(row.p95_ms),
            _ms(row.p99_ms),
            _errors_text(row.errors) if errors else "",
        )
    return table


def _live_table(runner: WorkloadRunner, title: str) -> Table:
    rows = runner.per_second()
    room = max(5, console.height - 8)
    first = max(0, len(rows) - room)
    table = seconds_table(rows[first:], title, first)
    table.caption = f"{runner.generator.in_flight} in flight"
    return table


def _print_summary(total: Summary, runner: WorkloadRunner) -> None:
    console.print(
        f"sent [bold]{total.sent}[/bold] in {total.duration_s:g}s ({total.sent_rps:.1f} req/s), "
        f"finished {total.requests}, ok {total.successes} "
        f"([bold]{total.success_rate * 100:.2f}%[/bold] success), peak {runner.generator.peak_in_flight} in flight"
    )
    console.print(
        f"latency of successful requests (ms): p50 {_ms(total.p50_ms)}  p95 {_ms(total.p95_ms)}  "
        f"p99 {_ms(total.p99_ms)}  mean {_ms(total.mean_ms)}  max {_ms(total.max_ms)}"
    )
    console.print(f"errors: {_errors_text(total.errors)}", highlight=False)
    if total.in_flight:
        console.print(f"{total.in_flight} requests never finished (the run was interrupted)")
    if total.max_lag_ms > 100:
        console.print(f"[yellow]the generator fell up to {total.max_lag_ms:.0f} ms behind its schedule[/yellow]")


async def _drive(runner: WorkloadRunner, title: str) -> bool:
    """Run the load with a live table; True when it was interrupted."""
    interrupted = False
    with Live(_live_table(runner, title), console=console, refresh_per_second=4, transient=True) as live:
        await runner.start()
        try:
            while runner.running:
                await asyncio.sleep(LIVE_REFRESH)
                live.update(_live_table(runner, title))
        except asyncio.CancelledError:
            interrupted = True
            await runner.stop(drain=False)
    return interrupted


def write_report(path: Path, runner: WorkloadRunner, meta: dict[str, Any], interrupted: bool) -> None:
    report = {
        **meta,
        "target": str(runner.target),
        "profile": runner.profile.to_dict(),
        "started_at": runner.stats.started_at,
        "interrupted": interrupted,
        "summary": runner.summary().to_dict(),
        "requests": {kind: row.to_dict() for kind, row in runner.summary_by_kind().items()},
        "seconds": [{"t": t, **row.to_dict()} for t, row in enumerate(runner.per_second())],
        "snapshot": runner.stats.snapshot(),
    }
    path.write_text(json.dumps(report, indent=2) + "\n")


def register(app: typer.Typer) -> None:
    @app.command()
    def load(
        name: str = typer.Argument(..., help="The app to load (see `remedlab apps`)."),
        namespace: str | None = typer.Option(None, "-n", "--namespace", help="Namespace (default: the app's)."),
        rate: float = typer.Option(10.0, "--rate", help="Requests per second, sent on schedule (open loop)."),
        duration: float = typer.Option(10.0, "--duration", help="Seconds to send for."),
        poisson: bool = typer.Option(False, "--poisson", help="Poisson arrivals instead of a constant rate."),
        seed: int | None = typer.Option(None, "--seed", help="Seed for arrivals and request templates."),
        timeout: float = typer.Option(5.0, "--timeout", help="Seconds before a request counts as a timeout."),
        json_file: Path | None = typer.Option(None, "--json", help="Write the per-second stats to this file."),
    ) -> None:
        """Send open-loop HTTP load to an app's entry service and show per-second success and latency."""
        problem = check_options(rate, duration, timeout)
        if problem:
            raise fail(problem)
        if json_file is not None and not json_file.parent.is_dir():
            raise fail(f"--json: directory {json_file.parent} does not exist")
        try:
            info = get_app(name)
            mix = load_app_mix(info)
        except (UnknownApp, MixError) as exc:
            raise fail(str(exc)) from None
        ns = namespace or info.namespace
        client = ServerClient()
        try:
            target = resolve_target(client, name, ns, mix)
        except (ServerError, TargetRefused, ValueError) as exc:
            raise fail(str(exc)) from None
        finally:
            client.close()

        profile = LoadProfile(rate=rate, duration=duration, poisson=poisson, seed=seed, timeout=timeout)
        runner = WorkloadRunner(target, mix, profile)
        arrivals = "Poisson" if poisson else "constant"
        title = f"remedlab load {name}: {mix.service} at {target}, {rate:g} req/s ({arrivals}) for {duration:g}s"
        interrupted = asyncio.run(_drive(runner, title))

        rows = runner.per_second()
        first = max(0, len(rows) - MAX_PRINTED_SECONDS)
        console.print(seconds_table(rows[first:], title, first))
        if first:
            console.print(f"(the first {first} seconds are not shown: see --json)")
        kinds = runner.summary_by_kind()
        if len(kinds) > 1:
            console.print(kinds_table(kinds))
        _print_summary(runner.summary(), runner)
        if json_file is not None:
            meta = {"app": name, "namespace": ns, "service": mix.service}
            try:
                write_report(json_file, runner, meta, interrupted)
            except OSError as exc:
                raise fail(f"cannot write {json_file}: {exc}") from None
            console.print(f"per-second stats written to {json_file}")
        if interrupted:
            raise typer.Exit(130)
