"""Hostile probes and playbooks sent to a live server as the agent: each is refused or contained, the host
is unchanged, and the server stays healthy."""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest

from remedlab.remediate.command_policy import Use
from tests.integration.server_harness import ServerProcess, running_server
from tests.unit.test_command_policy import HOSTILE as HOSTILE_COMMANDS
from tests.unit.test_playbook_policy import HOSTILE as HOSTILE_PLAYBOOKS
from tests.unit.test_playbook_policy import play

pytestmark = pytest.mark.integration

NS = "simple-micro"
WATCHED = [Path("/etc/passwd"), Path("/etc/hostname")]


@pytest.fixture(scope="module")
def server() -> Iterator[ServerProcess]:
    with running_server(NS) as server:
        yield server


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else "absent"


def _sleepers() -> list[psutil.Process]:
    return [p for p in psutil.process_iter(["cmdline"]) if p.info["cmdline"] == ["sleep", "600"]]


def _agent(server: ServerProcess, route: str, body: dict[str, Any]) -> dict[str, Any]:
    status, answer = server.request("POST", f"/v1/remediation/{route}", body, timeout=120, scope="agent")
    if status == 400:  # refused before any check: too large, or not the shape the API takes
        return {"ok": False, "refused": answer["message"], "results": [{"refused": answer["message"]}]}
    assert status == 200, answer
    return dict(answer)


def test_hostile_inputs_are_refused_or_contained(server: ServerProcess) -> None:
    canary = Path("/var/tmp") / f"remedlab-canary-{secrets.token_hex(4)}"
    canary.write_text("still here\n")
    before = {str(p): _digest(p) for p in [*WATCHED, canary]}
    actions = server.home / "actions"
    try:
        workdirs = set(actions.iterdir()) if actions.exists() else set()
        refused = 0
        for command, use, _needle in HOSTILE_COMMANDS:
            if use is Use.PROBE and command:
                answer = _agent(server, "probe", {"commands": command})
                assert not answer["ok"] and answer["results"][0]["refused"], (command, answer)
                refused += 1
            elif command:
                answer = _agent(server, "playbook", {"playbook": play(f"- command: {command!r}\n")})
                assert not answer["ok"] and answer["refused"], (command, answer)
                refused += 1
        for playbook, _where, _needle in HOSTILE_PLAYBOOKS:
            answer = _agent(server, "playbook", {"playbook": playbook})
            assert not answer["ok"] and answer["refused"], (playbook[:200], answer)
            refused += 1
        assert refused >= 90
        assert (set(actions.iterdir()) if actions.exists() else set()) == workdirs  # refused: nothing was prepared

        # contained rather than refused: endless output, a command that never ends, a long pause
        pod = server.pods(NS, "app=time-service")[0]["metadata"]["name"]
        flood = _agent(server, "probe", {"commands": f"kubectl exec {pod} -n {NS} -- cat /dev/zero"})
        (result,) = flood["results"]
        assert not flood["ok"] and len(result["stdout"]) <= 64 * 1024, result["stderr"][-300:]
        started = time.monotonic()
        endless = _agent(
            server,
            "playbook",
            {
                "playbook": play(f"- command: kubectl exec {pod} -n {NS} -- sleep 600\n- pause:\n    seconds: 200\n"),
                "timeoutSeconds": 5,
            },
        )
        assert not endless["ok"] and time.monotonic() - started < 30, endless["output"][-500:]
        # the exec inside the pod is bounded by the cluster's own exec time limit
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and _sleepers():
            time.sleep(0.5)
        assert not _sleepers()
    finally:
        after = {str(p): _digest(p) for p in [*WATCHED, canary]}
        canary.unlink(missing_ok=True)
    assert after == before
    assert server.request("GET", "/healthz", scope=None)[0] == 200
    assert server.items("pods", NS)
