"""An agent cannot learn an episode's fault, target or problem other than by diagnosing it: with the
agent token, through the API and from inside the remediation sandbox (its probes, and `kubectl exec`
into the pods, whose filesystem is the node's), it reads neither the catalog's ground truth, nor the
chaos objects or the files that record them, nor a benchmark run's plan or command line."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from typing import Any

import pytest

from remedlab.bench.results import write_run
from tests.integration.server_harness import ServerProcess, running_server

pytestmark = pytest.mark.integration

NS = "simple-micro"
PROBLEM = f"revoke_auth_mongodb-detection-{os.getpid()}"


@pytest.fixture(scope="module")
def lab() -> Iterator[tuple[ServerProcess, str]]:
    """A server with a fault injected, its chaos object read by the admin (so the access log names
    it), a run's plan naming the problem where pods could reach it, and a process whose command line
    names the problem, as `remedlab run --suite aiopslab:ID` would."""
    with running_server(NS) as server:
        body = {"fault": "network-delay", "target": "time-service", "namespace": NS}
        chaos = str(server.ok("POST", "/v1/chaos", body)["metadata"]["name"])
        server.ok("GET", f"/v1/chaos/{NS}/{chaos}")
        plan = [{"index": 0, "problem": PROBLEM, "fault": "network-delay", "target": "time-service"}]
        write_run(server.home / "runs" / "probe", {"suite": f"aiopslab:{PROBLEM}", "plan": plan})
        runner = subprocess.Popen(["python3", "-c", "import time; time.sleep(120)", f"aiopslab:{PROBLEM}"])
        try:
            yield server, chaos
        finally:
            runner.kill()
            runner.wait(10)
            server.ok("DELETE", f"/v1/chaos/{NS}/{chaos}?wait=true", timeout=90)


def probe(server: ServerProcess, command: str) -> str:
    status, body = server.request("POST", "/v1/remediation/probe", {"commands": command}, scope="agent")
    assert status == 200, body
    return str(body["output"])


def _pod(server: ServerProcess) -> str:
    return str(server.pods(NS, "app=hello-service")[0]["metadata"]["name"])


def test_the_api_gives_the_agent_no_ground_truth(lab: tuple[ServerProcess, str]) -> None:
    server, chaos = lab
    status, catalog = server.request("GET", "/v1/faults", scope="agent")
    assert status == 200 and catalog["faults"] and not [f for f in catalog["faults"] if "truth" in f]
    assert all("truth" in f for f in server.ok("GET", "/v1/faults")["faults"])  # the admin's
    for path in (
        "/v1/chaos",
        f"/v1/chaos/{NS}/{chaos}",
        f"/apis/chaos-mesh.org/v1alpha1/namespaces/{NS}/networkchaos",
        f"/apis/chaos-mesh.org/v1alpha1/namespaces/{NS}/networkchaos/{chaos}",
        f"/v1/workloads/{NS}",
    ):
        assert server.request("GET", path, scope="agent")[0] == 403, path
    seen: list[Any] = []
    for resource in ("pods", "deployments", "replicasets", "services", "configmaps", "events", "endpoints"):
        seen.append(server.request("GET", server.path(resource, NS), scope="agent")[1])
    text = json.dumps(seen)
    assert chaos not in text and PROBLEM not in text and "chaos.remedlab.io" not in text


def test_the_sandbox_reaches_only_this_labs_api_with_the_agent_token(lab: tuple[ServerProcess, str]) -> None:
    server, chaos = lab
    assert "Forbidden" in probe(server, f"kubectl get networkchaos -n {NS}")
    raw = probe(server, "kubectl get --raw /v1/faults")
    assert '"faults"' in raw and "truth" not in raw and "system_level" not in raw
    assert "Unauthorized" in probe(server, f"curl -s http://127.0.0.1:{server.port}/v1/chaos")
    assert "refused" in probe(server, f"cat {server.home}/cluster.db")
    assert "inside the working directory" in probe(server, f"kubectl create --dry-run=client -f {server.home}/x.yaml")
    assert chaos not in probe(server, f"kubectl get events -n {NS} -o json")


def test_files_and_processes_seen_from_a_pod_say_nothing_of_the_fault(lab: tuple[ServerProcess, str]) -> None:
    server, chaos = lab
    pod = _pod(server)
    # every file under the server's home and the run's directory a pod's user can read
    found = probe(server, f"kubectl exec {pod} -n {NS} -- grep -r -l -s -a -e {chaos} -e {PROBLEM} {server.home}")
    hits = [line for line in found.splitlines() if line.startswith("/")]
    assert not hits, f"readable from a pod: {hits}"
    assert "run.json" not in probe(server, f"kubectl exec {pod} -n {NS} -- ls {server.home}/runs/probe")
    processes = probe(server, f"kubectl exec {pod} -n {NS} -- ps -eo args")
    assert PROBLEM not in processes and f"--port {server.port}" not in processes, processes
