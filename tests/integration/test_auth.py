"""Bearer tokens and scopes on a real server: every route x {no token, agent, admin}, and the token file."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from remedlab.server.auth import required_scope
from remedlab.tokens import default_token_file, load_tokens
from tests.integration.kubectl_harness import Kubectl, real_kubectl
from tests.integration.server_harness import ServerProcess, running_server

pytestmark = pytest.mark.integration

SAMPLE = {"namespace": "default", "resource": "pods", "name": "nothing-here", "trace_id": "0" * 32}
EXTRA = [
    ("GET", "/api/v1/pods"),
    ("GET", "/api/v1/namespaces/default/pods/nothing-here"),
    ("DELETE", "/apis/apps/v1/namespaces/default/deployments/nothing-here"),
    ("GET", "/apis/chaos-mesh.org/v1alpha1/networkchaos"),
    ("GET", "/apis/chaos-mesh.org/v1alpha1/namespaces/default/stresschaos/x"),
    ("DELETE", "/apis/chaos-mesh.org/v1alpha1/namespaces/default/podchaos/x"),
    ("GET", "/apis/chaos.remedlab.io/v1alpha1/functionalchaos"),
    ("GET", "/v1/chaos"),
    ("POST", "/v1/apps/simple-micro/deploy"),
    ("DELETE", "/v1/apps/simple-micro"),
    ("GET", "/v1/apps"),
]


@pytest.fixture(scope="module")
def server() -> Iterator[ServerProcess]:
    with running_server() as server:
        yield server


def routes(server: ServerProcess) -> list[tuple[str, str]]:
    status, document = server.request("GET", "/openapi.json", scope=None)
    assert status == 200, document
    found = []
    for template, methods in document["paths"].items():
        path = template
        for key, value in SAMPLE.items():
            path = path.replace("{" + key + "}", value)
        for method in methods:
            if method.upper() in ("GET", "POST", "PUT", "PATCH", "DELETE"):
                found.append((method.upper(), path))
    return sorted(set(found) | set(EXTRA))


def test_the_token_file_is_private_and_holds_both_scopes(server: ServerProcess) -> None:
    path = default_token_file(server.home)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert sorted(load_tokens(path).values()) == ["admin", "agent"]


def test_every_route_by_scope(server: ServerProcess) -> None:
    checked = routes(server)
    assert len(checked) >= 30, checked
    failures: list[str] = []
    body: dict[str, Any] = {}
    for method, path in checked:
        needed = required_scope(method, path)
        anonymous, _ = server.request(method, path, body if method != "GET" else None, scope=None)
        agent, _ = server.request(method, path, body if method != "GET" else None, scope="agent")
        admin, _ = server.request(method, path, body if method != "GET" else None, scope="admin")
        expected_anonymous = 401 if needed is not None else None
        if expected_anonymous is not None and anonymous != 401:
            failures.append(f"{method} {path} without a token -> {anonymous}, not 401")
        if needed == "admin" and agent != 403:
            failures.append(f"{method} {path} as agent -> {agent}, not 403")
        if needed == "agent" and agent in (401, 403):
            failures.append(f"{method} {path} as agent -> {agent}")
        if admin in (401, 403) or admin >= 500:
            failures.append(f"{method} {path} as admin -> {admin}")
    assert not failures, "\n".join(failures)


def test_refusals_say_why_in_one_line(server: ServerProcess) -> None:
    status, body = server.request("GET", "/api/v1/pods", scope=None)
    assert status == 401 and body["reason"] == "Unauthorized" and "Bearer" in body["message"]
    status, body = server.request("GET", "/v1/chaos", scope="agent")
    assert status == 403 and body["reason"] == "Forbidden" and "scope agent" in body["message"]
    chaos = {
        "apiVersion": "chaos-mesh.org/v1alpha1",
        "kind": "PodChaos",
        "metadata": {"name": "sneaky", "namespace": "default"},
        "spec": {"action": "pod-kill", "mode": "one", "selector": {"namespaces": ["default"]}},
    }
    path = "/apis/chaos-mesh.org/v1alpha1/namespaces/default/podchaos"
    status, body = server.request("POST", path, chaos, scope="agent")
    assert status == 403 and body["message"].startswith('podchaos.chaos-mesh.org is forbidden: User "remedlab:agent"')
    status, _ = server.request("GET", "/api/v1/pods", scope="agent")
    assert status == 200


def test_kubeconfigs_carry_each_scope(server: ServerProcess, tmp_path: Path) -> None:
    admin = Kubectl(server, tmp_path / "cache")
    assert "default" in admin.ok("get", "namespaces")
    assert stat.S_IMODE(admin.kubeconfig.stat().st_mode) == 0o600
    denied = admin.as_agent().run("get", "networkchaos", "-A")
    assert denied.returncode != 0 and "Forbidden" in denied.stderr, denied
    forged = tmp_path / "forged"
    forged.write_text(admin.kubeconfig.read_text().replace(server.token("admin"), "not-a-real-token-at-all"))
    wrong = subprocess.run(
        [real_kubectl(), "get", "pods", "--kubeconfig", str(forged)],
        env={**os.environ, "KUBECACHEDIR": str(tmp_path / "cache-forged")},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert wrong.returncode != 0 and "You must be logged in to the server" in wrong.stderr, wrong


def test_listening_beyond_loopback_needs_a_token_file(tmp_path: Any) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "remedlab.cli.main", "serve", "--host", "0.0.0.0", "--port", "7999"],
        env={**os.environ, "REMEDLAB_HOME": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode != 0 and "needs --token-file" in done.stderr, done
    assert not (tmp_path / "cluster.db").exists()  # refused before anything started
