"""Agents' actions on a real server: probes and a playbook that repairs simple-micro, run as the agent,
in a sandbox, audited; escapes refused."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.integration.http_probe import fetch
from tests.integration.server_harness import ServerProcess, running_server

pytestmark = pytest.mark.integration

NS = "simple-micro"
KUBECTL = str(Path(sys.executable).with_name("kubectl"))

REPAIR = f"""
- name: roll back hello-service
  hosts: localhost
  gather_facts: false
  tasks:
    - name: undo the last rollout
      command: kubectl rollout undo deployment/hello-service -n {NS}
    - name: wait for it
      command: kubectl rollout status deployment/hello-service -n {NS} --timeout=60s
    - name: check the service answers
      uri:
        url: "http://{{{{ hello }}}}:5000/hello"
        status_code: 200
      retries: 10
      delay: 1
      register: answer
      until: answer.status == 200
"""


@pytest.fixture(scope="module")
def server() -> Iterator[ServerProcess]:
    with running_server(NS) as server:
        yield server


def probe(server: ServerProcess, commands: str) -> dict[str, Any]:
    status, body = server.request("POST", "/v1/remediation/probe", {"commands": commands}, scope="agent")
    assert status == 200, body
    return dict(body)


def test_probes_run_as_the_agent_and_refuse_escapes(server: ServerProcess) -> None:
    answer = probe(server, f"kubectl get pods -n {NS}; kubectl get deployments -n {NS}")
    assert answer["ok"], answer
    assert "hello-service" in answer["output"] and "time-service" in answer["output"]
    refused = probe(server, "kubectl get pods; cat /etc/shadow")
    assert not refused["ok"] and "cat is not allowed" in refused["output"]
    # the sandbox's kubectl holds the agent token: chaos objects stay hidden from it
    hidden = probe(server, "kubectl get networkchaos -A")
    assert not hidden["ok"] and "Forbidden" in hidden["output"], hidden
    # the admin's routes are closed to agents
    status, _ = server.request("POST", f"/v1/apps/{NS}/deploy", {"wait": False}, scope="agent")
    assert status == 403


def _hello_status(server: ServerProcess) -> int:
    ip = server.get("services", NS, "hello-service")["spec"]["clusterIP"]
    return fetch(f"http://{ip}:5000/hello", timeout=5).status


def test_a_playbook_repairs_a_bad_rollout(server: ServerProcess) -> None:
    # the fault: a rollout that points hello-service at an address where no time-service listens
    broken = subprocess.run(
        [KUBECTL, "set", "env", "deployment/hello-service", "-n", NS, "TIME_SERVICE_SERVICE_HOST=127.0.0.9"],
        env=server.env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert broken.returncode == 0, broken.stderr
    server.wait_for(lambda: _hello_status(server) == 503, timeout=60, what="hello-service failing")

    hello_ip = server.get("services", NS, "hello-service")["spec"]["clusterIP"]
    playbook = REPAIR.replace("{{ hello }}", hello_ip)
    started = time.monotonic()
    status, result = server.request("POST", "/v1/remediation/playbook", {"playbook": playbook}, scope="agent")
    assert status == 200, result
    assert result["ok"], result["output"]
    assert [t["status"] for t in result["tasks"]] == ["changed", "changed", "ok"], result["tasks"]
    print(f"repair playbook ran in {time.monotonic() - started:.1f}s")
    assert _hello_status(server) == 200

    refused_status, refused = server.request(
        "POST", "/v1/remediation/playbook", {"playbook": "- hosts: localhost\n  tasks:\n    - shell: rm -rf /\n"},
        scope="agent",
    )  # fmt: skip
    assert refused_status == 200 and not refused["ok"] and "rm is not allowed" in refused["refused"]

    audit = [json.loads(line) for line in (server.home / "audit" / "actions.jsonl").read_text().splitlines()]
    playbooks = [line for line in audit if line["kind"] == "playbook"]
    assert [line["scope"] for line in playbooks] == ["agent", "agent"]
    assert playbooks[0]["outcome"]["ok"] and playbooks[1]["outcome"]["refused"]
