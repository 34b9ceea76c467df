"""Fault episodes for agent tests: a deployed app under steady load, a fault injected by the admin,
an agent run through the server with the agent token, and checks that the fault no longer shows."""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from remedlab.agents.episode import AgentResult
from remedlab.agents.run import CONVERSATION_FILE
from remedlab.agents.server_api import AgentApi
from tests.integration.load_harness import BackgroundLoad
from tests.integration.server_harness import ServerProcess, running_server


@dataclass
class FaultLab:
    server: ServerProcess
    namespace: str
    api: AgentApi
    load: BackgroundLoad

    def pods_settled(self) -> bool:
        pods = self.server.pods(self.namespace)
        return bool(pods) and all(
            not p["metadata"].get("deletionTimestamp")
            and any(c["type"] == "Ready" and c["status"] == "True" for c in p["status"].get("conditions") or [])
            for p in pods
        )

    def wait_healthy(self, timeout: float = 90.0) -> None:
        """Every pod Ready and the workload succeeding again (after a fault and its recovery)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.pods_settled() and self.load.window(3).success_rate == 1.0:
                return
            time.sleep(0.5)
        raise AssertionError(f"{self.namespace} did not get healthy within {timeout:g}s")

    @contextlib.contextmanager
    def fault(self, fault: str, target: str, *overrides: str) -> Iterator[str]:
        """Inject ``fault`` on ``target`` (as the admin; ``overrides`` as `--set`), yield the chaos object's
        name, and always stop it and wait for the app to be healthy again."""
        body = {"fault": fault, "target": target, "namespace": self.namespace, "set": list(overrides)}
        obj = self.server.ok("POST", "/v1/chaos", body)
        name = str(obj["metadata"]["name"])
        try:
            yield name
        finally:
            self.server.ok("DELETE", f"/v1/chaos/{self.namespace}/{name}?wait=true", timeout=90)
            self.wait_healthy()

    def fault_shows(self, name: str) -> bool:
        """Does the injected fault still affect a live pod (or the live revision)?"""
        answer = self.server.ok("GET", f"/v1/chaos/{self.namespace}/{name}")
        return bool(answer["confirm"]["observable"])

    def wait_fault_shows(self, name: str, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while not self.fault_shows(name):
            assert time.monotonic() < deadline, f"the fault {name} did not show within {timeout:g}s"
            time.sleep(0.5)

    def assert_serving(self) -> None:
        """Users' requests succeed again within a few seconds."""
        deadline = time.monotonic() + 20
        while self.load.window(2).success_rate < 1.0:
            assert time.monotonic() < deadline, f"requests still fail: {self.load.window(2)}"
            time.sleep(0.5)


@contextlib.contextmanager
def fault_lab(app: str, entry: str, port: int, rate: float = 10.0) -> Iterator[FaultLab]:
    with running_server(app) as server:
        ip = server.get("services", app, entry)["spec"]["clusterIP"]
        with BackgroundLoad(ip, port, app, rate=rate) as load, AgentApi(server.url, server.token("agent")) as api:
            lab = FaultLab(server, app, api, load)
            lab.wait_healthy()
            yield lab


STORY_ACTION_KEYS = ("why", "ok", "exitCode", "seconds", "stoppedIn", "refused")


def episode_story(result: AgentResult, out_dir: Path) -> str:
    """How an agent's episode went, for the message of a failed assertion: how it ended, each action
    (why, outcome, seconds, the task a stopped playbook was in) and what each of its looks found."""
    lines = [f"{result.method} ended {result.ended} after {result.seconds:.0f}s: {result.reason}"]
    for action in result.actions:
        told = ", ".join(f"{k}={action[k]}" for k in STORY_ACTION_KEYS if action.get(k) is not None)
        lines.append(f"action: {told}")
    with contextlib.suppress(OSError, ValueError, KeyError):
        for entry in json.loads((out_dir / CONVERSATION_FILE).read_text())["entries"]:
            if entry["kind"] == "observation":
                found = [f"{f['rule']} on {f['deployment']} ({str(f['evidence'])[:200]})" for f in entry["findings"]]
                lines.append(f"t={entry['t']:.0f}s look {entry['step']}: " + ("; ".join(found) or "nothing wrong"))
            elif entry["kind"] == "playbook":
                answer = entry.get("answer") or {}
                lines.append(f"t={entry['t']:.0f}s playbook {entry['file']}: {str(answer)[:300]}")
    return "\n".join(lines)
