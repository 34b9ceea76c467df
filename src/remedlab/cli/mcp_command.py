"""`remedlab mcp --namespace NS`: the agent's interface for one namespace as an MCP server (stdio, or
streamable HTTP on 127.0.0.1 with `--http PORT`), over the remedlab server with the agent token."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from remedlab.agents.episode import TASKS, AgentContext, Incident
from remedlab.agents.server_api import AgentApi
from remedlab.cli.output import fail


def register(app: typer.Typer) -> None:
    @app.command("mcp")
    def mcp(
        namespace: str = typer.Option(..., "--namespace", "-n", help="The app's namespace: the episode's scope."),
        task: str = typer.Option("mitigation", "--task", help="detection, localization, analysis or mitigation."),
        http: int | None = typer.Option(
            None, "--http", min=1, max=65535, help="Serve streamable HTTP on 127.0.0.1:PORT/mcp instead of stdio."
        ),
        server_url: str | None = typer.Option(None, "--server-url", help="The remedlab server."),
        token: str | None = typer.Option(None, "--token", help="The agent token (default: $REMEDLAB_AGENT_TOKEN)."),
        answer_file: Path | None = typer.Option(None, "--answer-file", help="Write the submitted answer here."),
    ) -> None:
        """Serve one episode's agent interface over MCP: kubectl, logs, metrics, traces, topology, events,
        playbooks and submit."""
        if task not in TASKS:
            raise fail(f"unknown --task {task!r}: choose one of {', '.join(TASKS)}")
        api = AgentApi.from_env(server_url, token)
        from remedlab.agents.mcp_server import Submission, episode_server  # the MCP SDK: imported when served

        submission = Submission()
        server = episode_server(AgentContext(api, Incident(namespace, task=task)), submission)
        try:
            if http is None:
                server.run("stdio")
            else:
                server.run("streamable-http", host="127.0.0.1", port=http)
        finally:
            api.close()
            if answer_file is not None and submission.submitted:
                answer_file.write_text(json.dumps({"answer": submission.answer}) + "\n", encoding="utf-8")
