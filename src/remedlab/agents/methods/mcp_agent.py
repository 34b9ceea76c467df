"""Any MCP-speaking agent as a remedlab method: each episode serves its interface as an MCP server
(streamable HTTP on a free loopback port), starts the configured agent command with the server's
address and the incident in its environment, and takes what it submits.

The command gets:
- ``REMEDLAB_MCP_URL``: the episode's MCP endpoint (``http://127.0.0.1:PORT/mcp``);
- ``REMEDLAB_INCIDENT``: the incident as the server's instructions word it (also on its stdin);
- ``REMEDLAB_NAMESPACE`` and ``REMEDLAB_TASK``;
- ``REMEDLAB_USAGE_FILE``: where it may write ``{"input_tokens": N, "output_tokens": N, "cost": X}``
  for the run's token and cost figures (remedlab cannot see an outside agent's model calls).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import uvicorn

from remedlab.agents.episode import BAD_OUTPUT, DONE, STEP_LIMIT, SUBMITTED, AgentContext, AgentResult
from remedlab.agents.llm.chat import Usage
from remedlab.agents.mcp_server import Submission, episode_server, instructions

NAME = "mcp"
OUTPUT_FILE = "mcp-agent-output.txt"
DEFAULT_TIMEOUT = 600.0


class McpAgent:
    name = NAME
    needs_model = False

    def run(self, ctx: AgentContext) -> AgentResult:
        if not ctx.agent_command:
            return ctx.finish(NAME, BAD_OUTPUT, "no agent command: give --agent-command 'PROGRAM ARGS'")
        submission = Submission()
        app = episode_server(ctx, submission).streamable_http_app()
        listener = socket.socket()  # bound here and handed over: no other program can take the port meanwhile
        listener.bind(("127.0.0.1", 0))
        port = int(listener.getsockname()[1])
        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
        thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, name="mcp-episode", daemon=True)
        thread.start()
        deadline = time.monotonic() + 10
        while not server.started and thread.is_alive() and time.monotonic() < deadline:
            time.sleep(0.02)
        usage_file = Path(tempfile.mkstemp(prefix="remedlab-usage-", suffix=".json")[1])
        try:
            if not server.started:
                return ctx.finish(NAME, BAD_OUTPUT, f"the episode's MCP server did not start on port {port}")
            return self._play(ctx, submission, f"http://127.0.0.1:{port}/mcp", usage_file)
        finally:
            server.should_exit = True
            thread.join(timeout=10)
            listener.close()
            usage_file.unlink(missing_ok=True)

    def _play(self, ctx: AgentContext, submission: Submission, url: str, usage_file: Path) -> AgentResult:
        incident = instructions(ctx)
        env = {
            **os.environ,
            "REMEDLAB_MCP_URL": url,
            "REMEDLAB_INCIDENT": incident,
            "REMEDLAB_NAMESPACE": ctx.incident.namespace,
            "REMEDLAB_TASK": ctx.incident.task,
            "REMEDLAB_USAGE_FILE": str(usage_file),
        }
        ctx.log.add("mcp-agent", command=list(ctx.agent_command), url=url)
        try:
            done = subprocess.run(
                list(ctx.agent_command),
                input=incident,
                env=env,
                capture_output=True,
                text=True,
                timeout=ctx.agent_timeout,
                check=False,
            )
            output, code = done.stdout + done.stderr, done.returncode
        except subprocess.TimeoutExpired as exc:
            output, code = _text(exc.stdout) + _text(exc.stderr), None
        except OSError as exc:
            return ctx.finish(NAME, BAD_OUTPUT, f"cannot start the agent command: {exc.strerror or exc}")
        ctx.save_text(OUTPUT_FILE, output)
        result = self._ended(ctx, submission, code)
        _read_usage(result, usage_file)
        return result

    def _ended(self, ctx: AgentContext, submission: Submission, code: int | None) -> AgentResult:
        if submission.submitted:
            return ctx.finish(NAME, SUBMITTED, "the agent submitted", answer=submission.answer)
        if code is None:
            return ctx.finish(NAME, STEP_LIMIT, f"the agent did not finish within {ctx.agent_timeout:g}s")
        if code != 0:
            return ctx.finish(NAME, BAD_OUTPUT, f"the agent command exited with status {code}")
        if ctx.incident.task != "mitigation":
            return ctx.finish(NAME, BAD_OUTPUT, "the agent ended without submitting an answer")
        return ctx.finish(NAME, DONE, "the agent ended")


def _text(stream: str | bytes | None) -> str:
    return stream.decode(errors="replace") if isinstance(stream, bytes) else stream or ""


def _read_usage(result: AgentResult, path: Path) -> None:
    try:
        reported = json.loads(path.read_text(encoding="utf-8") or "{}")
    except (OSError, ValueError):
        return
    if not isinstance(reported, dict):
        return
    result.usage = Usage(
        input_tokens=int(reported.get("input_tokens") or 0), output_tokens=int(reported.get("output_tokens") or 0)
    )
    cost = reported.get("cost")
    result.cost = float(cost) if isinstance(cost, int | float) else None
