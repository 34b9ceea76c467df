"""A server driving another cluster through a kubeconfig: server A runs an embedded cluster, server B
(`remedlab serve --kubeconfig`, no cluster of its own) deploys, injects, observes and lets an agent
remediate on A through A's Kubernetes API only."""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Iterator

import pytest
import yaml

from remedlab.agents.episode import DONE, Incident
from remedlab.agents.run import run_agent
from remedlab.agents.server_api import AgentApi
from tests.integration.agent_episodes import FaultLab
from tests.integration.load_harness import BackgroundLoad
from tests.integration.server_harness import ServerProcess, running_server

pytestmark = pytest.mark.integration

NS = "simple-micro"


@pytest.fixture(scope="module")
def servers() -> Iterator[tuple[ServerProcess, ServerProcess]]:
    with running_server() as a:
        b = ServerProcess(
            extra_args=(
                "--kubeconfig",
                str(a.home / "kubeconfig"),
                "--agent-kubeconfig",
                str(a.home / "kubeconfig-agent"),
            )
        )
        try:
            b.start()
            deployed = b.ok("POST", f"/v1/apps/{NS}/deploy", {"timeoutSeconds": 120}, timeout=150)
            assert deployed["ready"], deployed
            yield a, b
        finally:
            b.cleanup()


def test_b_deploys_on_a_and_reports_the_cluster(servers: tuple[ServerProcess, ServerProcess]) -> None:
    a, b = servers
    on_a = {p["metadata"]["name"] for p in a.pods(NS)}
    through_b = {p["metadata"]["name"] for p in b.pods(NS)}  # B passes A's Kubernetes API through
    assert on_a and on_a == through_b
    checks = {c["mechanism"]: c for c in b.ok("GET", "/v1/doctor")["checks"]}
    for mechanism in ("kubernetes api", "chaos mesh", "metrics api", "create namespaces"):
        assert checks[mechanism]["level"] == "full", checks[mechanism]
    assert checks["traces"]["level"] == "none"
    status, _ = b.request("GET", b.path("podchaos", NS), scope="agent")
    assert status == 403  # chaos objects stay the admin's through B too


def test_b_injects_and_an_agent_remediates_through_b(servers: tuple[ServerProcess, ServerProcess]) -> None:
    a, b = servers
    ip = a.get("services", NS, "hello-service")["spec"]["clusterIP"]
    port = int(a.get("services", NS, "hello-service")["spec"]["ports"][0]["port"])
    with BackgroundLoad(ip, port, NS, rate=10) as load, AgentApi(b.url, b.token("agent")) as api:
        lab = FaultLab(b, NS, api, load)
        lab.wait_healthy()
        with lab.fault("pod-fail", "hello-service") as name:
            assert a.items("podchaos", NS), "the chaos object is on A, for A's chaos controller"
            lab.wait_fault_shows(name)
            result = run_agent("baseline", Incident(NS), api)
            assert result.ended == DONE, result
            assert not lab.fault_shows(name)
        assert result.actions and all(a["ok"] for a in result.actions), result.actions


def test_b_used_only_the_kubernetes_api_of_a(servers: tuple[ServerProcess, ServerProcess]) -> None:
    """A's access log: everything on A's Kubernetes API port (B, and agents' kubectl through B's
    playbooks) is a Kubernetes API path; none of remedlab's own routes."""
    a, _b = servers
    kube_port = urllib.parse.urlsplit(
        yaml.safe_load((a.home / "kubeconfig").read_text())["clusters"][0]["cluster"]["server"]
    ).port
    lines = [json.loads(line) for line in (a.home / "access.log").read_text().splitlines()]
    on_kube = [line for line in lines if line["port"] == kube_port]
    assert on_kube
    assert all(line["path"].startswith(("/api", "/apis", "/version", "/openapi")) for line in on_kube), [
        line["path"] for line in on_kube if not line["path"].startswith(("/api", "/version", "/openapi"))
    ]
    assert any("/apis/chaos-mesh.org/" in line["path"] for line in on_kube)
    assert not any(line["path"].startswith("/v1") for line in on_kube)
