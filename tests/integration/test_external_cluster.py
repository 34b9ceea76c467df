"""A server driving another cluster through a kubeconfig: server A runs an embedded cluster, server B
(`remedlab serve --kubeconfig`, no cluster of its own) deploys, injects, observes and lets an agent
remediate on A through A's Kubernetes API only."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import urllib.parse
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from remedlab.agents.episode import DONE, Incident
from remedlab.agents.run import run_agent
from remedlab.agents.server_api import AgentApi
from remedlab.bench.results import RESULTS_FILE
from remedlab.free_port import free_port
from remedlab.kube.kube_backend import KubeBackend
from tests.integration.agent_episodes import FaultLab
from tests.integration.kubectl_harness import real_kubectl
from tests.integration.load_harness import BackgroundLoad
from tests.integration.server_harness import ServerProcess, running_server

pytestmark = pytest.mark.integration

NS = "simple-micro"
PARITY_FAULTS = ("pod-fail", "cpu-stress", "network-delay", "pod-config-error")
"""MicroRemed faults of each kind that carries them out but IOChaos (PodChaos, StressChaos, NetworkChaos,
FunctionalChaos); memory-stress and network-loss are the same kinds with other parameters, and disk-io
shows nothing on simple-micro, whose services write no files (both servers judge it a failure alike)."""


@pytest.fixture(scope="module")
def servers() -> Iterator[tuple[ServerProcess, ServerProcess]]:
    with running_server() as a:
        b = ServerProcess(
            extra_args=(
                "--kubeconfig",
                str(a.home / "kubeconfig"),
                "--otlp-listen",
                f"127.0.0.1:{free_port()}",
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
    assert checks["traces"]["level"] == "full"
    # A is remedlab's: it carries FunctionalChaos out itself, and B must not do it twice
    assert "carried out by the cluster" in checks["remedlab's chaos kinds"]["detail"]
    status, _ = b.request("GET", b.path("podchaos", NS), scope="agent")
    assert status == 403  # chaos objects stay the admin's through B too


def test_b_gives_agents_a_service_account_with_the_agents_role(
    servers: tuple[ServerProcess, ServerProcess], tmp_path: Path
) -> None:
    a, b = servers
    assert any(sa["metadata"]["name"] == "remedlab-agent" for sa in a.items("serviceaccounts", "remedlab"))
    assert {r["metadata"]["name"] for r in a.items("rolebindings", NS)} == {"remedlab-agent"}
    config = yaml.safe_load((b.home / "kubeconfig-agent").read_text())
    token = config["users"][0]["user"]["token"]
    assert token not in (a.token("admin"), a.token("agent"))  # a token of the ServiceAccount, not A's own
    env = {**os.environ, "KUBECONFIG": str(b.home / "kubeconfig-agent"), "KUBECACHEDIR": str(tmp_path)}

    def can_i(*args: str) -> str:
        done = subprocess.run([real_kubectl(), "auth", "can-i", *args], env=env, capture_output=True, text=True)
        return done.stdout.strip()

    assert can_i("delete", "pods", "-n", NS) == "yes"
    assert can_i("patch", "deployments", "-n", NS) == "yes"
    assert can_i("get", "podchaos.chaos-mesh.org", "-n", NS) == "no"
    assert can_i("get", "secrets", "-n", NS) == "no"
    assert can_i("delete", "pods", "-n", "default") == "no"


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
    # the pods B deployed export their spans to B
    assert b.ok("GET", f"/v1/traces?namespace={NS}&limit=5")["traces"]


@pytest.mark.timeout(360)
def test_a_seeded_run_through_b_reaches_the_verdicts_it_reaches_on_a(
    servers: tuple[ServerProcess, ServerProcess], tmp_path: Path
) -> None:
    a, b = servers
    suite = tmp_path / "suite.txt"
    suite.write_text("\n".join(PARITY_FAULTS) + "\n")

    def run(server: ServerProcess, namespace: str) -> list[tuple[Any, ...]]:
        out = tmp_path / f"run-{server.port}"
        command = [
            sys.executable, "-m", "remedlab.cli.main", "run", "--env", NS, "--suite", str(suite),
            "--method", "baseline", "--seed", "3", "--out", str(out), "--server-url", server.url,
            "--namespace", namespace, "--settle", "3", "--grade-timeout", "60", "--quiet-seconds", "3",
            "--injection-timeout", "60",  # two runs at once on a busy host: a stressor may take a while to show
        ]  # fmt: skip
        done = subprocess.run(command, env=server.env, capture_output=True, text=True, timeout=600, check=False)
        assert done.returncode == 0, done.stderr[-2000:]
        records = [json.loads(line) for line in (out / RESULTS_FILE).read_text().splitlines()]
        return sorted((r["index"], r["fault"], r["target"], r["status"]) for r in records)

    # both at once, on cluster a: b's run in a namespace of its own
    with ThreadPoolExecutor(max_workers=2) as pool:
        through_b = pool.submit(run, b, f"{NS}-through-b")
        on_a = pool.submit(run, a, NS)
        verdicts = [through_b.result(), on_a.result()]
    assert verdicts[0] == verdicts[1]
    assert all(status == "success" for *_, status in verdicts[0]), verdicts[0]


def replaced(a: ServerProcess, old_uid: str) -> bool:
    """Is a new hello-service pod Ready?"""
    return any(
        p["metadata"]["uid"] != old_uid
        and not p["metadata"].get("deletionTimestamp")
        and any(c["type"] == "Ready" and c["status"] == "True" for c in p["status"].get("conditions") or [])
        for p in a.pods(NS, "app=hello-service")
    )


def test_services_are_reached_through_port_forward_tunnels(servers: tuple[ServerProcess, ServerProcess]) -> None:
    """Where cluster IPs are not routed (a real cluster), a Service is reached through the API's
    port-forward: each connection goes to a ready pod behind it, picked afresh, so the tunnel
    outlives the pod it first reached."""
    a, _b = servers
    port = int(a.get("services", NS, "hello-service")["spec"]["ports"][0]["port"])

    async def through_tunnel() -> None:
        backend = KubeBackend(a.home / "kubeconfig", service_access="port-forward")
        try:
            host, local = await backend.service_address(NS, "hello-service", port)
            assert host == "127.0.0.1" and local != port
            async with httpx.AsyncClient(base_url=f"http://{host}:{local}", timeout=20) as client:
                answers = await asyncio.gather(*(client.get("/hello") for _ in range(3)))
                assert [r.status_code for r in answers] == [200, 200, 200], [r.text for r in answers]
                (old,) = a.pods(NS, "app=hello-service")
                a.delete("pods", NS, old["metadata"]["name"])
                await asyncio.to_thread(a.wait_for, lambda: replaced(a, old["metadata"]["uid"]), 60)
                await asyncio.sleep(1)  # the Endpoints follow the new pod
            async with httpx.AsyncClient(base_url=f"http://{host}:{local}", timeout=20) as client:
                assert (await client.get("/hello")).status_code == 200
        finally:
            await backend.stop()

    asyncio.run(through_tunnel())


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
