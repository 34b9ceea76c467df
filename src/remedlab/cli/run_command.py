"""`remedlab run`: play a suite of fault episodes against a remediation method and report how it did
(with MicroRemed's flags, same meanings); `remedlab report DIR`: the figures of finished runs."""

from __future__ import annotations

import json
import re
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from remedlab.agents.episode import TASKS
from remedlab.agents.llm.models import ModelOptions, ModelOptionsError, build_model
from remedlab.agents.llm.presets import UnknownProvider
from remedlab.agents.llm.pricing import PriceTable, PriceTableError
from remedlab.agents.methods.registry import UnknownMethod, method_info
from remedlab.agents.server_api import AgentApi, AgentApiError
from remedlab.apps.catalog import UnknownApp, get_app
from remedlab.bench.admin_api import AdminApi
from remedlab.bench.aiopslab_plan import is_aiopslab_suite
from remedlab.bench.episode import EpisodeSettings
from remedlab.bench.plan import NO_FAULT, EpisodeSpec, SuiteError, read_suite
from remedlab.bench.ray_executor import LaneError, RayLanes, RayUnavailable, require_ray, run_plan_on_ray
from remedlab.bench.report import figures, skip_lines, summary_table, task_table
from remedlab.bench.report_html import write_html
from remedlab.bench.report_model import LoadedRun, build_report, load_run
from remedlab.bench.report_text import json_summary, markdown_report
from remedlab.bench.results import RunDirError, read_results, read_run, write_run
from remedlab.bench.runner import RunRequest, run_plan, start_run
from remedlab.chaos.catalog import load_catalog
from remedlab.cli.agents_command import agent_command_words, require_agent_command
from remedlab.cli.output import console, err_console, fail
from remedlab.cli.server_client import ServerClient, ServerError, ensure_server

REPORT_FILE = "report.html"
COMPARISON_FILE = "comparison.html"
FORMATS = ("table", "md", "json")
EXECUTORS = ("local", "ray")


def print_tables(runs: list[LoadedRun]) -> None:
    """Each run's figures as the terminal's tables."""
    for loaded in runs:
        run, records, folder = loaded.run, loaded.records, loaded.folder
        task = run.get("task", "mitigation")
        parallel = int(run.get("parallel", 1))
        label = (
            f"{folder.name}: {run['method']} on {run['app']} ({run['suite']}, {task}, "
            f"seed {run['settings']['seed']}, {parallel} at once)"
        )
        console.print(summary_table(figures(records, label), label, parallel, task))
        if task != "mitigation" or is_aiopslab_suite(str(run["suite"])):
            console.print(task_table(records, "AIOpsLab's metrics by task", task))
        for line in skip_lines(run):
            console.print(line, highlight=False, soft_wrap=True)


def write_reports(runs: list[LoadedRun], comparison: Path | None) -> list[Path]:
    """An HTML report in each run's directory and, for several runs, one comparing them; their paths."""
    written = []
    for loaded in runs:
        target = loaded.folder / REPORT_FILE
        write_html(target, build_report([loaded]))
        written.append(target)
    if len(runs) > 1:
        target = comparison or Path(COMPARISON_FILE)
        write_html(target, build_report(runs))
        written.append(target)
    return written


def print_report(out: Path) -> None:
    runs = [load_run(out)]
    print_tables(runs)
    try:
        (target,) = write_reports(runs, None)
    except OSError as exc:
        raise fail(f"cannot write the report: {exc.strerror}: {exc.filename}") from None
    console.print(f"results: {out / 'results.jsonl'}   report: {target}")


Player = Callable[[Callable[[EpisodeSpec, dict[str, Any] | None], None]], object]


def play(admin: AdminApi, agent_api: AgentApi, folder: Path) -> None:
    """Play a planned run's remaining episodes on one server, in this process."""
    play_run(folder, lambda on_episode: run_plan(admin, agent_api, folder, on_episode))


def play_run(folder: Path, player: Player) -> None:
    """Play a planned run's remaining episodes with a progress bar and a line per episode."""
    plan = read_run(folder)["plan"]
    done = len(read_results(folder))
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console) as progress:
        task = progress.add_task("episodes", total=len(plan), completed=done)

        def on_episode(spec: EpisodeSpec, record: dict[str, Any] | None) -> None:
            if record is None:
                progress.update(task, description=f"#{spec.index} {spec.task}: {_episode_name(spec)}")
                return
            mark = {"success": "[green]ok[/]", "failure": "[red]failed[/]"}.get(record["status"], record["status"])
            if spec.problem or spec.task != "mitigation":
                what = f"{spec.task:<12} {_episode_name(spec):<50} {spec.target or '-':<22}"
            else:
                what = f"{spec.fault:<16} {spec.target:<22}"
            progress.console.print(
                f"#{spec.index:<3} {what} {mark}  "
                f"agent {record['remediation_seconds']:.1f}s  harness {record['harness_seconds']:.1f}s",
                highlight=False,
            )
            progress.advance(task)

        player(on_episode)


def plan_on_lanes(lanes: RayLanes, folder: Path, request: RunRequest, settings: EpisodeSettings) -> dict[str, Any]:
    """Plan through a lane's server: every lane runs the app in its own namespace (one app instance per
    server), so the plan has one namespace and records the lanes as its parallelism."""
    run = lanes.plan(replace(request, parallel=1), settings)
    run["parallel"] = request.parallel
    run["executor"] = "ray"
    write_run(folder, run)
    return run


def _episode_name(spec: EpisodeSpec) -> str:
    if spec.problem:
        return spec.problem
    if spec.fault == NO_FAULT:
        return "no-fault control"
    return f"{spec.fault} on {spec.target}"


def _check_app_and_suite(env: str, suite: str) -> None:
    """The app and the suite exist in this remedlab: a mistake is reported before a server is started.
    (The server plans the run against its own catalog, which is this one when it runs here.)"""
    try:
        get_app(env)
    except UnknownApp as exc:
        raise fail(exc.message) from None
    if not is_aiopslab_suite(suite):
        read_suite(suite, set(load_catalog()))


def _server_apis(server_url: str | None) -> tuple[AdminApi, AgentApi]:
    """The server's admin and agent APIs, starting a local server first when none answers, as `up` does."""
    client = ServerClient(server_url)
    try:
        if ensure_server(client):
            console.print(f"started the server at {client.url}", highlight=False)
    except ServerError as exc:
        raise fail(str(exc)) from None
    finally:
        client.close()
    return AdminApi.admin_from_env(server_url), AgentApi.from_env(server_url)


def register(app: typer.Typer) -> None:
    @app.command("run")
    def run(
        env: str | None = typer.Option(None, "--env", help="The app (see `remedlab apps`)."),
        suite: str | None = typer.Option(
            None,
            "--suite",
            "--experiment-path",
            help="easy, medium, hard, demo, flower, a fault type, a suite file, "
            "or aiopslab[:TASK|:PROBLEM-ID|:GLOB,...].",
        ),
        method: str = typer.Option("baseline", "--method", "--remediate-method", help="See `remedlab agents`."),
        model: str | None = typer.Option(None, "--model", help="The model, for LLM methods."),
        provider: str | None = typer.Option(None, "--provider", help="A provider preset (see `remedlab agents`)."),
        base_url: str | None = typer.Option(None, "--base-url", help="The model endpoint's base URL."),
        api: str | None = typer.Option(None, "--api", help="openai or anthropic."),
        tools: str | None = typer.Option(None, "--tools", help="native or text tool calls."),
        server_url: str | None = typer.Option(None, "--server-url", help="The remedlab server."),
        seed: int = typer.Option(0, "--seed", help="Seeds the target draws (same seed, same plan)."),
        out: Path | None = typer.Option(None, "--out", "--save-path", help="The run's directory."),
        resume: Path | None = typer.Option(None, "--resume", help="Continue an interrupted run in this directory."),
        experiments: int | None = typer.Option(None, "--experiments", min=1, help="Play only the first N episodes."),
        task: str | None = typer.Option(
            None,
            "--task",
            help="AIOpsLab's task: detection, localization, analysis or mitigation (default: mitigation; "
            "an AIOpsLab problem carries its own).",
        ),
        controls: int | None = typer.Option(
            None,
            "--controls",
            min=0,
            help="No-fault detection episodes to add (default: as many as balance the faulty ones).",
        ),
        parallel: int = typer.Option(
            1, "--parallel", min=1, max=16, help="Episodes at once, each in its own app instance (namespace)."
        ),
        namespace: str | None = typer.Option(None, "--namespace", help="The app's namespace (default: its own)."),
        wait_interval: float = typer.Option(1.0, "--wait-interval", min=0.1, help="Seconds between fault checks."),
        injection_timeout: float = typer.Option(
            30.0, "--injection-timeout", min=1, help="Seconds for a fault to show, else an injection failure."
        ),
        manifest_path: str | None = typer.Option(
            None, "--manifest-path", help="Accepted for MicroRemed; the app's own manifests are restored."
        ),
        strict_restart: bool = typer.Option(
            False, "--enable-strict-restart", help="Redeploy the app before every episode, healthy or not."
        ),
        oracle: str = typer.Option("remedlab", "--oracle", help="remedlab, or microremed (its check_status)."),
        settle: float = typer.Option(15.0, "--settle", min=1, help="Seconds the fix must hold to pass."),
        grade_timeout: float = typer.Option(120.0, "--grade-timeout", min=1, help="Seconds to wait for the fix."),
        quiet_seconds: float = typer.Option(
            10.0, "--quiet-seconds", min=1, help="Seconds of clean requests an episode waits for before its baseline."
        ),
        rate: float = typer.Option(10.0, "--rate", min=0.1, help="Workload requests per second."),
        max_steps: int = typer.Option(20, "--max-steps", min=1, help="ThinkRemed's probes / ReAct's turns."),
        max_attempts: int = typer.Option(2, "--max-attempts", min=1, help="ThinkRemed's playbook attempts."),
        max_tokens: int | None = typer.Option(None, "--max-tokens", min=1, help="Token budget per episode."),
        max_dollars: float | None = typer.Option(None, "--max-dollars", min=0, help="Dollar budget per episode."),
        prices: Path | None = typer.Option(None, "--prices", help="A price table (YAML)."),
        agent_command: str | None = typer.Option(
            None, "--agent-command", help="The mcp method's agent: a program and its arguments, run per episode."
        ),
        agent_timeout: float = typer.Option(600.0, "--agent-timeout", min=1, help="Seconds the mcp agent may take."),
        executor: str | None = typer.Option(
            None,
            "--executor",
            help="local (this process, one server; the default), or ray (a lane per Ray actor). "
            "--resume uses the run's own unless told.",
        ),
        ray_address: str | None = typer.Option(
            None, "--ray-address", help="The Ray cluster (default: a local one with --parallel lanes)."
        ),
    ) -> None:
        """Run a suite of fault episodes against a method; print the results and write the HTML report."""
        lanes: RayLanes | None = None
        try:
            recorded = read_run(resume) if resume is not None else {}
            chosen = executor or str(recorded.get("executor", "local"))
            if chosen not in EXECUTORS:
                raise fail(f"unknown --executor {chosen!r}: choose one of {', '.join(EXECUTORS)}")
            if chosen == "ray":
                require_ray()
            if resume is not None:
                folder = resume
                planned_lanes = int(recorded.get("parallel", 1))
                if chosen == "ray":
                    lanes = RayLanes(parallel if parallel > 1 else planned_lanes, ray_address)
                else:
                    admin, agent_api = _server_apis(server_url)
            else:
                if env is None or suite is None:
                    raise fail("say what to run: --env APP --suite SUITE (or --resume DIR)")
                info = method_info(method)
                require_agent_command(info.name, agent_command)
                if task is not None and task not in TASKS:
                    raise fail(f"unknown --task {task!r}: choose one of {', '.join(TASKS)}")
                if oracle not in ("remedlab", "microremed"):
                    raise fail(f"unknown --oracle {oracle!r}: choose remedlab or microremed")
                _check_app_and_suite(env, suite)
                options = None
                if info.needs_model:
                    options = ModelOptions(
                        model=model or "", provider=provider, base_url=base_url, api=api, tools=tools
                    )
                    build_model(options)  # fails now, before anything runs, when the options do not fit
                if prices is not None:
                    PriceTable.load(prices)
                settings = EpisodeSettings(
                    method=info.name,
                    oracle=oracle,
                    seed=seed,
                    rate=rate,
                    wait_interval=wait_interval,
                    injection_timeout=injection_timeout,
                    settle_seconds=settle,
                    grade_timeout=grade_timeout,
                    max_steps=max_steps,
                    max_attempts=max_attempts,
                    strict_restart=strict_restart,
                    quiet_seconds=quiet_seconds,
                    agent_command=agent_command_words(agent_command),
                    agent_timeout=agent_timeout,
                )
                folder = out or Path("runs") / time.strftime(
                    f"{env}-{re.sub(r'[^A-Za-z0-9._-]+', '_', suite)}-{info.name}-%Y%m%d-%H%M%S"
                )
                if (folder / "run.json").exists():
                    raise fail(f"{folder} already holds a run: continue it with --resume {folder}, or choose --out")
                request = RunRequest(
                    app=env,
                    suite=suite,
                    method=info.name,
                    namespace=namespace,
                    seed=seed,
                    experiments=experiments,
                    model=options,
                    max_tokens=max_tokens,
                    max_dollars=max_dollars,
                    prices=str(prices) if prices else None,
                    manifest_path=manifest_path,
                    parallel=parallel,
                    task=task,
                    controls=controls,
                )
                if chosen == "ray":
                    lanes = RayLanes(parallel, ray_address)
                    planned = plan_on_lanes(lanes, folder, request, settings)
                else:
                    admin, agent_api = _server_apis(server_url)
                    planned = start_run(admin, folder, request, settings)
                console.print(f"planned {len(planned['plan'])} episodes in {folder}", highlight=False)
                for line in skip_lines(planned):
                    console.print(line, highlight=False, soft_wrap=True)
            if lanes is not None:
                play_run(folder, lambda on_episode: run_plan_on_ray(lanes, folder, on_episode))
            else:
                play(admin, agent_api, folder)
        except (RayUnavailable, LaneError) as exc:
            raise fail(str(exc)) from None
        except (UnknownMethod, ModelOptionsError, UnknownProvider, PriceTableError, SuiteError, RunDirError) as exc:
            raise fail(str(exc)) from None
        except ValueError as exc:
            raise fail(str(exc)) from None
        except AgentApiError as exc:
            raise fail(f"{exc} (is `remedlab serve` running? resume with --resume)") from None
        finally:
            if lanes is not None:
                lanes.close()
        print_report(folder)

    @app.command("report")
    def report(
        runs: list[Path] = typer.Argument(..., help="One or more run directories."),
        html: bool = typer.Option(
            False, "--html", help="Write an HTML report into each run's directory, and one comparing several runs."
        ),
        out: Path | None = typer.Option(
            None, "--out", help=f"Where the comparison's HTML report goes (default: ./{COMPARISON_FILE})."
        ),
        output_format: str = typer.Option("table", "--format", help="table, md (Markdown) or json."),
    ) -> None:
        """Print the figures of finished runs; with --html, write their HTML reports."""
        if output_format not in FORMATS:
            raise fail(f"unknown --format {output_format!r}: choose one of {', '.join(FORMATS)}")
        if out is not None and not (html and len(runs) > 1):
            raise fail("--out names the comparison's HTML report: give --html and several run directories")
        try:
            loaded = [load_run(folder) for folder in runs]
        except RunDirError as exc:
            raise fail(str(exc)) from None
        if output_format == "md":
            sys.stdout.write(markdown_report(build_report(loaded)))
        elif output_format == "json":
            sys.stdout.write(json.dumps(json_summary(build_report(loaded)), indent=1) + "\n")
        else:
            print_tables(loaded)
        if html:
            try:
                written = write_reports(loaded, out)
            except OSError as exc:
                raise fail(f"cannot write the report: {exc.strerror}: {exc.filename}") from None
            said = console if output_format == "table" else err_console  # keep md and json alone on stdout
            for target in written:
                said.print(f"report: {target}", highlight=False, soft_wrap=True)
