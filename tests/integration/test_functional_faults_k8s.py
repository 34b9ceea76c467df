"""AIOpsLab's Kubernetes-level faults on a live Hotel Reservation: each shows within seconds as a
user or an SRE would see it, a no-op fails the oracle, the fix a person would make with the real
kubectl passes it, and the baseline runbook repairs each. The oracle has none of AIOpsLab's weak spots:
a no-op on assign-non-existent-node fails, a scale-pod-zero fix to 2 replicas passes, and a targetPort
fix on a Service's other port fails. One deployed app serves every case."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from remedlab.agents.episode import DONE, Incident
from remedlab.agents.run import run_agent
from tests.integration.agent_episodes import FaultLab, episode_story, fault_lab
from tests.integration.kubectl_harness import Kubectl

pytestmark = pytest.mark.integration

NS = "hotel-reservation"
SYMPTOM_SECONDS = 5.0


@pytest.fixture(scope="module")
def lab() -> Iterator[FaultLab]:
    with fault_lab(NS, "frontend", 5000) as lab:
        lab.server.ok("POST", "/v1/workloads", {"namespace": NS, "rate": 5})
        yield lab


@pytest.fixture(scope="module")
def kubectl(lab: FaultLab, tmp_path_factory: pytest.TempPathFactory) -> Kubectl:
    return Kubectl(lab.server, tmp_path_factory.mktemp("kube-cache"))


def _within(check: Callable[[], bool], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, f"{what} did not show within {seconds:g}s"
        time.sleep(0.1)


def users_fail(lab: FaultLab) -> bool:
    return lab.load.window(2).success_rate < 0.9


def pending_with_event(lab: FaultLab, app: str) -> bool:
    pending = [p for p in lab.server.pods(NS, f"app={app}") if p["status"].get("phase") == "Pending"]
    events = lab.server.items("events", NS)
    names = {p["metadata"]["name"] for p in pending}
    return any(e.get("reason") == "FailedScheduling" and e["involvedObject"]["name"] in names for e in events)


def no_endpoints(lab: FaultLab, service: str) -> bool:
    subsets = lab.server.get("endpoints", NS, service).get("subsets") or []
    return not any(s.get("addresses") for s in subsets)


def service_refuses(lab: FaultLab, service: str, container_port: int) -> bool:
    """The Service's endpoints name another port than its pods' container port, and a new connection
    through its cluster IP is refused (connections kept alive from before keep working, as with kube-proxy)."""
    subsets = lab.server.get("endpoints", NS, service).get("subsets") or []
    ports = {int(p["port"]) for s in subsets for p in s.get("ports") or []}
    if not ports or container_port in ports:
        return False
    svc = lab.server.get("services", NS, service)["spec"]
    try:
        with socket.create_connection((svc["clusterIP"], int(svc["ports"][0]["port"])), timeout=0.5):
            return False
    except OSError:
        return True


def _remove_node_selector(kubectl: Kubectl, deployment: str) -> None:
    op = json.dumps([{"op": "remove", "path": "/spec/template/spec/nodeSelector"}])
    kubectl.ok("patch", "deployment", deployment, "-n", NS, "--type=json", "-p", op)


def _patch_target_port(kubectl: Kubectl, service: str, port: int) -> None:
    op = json.dumps([{"op": "replace", "path": "/spec/ports/0/targetPort", "value": port}])
    kubectl.ok("patch", "svc", service, "-n", NS, "--type=json", "-p", op)


# fault, target, what shows, the human fix
CASES: list[tuple[str, str, Callable[[FaultLab], bool], Callable[[Kubectl], Any]]] = [
    (
        "scale-pod-zero",
        "geo",
        lambda lab: no_endpoints(lab, "geo") and users_fail(lab),
        lambda k: k.ok("scale", "deployment/geo", "-n", NS, "--replicas=2"),  # more than AIOpsLab's 1 is fine
    ),
    (
        "k8s-target-port-misconfig",
        "rate",
        lambda lab: service_refuses(lab, "rate", 8084),
        lambda k: _patch_target_port(k, "rate", 8084),
    ),
    (
        "wrong-bin-usage",
        "profile",
        users_fail,
        lambda k: k.ok("rollout", "undo", "deployment/profile", "-n", NS),
    ),
    (
        "assign-non-existent-node",
        "search",
        lambda lab: pending_with_event(lab, "search"),
        lambda k: _remove_node_selector(k, "search"),
    ),
]


def baseline(lab: FaultLab) -> dict[str, Any]:
    window = lab.server.wait_for(
        lambda: (w := lab.server.ok("GET", f"/v1/workloads/{NS}?seconds=3")["window"])["success_rate"] == 1.0 and w,
        timeout=30,
        interval=0.5,
        what="a clean workload window",
    )
    return {"successRate": window["success_rate"], "p95Ms": window["p95_ms"]}


def grade(lab: FaultLab, target: str, chaos: str, base: dict[str, Any], settle: float, timeout: float) -> Any:
    body = {
        "namespace": NS,
        "target": target,
        "chaos": chaos,
        "baseline": base,
        "settleSeconds": settle,
        "timeoutSeconds": timeout,
    }
    return lab.server.ok("POST", "/v1/grade", body, timeout=timeout + 30)


@pytest.mark.parametrize(("fault", "target", "shows", "fix"), CASES, ids=[c[0] for c in CASES])
def test_the_fault_shows_a_no_op_fails_and_the_human_fix_passes(
    lab: FaultLab,
    kubectl: Kubectl,
    fault: str,
    target: str,
    shows: Callable[[FaultLab], bool],
    fix: Callable[[Kubectl], Any],
) -> None:
    base = baseline(lab)
    with lab.fault(fault, target) as chaos:
        _within(lambda: shows(lab), SYMPTOM_SECONDS, f"{fault} on {target}")
        assert lab.fault_shows(chaos)
        verdict = grade(lab, target, chaos, base, settle=2, timeout=3)
        assert not verdict["passed"] and verdict["reasons"], f"a no-op passed {fault}: {verdict}"
        fix(kubectl)
        verdict = grade(lab, target, chaos, base, settle=3, timeout=60)
        assert verdict["passed"], f"the fix of {fault} failed: {verdict}"
        assert not lab.fault_shows(chaos)
    if fault == "scale-pod-zero":  # the human's 2 replicas stay: recovery leaves a fix alone
        assert lab.server.get("deployments", NS, "geo")["spec"]["replicas"] == 2
        kubectl.ok("scale", "deployment/geo", "-n", NS, "--replicas=1")
        lab.wait_healthy()


def refuses(lab: FaultLab, service: str) -> bool:
    """A new connection to the Service's first port is refused."""
    svc = lab.server.get("services", NS, service)["spec"]
    try:
        with socket.create_connection((svc["clusterIP"], int(svc["ports"][0]["port"])), timeout=1):
            return False
    except OSError:
        return True


def test_a_target_port_fix_on_the_wrong_port_fails_and_on_the_right_one_passes(lab: FaultLab, kubectl: Kubectl) -> None:
    """AIOpsLab checks only a Service's first port; here the fault is on the first of two, and a fix of
    the second (wrong) one fails the oracle until the first is fixed."""
    second = {"name": "metrics", "protocol": "TCP", "port": 9100, "targetPort": "http"}
    kubectl.ok(
        "patch",
        "svc",
        "rate",
        "-n",
        NS,
        "--type=json",
        "-p",
        json.dumps([{"op": "add", "path": "/spec/ports/-", "value": second}]),
    )
    try:
        base = baseline(lab)
        with lab.fault("k8s-target-port-misconfig", "rate") as chaos:
            _within(lambda: refuses(lab, "rate"), SYMPTOM_SECONDS, "the refused port")
            op = json.dumps([{"op": "replace", "path": "/spec/ports/1/targetPort", "value": 8084}])
            kubectl.ok("patch", "svc", "rate", "-n", NS, "--type=json", "-p", op)  # the wrong port
            verdict = grade(lab, "rate", chaos, base, settle=2, timeout=4)
            assert not verdict["passed"] and any("9999" in r for r in verdict["reasons"]), verdict
            _patch_target_port(kubectl, "rate", 8084)  # the right one
            verdict = grade(lab, "rate", chaos, base, settle=3, timeout=30)
            assert verdict["passed"], verdict
    finally:
        ports = lab.server.get("services", NS, "rate")["spec"]["ports"]
        if len(ports) > 1:
            op = json.dumps([{"op": "remove", "path": "/spec/ports/1"}])
            kubectl.ok("patch", "svc", "rate", "-n", NS, "--type=json", "-p", op)


@pytest.mark.parametrize(("fault", "target"), [c[:2] for c in CASES], ids=[c[0] for c in CASES])
def test_baseline_remediates(lab: FaultLab, fault: str, target: str, tmp_path: Path) -> None:
    with lab.fault(fault, target) as chaos:
        lab.wait_fault_shows(chaos)
        result = run_agent("baseline", Incident(NS), lab.api, out_dir=tmp_path)
        assert result.ended == DONE, episode_story(result, tmp_path)
        assert not lab.fault_shows(chaos), f"{fault} on {target} still shows after {result.actions}"
        lab.assert_serving()
    assert result.actions and all(a["ok"] for a in result.actions), episode_story(result, tmp_path)
    assert any(target in str(a["why"]) for a in result.actions), result.actions
