"""A scripted MCP-speaking agent (the SDK's client), as `--agent-command` runs it: it connects to the
episode's MCP server, lists the tools, probes with kubectl, rolls back the Deployment whose pods are not
Ready with a playbook, reports its (made-up) token usage and submits."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from typing import Any

from mcp import Client


def _text(result: Any) -> str:
    return "\n".join(str(getattr(part, "text", "")) for part in result.content)


async def main() -> int:
    incident = sys.stdin.read()
    assert os.environ["REMEDLAB_NAMESPACE"] in incident
    async with Client(os.environ["REMEDLAB_MCP_URL"]) as client:
        tools = {tool.name for tool in (await client.list_tools()).tools}
        assert {"kubectl", "run_playbook", "submit"} <= tools, tools
        table = _text(await client.call_tool("kubectl", {"command": "get pods -L app --no-headers"}))
        sick = set()
        for row in table.splitlines():
            cells = row.split()  # NAME READY STATUS RESTARTS AGE APP
            if len(cells) >= 6 and "/" in cells[1]:
                ready, wanted = cells[1].split("/", 1)
                if ready != wanted:
                    sick.add(cells[-1])
        for app in sorted(sick):
            playbook = (
                "- hosts: localhost\n  connection: local\n  gather_facts: false\n  tasks:\n"
                f"    - command: kubectl rollout undo deployment/{app} -n {os.environ['REMEDLAB_NAMESPACE']}\n"
            )
            print(_text(await client.call_tool("run_playbook", {"playbook": playbook})))
        with open(os.environ["REMEDLAB_USAGE_FILE"], "w", encoding="utf-8") as usage:
            json.dump({"input_tokens": 1200, "output_tokens": 80}, usage)
        await client.call_tool("submit", {})
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
