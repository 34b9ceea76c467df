"""Flower federated learning, live: the flower app gets Ready and its first FedAvg round finishes; each of
AIOpsLab's two Flower faults shows within a round in the logs and the round metrics, and the fix a person
makes with the real kubectl clears it (a rollout undo for the misconfigured ClientApp, the stopped
SuperNode's pod deleted so that it is recreated)."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import httpx
import pytest

from remedlab.apps.flower.rounds import RoundRecord, parse_round
from tests.integration.kubectl_harness import Kubectl
from tests.integration.server_harness import ServerProcess

pytestmark = pytest.mark.integration

NS = "flower"
ROUND_SECONDS = 45.0
"""A round's budget on a busy host: a SuperNode polls every 3 s and a ClientApp process starts per round."""


@dataclass
class Lab:
    server: ServerProcess
    ready_seconds: float
    first_round_seconds: float


def _pod(server: ServerProcess, app: str) -> str:
    pods = [p for p in server.pods(NS, f"app={app}") if not p["metadata"].get("deletionTimestamp")]
    return str(pods[0]["metadata"]["name"])


def log(server: ServerProcess, app: str, container: str) -> str:
    status, body = server.request("GET", f"/api/v1/namespaces/{NS}/pods/{_pod(server, app)}/log?container={container}")
    return body if status == 200 and isinstance(body, str) else ""


def rounds(server: ServerProcess) -> list[RoundRecord]:
    """Every round the ServerApp's pod logged (its exporter's log), in order."""
    return [r for r in map(parse_round, log(server, "serverapp", "round-exporter").splitlines()) if r is not None]


def metrics(server: ServerProcess) -> dict[str, float]:
    ip = server.get("services", NS, "serverapp")["spec"]["clusterIP"]
    try:
        text = httpx.get(f"http://{ip}:9100/metrics", timeout=2).text
    except httpx.HTTPError:
        return {}
    return {m[1]: float(m[2]) for m in re.finditer(r"^(flower_\w+) (\S+)$", text, re.M)}


def wait(check: Callable[[], bool], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, f"{what} did not happen within {seconds:g}s"
        time.sleep(0.5)


def rounds_after(server: ServerProcess, moment: float) -> list[RoundRecord]:
    return [r for r in rounds(server) if r.started >= moment]


@pytest.fixture(scope="module")
def lab() -> Iterator[Lab]:
    server = ServerProcess()
    try:
        server.start()
        started = time.monotonic()
        deployed = server.ok("POST", "/v1/apps/flower/deploy", {"timeoutSeconds": 60}, timeout=90)
        assert deployed["ready"], deployed
        ready = time.monotonic() - started
        wait(lambda: metrics(server).get("flower_rounds_total", 0) >= 1, 60, "a first round")
        yield Lab(server, ready, time.monotonic() - started)
    finally:
        server.cleanup()


@pytest.fixture(scope="module")
def kubectl(lab: Lab, tmp_path_factory: pytest.TempPathFactory) -> Kubectl:
    return Kubectl(lab.server, tmp_path_factory.mktemp("kube-cache"))


def test_ready_and_rounds_learn(lab: Lab) -> None:
    print(f"flower: Ready in {lab.ready_seconds:.1f}s, first round done {lab.first_round_seconds:.1f}s after deploy")
    wait(lambda: len(rounds(lab.server)) >= 2, 2 * ROUND_SECONDS, "two rounds")
    run = [r for r in rounds(lab.server) if r.run_id == rounds(lab.server)[0].run_id]
    print("accuracy per round:", [(r.round, r.accuracy, r.duration_seconds) for r in run])
    assert all(r.clients == 2 and r.failures == 0 for r in run)
    assert run[-1].accuracy > run[0].accuracy and run[-1].loss < run[0].loss
    series = metrics(lab.server)
    assert series["flower_round_clients"] == 2 and 0 < series["flower_round_accuracy"] <= 1


def inject(server: ServerProcess, fault: str, target: str) -> str:
    obj = server.ok("POST", "/v1/chaos", {"fault": fault, "target": target, "namespace": NS})
    return str(obj["metadata"]["name"])


def clean_round_since(server: ServerProcess, moment: float) -> bool:
    return any(r.clients == 2 and r.failures == 0 for r in rounds_after(server, moment))


def test_model_misconfig_fails_rounds_and_rollout_undo_clears_it(lab: Lab, kubectl: Kubectl) -> None:
    server = lab.server
    name = inject(server, "flower-model-misconfig", "clientapp-1")
    try:
        injected = time.time()
        wait(
            lambda: any(r.failures and "shape" in " ".join(r.errors) for r in rounds_after(server, injected)),
            2 * ROUND_SECONDS,
            "a round failing with a shape error",
        )
        assert "parameter shape mismatch" in log(server, "serverapp", "round-exporter")
        assert metrics(server)["flower_rounds_degraded_total"] >= 1
        kubectl.ok("rollout", "undo", "deployment/clientapp-1", "-n", NS)
        fixed = time.time()
        wait(lambda: clean_round_since(server, fixed), 2 * ROUND_SECONDS, "a clean round after the rollout undo")
    finally:
        server.ok("DELETE", f"/v1/chaos/{NS}/{name}?wait=true", timeout=90)


def test_node_stop_loses_a_client_and_recreating_the_pod_clears_it(lab: Lab, kubectl: Kubectl) -> None:
    server = lab.server
    name = inject(server, "flower-node-stop", "supernode-1")
    try:
        injected = time.time()
        wait(
            lambda: any(r.clients < 2 for r in rounds_after(server, injected)),
            2 * ROUND_SECONDS,
            "a round without the stopped node's client",
        )
        assert metrics(server)["flower_round_clients"] < 2 or metrics(server)["flower_round_failures"] >= 1
        kubectl.ok("delete", "pod", "-n", NS, "-l", "app=supernode-1")
        fixed = time.time()
        wait(lambda: clean_round_since(server, fixed), 3 * ROUND_SECONDS, "a clean round after the pod's recreation")
    finally:
        server.ok("DELETE", f"/v1/chaos/{NS}/{name}?wait=true", timeout=90)
