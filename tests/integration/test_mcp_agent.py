"""An MCP-speaking agent on remedlab: the SDK's client talks to `remedlab mcp` (stdio) for one episode on
simple-micro, lists the tools, probes with kubectl, fixes the fault with a playbook and the oracle passes
it; hostile inputs are refused through MCP as through HTTP."""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from mcp import Client
from mcp.client.stdio import StdioServerParameters

from remedlab.agents.episode import SUBMITTED, Incident
from remedlab.agents.run import run_agent
from remedlab.agents.server_api import AgentApi
from remedlab.remediate.command_policy import Use
from tests.integration.server_harness import ServerProcess, running_server
from tests.unit.test_command_policy import HOSTILE as HOSTILE_COMMANDS
from tests.unit.test_playbook_policy import HOSTILE as HOSTILE_PLAYBOOKS
from tests.unit.test_playbook_policy import play

pytestmark = pytest.mark.integration

NS = "simple-micro"
TOOLS = {"kubectl", "get_logs", "get_metrics", "get_traces", "get_topology", "get_events", "run_playbook", "submit"}


@pytest.fixture(scope="module")
def server() -> Iterator[ServerProcess]:
    with running_server(NS) as server:
        server.ok("POST", "/v1/workloads", {"namespace": NS, "rate": 10})
        time.sleep(3)
        yield server


def mcp_server(server: ServerProcess, task: str = "mitigation") -> StdioServerParameters:
    env = {**server.env, "REMEDLAB_SERVER": server.url, "REMEDLAB_AGENT_TOKEN": server.token("agent")}
    command = ["-m", "remedlab.cli.main", "mcp", "--namespace", NS, "--task", task]
    return StdioServerParameters(command=sys.executable, args=command, env=env)


def text(result: Any) -> str:
    return "\n".join(str(getattr(part, "text", "")) for part in result.content)


def test_an_mcp_agent_probes_fixes_with_a_playbook_and_passes_the_oracle(server: ServerProcess) -> None:
    base = server.ok("GET", f"/v1/workloads/{NS}?seconds=3")["window"]
    chaos = server.ok("POST", "/v1/chaos", {"fault": "pod-config-error", "target": "hello-service", "namespace": NS})
    name = chaos["metadata"]["name"]
    try:
        server.wait_for(
            lambda: server.ok("GET", f"/v1/chaos/{NS}/{name}")["confirm"]["observable"], timeout=30, what="the fault"
        )

        async def episode() -> tuple[set[str], str, str, str]:
            async with Client(mcp_server(server)) as client:
                tools = {tool.name for tool in (await client.list_tools()).tools}
                pods = text(await client.call_tool("kubectl", {"command": "get pods"}))
                history = text(
                    await client.call_tool("kubectl", {"command": "rollout history deployment/hello-service"})
                )
                fix = play(f"- command: kubectl rollout undo deployment/hello-service -n {NS}\n")
                outcome = text(await client.call_tool("run_playbook", {"playbook": fix}))
                submitted = text(await client.call_tool("submit", {}))
                return tools, pods, history + outcome, submitted

        tools, pods, outcome, submitted = asyncio.run(episode())
        assert tools >= TOOLS, tools
        assert "hello-service" in pods and "STATUS" in pods, pods
        assert "succeeded" in outcome, outcome
        assert submitted == "submitted"
        body = {
            "namespace": NS,
            "target": "hello-service",
            "chaos": name,
            "baseline": {"successRate": base["success_rate"], "p95Ms": base["p95_ms"]},
            "settleSeconds": 3,
            "timeoutSeconds": 60,
        }
        verdict = server.ok("POST", "/v1/grade", body, timeout=90)
        assert verdict["passed"], verdict
    finally:
        server.ok("DELETE", f"/v1/chaos/{NS}/{name}?wait=true", timeout=90)
    audit = (server.home / "audit" / "actions.jsonl").read_text()
    assert "rollout undo" in audit  # audited like every agent action


def test_hostile_inputs_are_refused_through_mcp_as_through_http(server: ServerProcess) -> None:
    """The corpus's kubectl commands (the tool runs kubectl only): a probe's in a detection episode, where
    kubectl only observes, a remediation's in a mitigation episode; and every hostile playbook."""
    probes = [(c, n) for c, use, n in HOSTILE_COMMANDS if c.startswith("kubectl") and use is Use.PROBE]
    remediations = [(c, n) for c, use, n in HOSTILE_COMMANDS if c.startswith("kubectl") and use is Use.REMEDIATION]
    playbooks = [(playbook, needle) for playbook, _where, needle in HOSTILE_PLAYBOOKS]

    async def send(task: str, tool: str, argument: str, inputs: list[tuple[str, str]]) -> list[tuple[str, str, str]]:
        answers = []
        async with Client(mcp_server(server, task)) as client:
            for sent, needle in inputs:
                result = await client.call_tool(tool, {argument: sent})
                answers.append((sent, needle, text(result) if result.is_error or "refused" in text(result) else ""))
        return answers

    async def everything() -> list[tuple[str, str, str]]:
        return [
            *await send("detection", "kubectl", "command", probes),
            *await send("mitigation", "kubectl", "command", remediations),
            *await send("mitigation", "run_playbook", "playbook", playbooks),
        ]

    answers = asyncio.run(everything())
    assert len(answers) >= len(HOSTILE_PLAYBOOKS) + 5
    for sent, needle, refusal in answers:
        # as over HTTP, a body the API does not take (too large) is refused (400) before any policy check
        assert needle in refusal or "HTTP 400" in refusal, (
            f"{sent[:200]!r} not refused for {needle!r}: {refusal[:300]!r}"
        )


def test_an_answer_of_the_wrong_shape_is_refused_and_a_right_one_taken(server: ServerProcess) -> None:
    async def detection() -> tuple[bool, str]:
        async with Client(mcp_server(server, "detection")) as client:
            wrong = await client.call_tool("submit", {"answer": "maybe"})
            right = await client.call_tool("submit", {"answer": "No"})
            return bool(wrong.is_error), text(right)

    wrong_refused, right = asyncio.run(detection())
    assert wrong_refused and right == "submitted"


def test_the_mcp_method_runs_an_outside_agent_per_episode(server: ServerProcess, tmp_path: Path) -> None:
    base = server.ok("GET", f"/v1/workloads/{NS}?seconds=3")["window"]
    chaos = server.ok("POST", "/v1/chaos", {"fault": "pod-config-error", "target": "hello-service", "namespace": NS})
    name = chaos["metadata"]["name"]
    try:
        server.wait_for(
            lambda: server.ok("GET", f"/v1/chaos/{NS}/{name}")["confirm"]["observable"], timeout=30, what="the fault"
        )
        command = (sys.executable, str(Path(__file__).with_name("mcp_scripted_agent.py")))
        with AgentApi(server.url, server.token("agent")) as api:
            result = run_agent("mcp", Incident(NS), api, out_dir=tmp_path, agent_command=command, agent_timeout=120)
        assert result.ended == SUBMITTED, (result, (tmp_path / "mcp-agent-output.txt").read_text()[-2000:])
        assert result.usage.input_tokens == 1200 and result.usage.output_tokens == 80
        assert result.actions and all(a["ok"] for a in result.actions), result.actions
        body = {
            "namespace": NS,
            "target": "hello-service",
            "chaos": name,
            "baseline": {"successRate": base["success_rate"], "p95Ms": base["p95_ms"]},
            "settleSeconds": 3,
            "timeoutSeconds": 60,
        }
        assert server.ok("POST", "/v1/grade", body, timeout=90)["passed"]
    finally:
        server.ok("DELETE", f"/v1/chaos/{NS}/{name}?wait=true", timeout=90)
