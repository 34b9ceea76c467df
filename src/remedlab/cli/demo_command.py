"""`remedlab demo`: the main job, end to end on this machine: the embedded cluster, an app, a suite
of fault episodes against the baseline agent, the results table and the HTML report."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import typer

from remedlab.agents.server_api import AgentApi, AgentApiError
from remedlab.bench.admin_api import AdminApi
from remedlab.bench.episode import EpisodeSettings
from remedlab.bench.plan import SuiteError, read_suite
from remedlab.bench.runner import RunRequest, start_run
from remedlab.chaos.catalog import load_catalog
from remedlab.cli.output import console, fail
from remedlab.cli.run_command import play, print_report
from remedlab.cli.server_client import ServerClient, ServerError, ensure_server
from remedlab.server.serve import server_record_path

# what an episode of the baseline on hotel-reservation takes on 2 cores (its fault, repair and verdict),
# and the server's start with the app's deployment and warm-up
EPISODE_ESTIMATE_S = 35
SETUP_ESTIMATE_S = 30
# a repair holds within the oracle's settle window (15 s) or not at all: a failed episode waits this long
# for the verdict instead of `run`'s 120 s, so that one failure does not double the demo's time
GRADE_TIMEOUT_S = 60.0


def register(app: typer.Typer) -> None:
    @app.command()
    def demo(
        app_name: str = typer.Option("hotel-reservation", "--app", help="The app to run the suite on."),
        suite: str = typer.Option(
            "demo", "--suite", help="demo (one episode of each MicroRemed fault type), easy, or any `run` suite."
        ),
        method: str = typer.Option("baseline", "--method", help="The remediation method."),
        seed: int = typer.Option(0, "--seed", help="Seeds the target draws."),
        experiments: int | None = typer.Option(None, "--experiments", min=1, help="Play only the first N."),
        out: Path | None = typer.Option(None, "--out", help="The run's directory (default runs/demo-...)."),
    ) -> None:
        """Start the embedded cluster, deploy an app, run a suite against the baseline agent, and report."""
        try:
            episodes = len(read_suite(suite, set(load_catalog())))
        except SuiteError as exc:
            raise fail(str(exc)) from None
        if experiments is not None:
            episodes = min(episodes, experiments)
        minutes = (SETUP_ESTIMATE_S + episodes * EPISODE_ESTIMATE_S) / 60
        console.rule(f"remedlab demo: {suite} suite on {app_name} with {method}")
        console.print(
            f"This starts the embedded cluster, deploys {app_name}, injects {episodes} faults one after another "
            f"and lets {method} repair each, then prints the results and writes an HTML report: about "
            f"{minutes:.0f} min on 2 cores." + ("" if suite == "easy" else " The full easy suite: --suite easy."),
            highlight=False,
        )
        client = ServerClient(timeout=180)
        try:
            started_server = ensure_server(client)
        except ServerError as exc:
            raise fail(str(exc)) from None
        folder = out or Path("runs") / time.strftime(f"demo-{app_name}-{suite}-%Y%m%d-%H%M%S")
        admin = AdminApi.admin_from_env(client.url)
        agent_api = AgentApi.from_env(client.url)
        try:
            begin = time.monotonic()
            settings = EpisodeSettings(method=method, seed=seed, grade_timeout=GRADE_TIMEOUT_S)
            request = RunRequest(app=app_name, suite=suite, method=method, seed=seed, experiments=experiments)
            start_run(admin, folder, request, settings)
            play(admin, agent_api, folder)
            print_report(folder)
            console.print(f"demo took {time.monotonic() - begin:.0f}s")
        except (AgentApiError, SuiteError, ValueError) as exc:
            raise fail(str(exc)) from None
        finally:
            if started_server:
                _stop_server()


def _stop_server() -> None:
    record = server_record_path()
    try:
        pid = int(json.loads(record.read_text())["pid"])
    except (OSError, ValueError, KeyError):
        return
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
