"""The agent's interface for one episode as an MCP server (the official `mcp` SDK): any agent that speaks
the Model Context Protocol observes and remediates one namespace through it.

Its tools are what every other method has, over the remedlab server with the agent token only, so
every call is checked by the same policies and audited as any agent action:

- ``kubectl``: a kubectl command, run as a probe; for mitigation, one the probe policy refuses runs
  as a one-task playbook, which the remediation policy judges (AIOpsLab's ``exec_shell``);
- ``get_logs``, ``get_metrics``, ``get_traces``, ``get_topology``, ``get_events``: what is observed;
- ``run_playbook``: an Ansible playbook, through the remediation policy;
- ``submit``: the answer of a detection, localization or analysis task (and the end of a mitigation).

The incident (namespace and task) is the server's instructions; nothing of the fault is.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from typing import Any

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError

from remedlab.agents.episode import AgentContext
from remedlab.agents.methods.playbooks import run_playbook, summary
from remedlab.agents.methods.react import CallError, check_answer, task_text
from remedlab.agents.methods.react_aci import Aci, AciError
from remedlab.agents.server_api import AgentApiError

SERVER_NAME = "remedlab"
MAX_OUTPUT = 8000
TRACE_LIMIT = 50


@dataclass
class Submission:
    """What the agent submitted (the first valid ``submit``), shared with whoever runs the server."""

    answer: Any = None
    submitted: bool = False
    done: threading.Event = field(default_factory=threading.Event)


def _text(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, indent=1, default=str)
    return text if len(text) <= MAX_OUTPUT else text[:MAX_OUTPUT] + "\n(truncated)"


def _minutes(minutes: float) -> int:
    return int(min(max(float(minutes), 0.1), 60) * 60)


def in_namespace(command: str, namespace: str) -> str:
    """``kubectl ARGS`` (the word kubectl may be left out), with ``-n NAMESPACE`` right after it unless the
    command names a namespace itself."""
    words = command.strip().split()
    args = command.strip()[len("kubectl") :].strip() if words[:1] == ["kubectl"] else command.strip()
    flags = {"-n", "--namespace", "-A", "--all-namespaces"}
    own = args.split(" -- ", 1)[0].split()  # the words after `--` are the command run in a pod
    if any(w in flags or w.startswith(("--namespace=", "-n=")) for w in own):
        return f"kubectl {args}"
    return f"kubectl -n {namespace} {args}"


def instructions(ctx: AgentContext) -> str:
    task = ctx.incident.task
    described = task_text(task)
    return (
        f"You are an SRE on a Kubernetes cluster; the application runs in namespace {ctx.incident.namespace}. "
        f"{described['task_description']}\nWhen done, call submit: {described['submit_description']}"
    )


def episode_server(ctx: AgentContext, submission: Submission) -> MCPServer:
    """An MCP server for the episode of ``ctx`` (its namespace and task), recording answers in ``submission``."""
    aci = Aci(ctx)
    namespace = ctx.incident.namespace
    task = ctx.incident.task
    server: MCPServer = MCPServer(SERVER_NAME, instructions=instructions(ctx), log_level="WARNING")

    def observed(what: str, call: Any) -> str:
        ctx.steps += 1
        try:
            out = call()
        except (AgentApiError, AciError) as exc:
            raise ToolError(str(exc)) from None
        ctx.log.add("mcp", tool=what)
        return _text(out)

    @server.tool(description=f"Run a kubectl command in namespace {namespace} (e.g. 'get pods -o wide').")
    def kubectl(command: str) -> str:
        return observed("kubectl", lambda: aci.exec_shell(in_namespace(command, namespace)))

    @server.tool(description="The recent log lines of a service's pods.")
    def get_logs(service: str) -> str:
        return observed("get_logs", lambda: aci.get_logs(namespace, service))

    @server.tool(description="Per-service request rates, errors and latency, and per-pod CPU and memory.")
    def get_metrics(minutes: float = 5) -> str:
        seconds = _minutes(minutes)
        return observed(
            "get_metrics",
            lambda: {
                "services": ctx.api.service_metrics(namespace, seconds),
                "pods": ctx.api.pod_metrics(namespace, seconds),
            },
        )

    @server.tool(description="Summaries of recent traces (root service and operation, duration, error, services).")
    def get_traces(minutes: float = 5) -> str:
        return observed("get_traces", lambda: ctx.api.traces(namespace, since=_minutes(minutes), limit=TRACE_LIMIT))

    @server.tool(description="Which service calls which, from recent traces, with call counts and errors.")
    def get_topology() -> str:
        return observed("get_topology", lambda: ctx.api.topology(namespace))

    @server.tool(description="The namespace's recent Kubernetes events.")
    def get_events() -> str:
        return observed("get_events", lambda: ctx.api.events(namespace))

    @server.tool(
        name="run_playbook", description="Run an Ansible playbook (YAML) on the cluster to remediate; its outcome."
    )
    def playbook(playbook: str) -> str:
        ctx.steps += 1
        try:
            result = run_playbook(ctx, playbook, why="mcp run_playbook")
        except AgentApiError as exc:
            raise ToolError(str(exc)) from None
        if result.get("refused"):
            raise ToolError(f"refused: {result['refused']}")
        return _text(summary(result))

    @server.tool(description=f"Submit the answer of the {task} task and end the episode.")
    def submit(answer: Any = None) -> str:
        try:
            value = check_answer(task, [answer] if answer is not None else [], {})
        except CallError as exc:
            raise ToolError(str(exc)) from None
        if not submission.submitted:
            submission.answer, submission.submitted = value, True
            ctx.log.add("submit", answer=value)
            submission.done.set()
        return "submitted"

    return server
