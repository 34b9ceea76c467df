"""What the simple-micro fault tests share: a server with simple-micro under load (a module's fixture),
its health, injecting and stopping faults, the symptoms, and one fault case played end to end."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from remedlab.observe.workload.stats import Summary
from tests.integration.kubectl_harness import Kubectl
from tests.integration.load_harness import BackgroundLoad
from tests.integration.server_harness import ServerProcess

NS = "simple-micro"


@dataclass
class Lab:
    server: ServerProcess
    load: BackgroundLoad
    baseline: Summary


@contextmanager
def running_lab() -> Iterator[Lab]:
    """A server with simple-micro deployed and under load at 20 req/s, and its baseline; cleaned up after."""
    server = ServerProcess()
    try:
        server.start()
        assert server.ok("POST", "/v1/apps/simple-micro/deploy", {"timeoutSeconds": 60})["ready"]
        ip = server.get("services", NS, "hello-service")["spec"]["clusterIP"]
        with BackgroundLoad(ip, 5000, "simple-micro", rate=20) as load:
            baseline = load.measure(2)
            assert baseline.success_rate == 1.0, baseline
            yield Lab(server, load, baseline)
    finally:
        server.cleanup()


def stop_every_fault(lab: Lab) -> None:
    """Every fault left in the namespace is stopped: the next test starts healthy."""
    for chaos in lab.server.ok("GET", f"/v1/chaos?namespace={NS}")["items"]:
        lab.server.request("DELETE", f"/v1/chaos/{NS}/{chaos['metadata']['name']}")


def pods_of(server: ServerProcess, app: str) -> list[dict[str, Any]]:
    return server.pods(NS, f"app={app}")


def ready(pod: dict[str, Any]) -> bool:
    return any(c["type"] == "Ready" and c["status"] == "True" for c in pod["status"].get("conditions") or [])


def healthy(lab: Lab) -> None:
    """The app is back: all pods Ready and the workload at its baseline."""
    assert lab.server.ok("POST", "/v1/apps/simple-micro/deploy", {"timeoutSeconds": 90})["ready"]
    deadline = time.monotonic() + 20
    last: Summary | None = None
    while time.monotonic() < deadline:
        last = lab.load.measure(2)
        if normal(lab, last):
            return
    raise AssertionError(f"the workload did not return to its baseline: {last}")


def normal(lab: Lab, window: Summary) -> bool:
    limit = max(5 * (lab.baseline.p95_ms or 5.0), 60.0)
    return window.success_rate >= 0.99 and window.p95_ms is not None and window.p95_ms <= limit


def inject(lab: Lab, fault: str, target: str, *overrides: str) -> str:
    status, body = lab.server.request(
        "POST", "/v1/chaos", {"fault": fault, "target": target, "namespace": NS, "set": list(overrides)}
    )
    assert status == 201, body
    assert body["confirm"]["injected"], body
    return str(body["metadata"]["name"])


def stop_fault(lab: Lab, name: str) -> None:
    lab.server.ok("DELETE", f"/v1/chaos/{NS}/{name}")


def delete_pod(lab: Lab, app: str) -> None:
    for pod in pods_of(lab.server, app):
        lab.server.delete("pods", NS, pod["metadata"]["name"], grace=1)


def slow(lab: Lab, window: Summary, at_least_ms: float) -> bool:
    return (window.p95_ms or 0) >= at_least_ms or window.success_rate < 0.9 or window.in_flight > window.sent / 3


def failing(_lab: Lab, window: Summary) -> bool:
    return window.success_rate <= 0.5


def cpu_of(lab: Lab, app: str) -> float:
    pod = pods_of(lab.server, app)[0]["metadata"]["name"]
    items = lab.server.ok("GET", f"/v1/metrics/pods?namespace={NS}&name={pod}&seconds=3")["items"]
    samples = items[0]["samples"] if items else []
    return max((s["cpuMillicores"] for s in samples), default=0.0)


def memory_of(lab: Lab, app: str) -> int:
    pod = pods_of(lab.server, app)[0]["metadata"]["name"]
    items = lab.server.ok("GET", f"/v1/metrics/pods?namespace={NS}&name={pod}&seconds=3")["items"]
    samples = items[0]["samples"] if items else []
    return max((s["memoryBytes"] for s in samples), default=0)


Symptom = Callable[[Lab, Summary], bool]


@dataclass(frozen=True)
class Case:
    fault: str
    target: str
    symptom: Symptom
    remedy: Callable[[Lab], None]
    overrides: tuple[str, ...] = ()


def delete_target(app: str) -> Callable[[Lab], None]:
    return lambda lab: delete_pod(lab, app)


def rollout_undo(lab: Lab) -> None:
    Kubectl(lab.server, lab.server.home / "kube-cache").ok("rollout", "undo", "deployment/time-service", "-n", NS)


def heals_itself(lab: Lab) -> None:
    """Nothing to do: the cluster heals itself (a killed pod or container comes back)."""


def shows(lab: Lab, case: Case, within_s: float = 15.0) -> None:
    """The case's symptom shows in a 3 s window within `within_s` of the injection.

    A stressor ramps up under its container's CPU limit, slower on a busy host: the first window may
    come before memory has been touched, so the windows follow each other until one shows the symptom."""
    deadline = time.monotonic() + within_s
    while True:
        window = lab.load.measure(3)
        if case.symptom(lab, window):
            return
        if time.monotonic() >= deadline:
            raise AssertionError(f"{case.fault}: no symptom within {within_s:.0f} s, last window {window}")


def play_case(lab: Lab, case: Case) -> None:
    """Inject, see the symptom, stop; inject again and remedy through the cluster."""
    healthy(lab)
    # 1. inject, see the symptom, stop the fault: the baseline comes back
    name = inject(lab, case.fault, case.target, *case.overrides)
    shows(lab, case)
    stop_fault(lab, name)
    healthy(lab)
    # 2. inject again and remediate through the cluster instead: the fault is gone with the pod instance
    name = inject(lab, case.fault, case.target, *case.overrides)
    shows(lab, case)
    case.remedy(lab)
    healthy(lab)
    chaos = lab.server.ok("GET", f"/v1/chaos/{NS}/{name}")
    assert not chaos["confirm"]["observable"] or case.fault in ("memory-stress",), chaos["confirm"]
    stop_fault(lab, name)
