"""The MicroRemed client-server protocol against a real server: every endpoint, its 200/500/400 contract,
and its scopes."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.integration.server_harness import ServerProcess, running_server

pytestmark = pytest.mark.integration

NS = "simple-micro"
PLAYBOOK = f"""
- hosts: localhost
  gather_facts: false
  tasks:
    - command: kubectl get deployment hello-service -n {NS}
"""


@pytest.fixture(scope="module")
def server() -> Iterator[ServerProcess]:
    with running_server() as server:
        yield server


def call(server: ServerProcess, endpoint: str, body: dict[str, Any], scope: str = "admin") -> tuple[int, Any]:
    return server.request("POST", f"/{endpoint}", body, timeout=180, scope=scope)


def status_until(server: ServerProcess, failure: str, app: str, wanted: bool, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        code, last = call(
            server, "check_status", {"target_namespace": NS, "app_label": app, "failure_type": failure, "timeout": 5}
        )
        assert code == 200, last
        if last["message"] is wanted:
            return
        time.sleep(1)
    raise AssertionError(f"check_status stayed {last} for {failure} on {app}")


def test_the_protocol_end_to_end(server: ServerProcess) -> None:
    code, body = call(server, "deploy_env", {"env_name": NS})
    assert code == 200 and "Ready" in body["message"], body
    code, body = call(server, "deploy_env", {"env_name": "no-such-env"})
    assert code == 500 and "unknown app" in body["message"], body
    code, body = call(server, "deploy_env", {})
    assert code == 400 and "env_name" in body["message"], body

    status_until(server, "cpu-stress", "time-service", True)
    code, body = call(
        server, "inject_failure", {"failure_type": "cpu-stress", "target_pod": "time-service", "target_namespace": NS}
    )
    assert code == 200 and "injected" in body["message"], body
    status_until(server, "cpu-stress", "time-service", False)
    code, body = call(server, "stop_injection", {"failure_type": "cpu-stress", "target_namespace": NS})
    assert code == 200 and "stopped cpu-stress" in body["message"], body
    status_until(server, "cpu-stress", "time-service", True)

    code, body = call(
        server,
        "inject_failure",
        {"failure_type": "no-such-fault", "target_pod": "time-service", "target_namespace": NS},
    )
    assert code == 500 and "unknown failure_type" in body["message"], body

    code, body = call(
        server,
        "inject_failure",
        {"failure_type": "pod-config-error", "target_pod": "hello-service", "target_namespace": NS},
    )
    assert code == 200, body
    limits = server.get("deployments", NS, "hello-service")["spec"]["template"]["spec"]
    assert limits["containers"][0]["resources"]["limits"]["cpu"] == "2m"
    assert call(server, "stop_injection", {"failure_type": "pod-config-error", "target_namespace": NS})[0] == 200
    code, body = call(
        server,
        "restore_by_original_manifest",
        {"target_namespace": NS, "target_pod": "hello-service", "manifest_path": "unused"},
    )
    assert code == 200 and "all pods Ready" in body["message"], body
    restored = server.get("deployments", NS, "hello-service")["spec"]["template"]["spec"]
    assert restored["containers"][0]["resources"]["limits"]["cpu"] == "500m"
    code, body = call(server, "restore_by_original_manifest", {"target_namespace": "nowhere"})
    assert code == 500 and "no remedlab environment" in body["message"], body


def test_agent_endpoints_and_scopes(server: ServerProcess) -> None:
    if server.request("GET", ServerProcess.path("deployments", NS, "hello-service"))[0] != 200:
        assert call(server, "deploy_env", {"env_name": NS})[0] == 200
    code, body = call(server, "execute_probe", {"cmds": f"kubectl get pods -n {NS}; kubectl top pods -n {NS}"}, "agent")
    assert code == 200 and "hello-service" in body["message"], body
    code, body = call(server, "execute_probe", {"cmds": "rm -rf /"}, "agent")
    assert code == 500 and "rm is not allowed" in body["message"], body
    code, body = call(server, "execute_playbook", {"playbook": PLAYBOOK}, "agent")
    assert code == 200 and "playbook succeeded" in body["message"], body
    code, body = call(server, "execute_playbook", {"playbook": "- hosts: elsewhere\n  tasks: []\n"}, "agent")
    assert code == 500 and "playbook refused" in body["message"], body
    for endpoint in ("deploy_env", "inject_failure", "check_status", "stop_injection", "restore_by_original_manifest"):
        assert call(server, endpoint, {}, "agent")[0] == 403, endpoint
        assert server.request("POST", f"/{endpoint}", {}, scope=None)[0] == 401, endpoint
    assert server.request("POST", "/execute_probe", {"cmds": "kubectl get pods"}, scope=None)[0] == 401
