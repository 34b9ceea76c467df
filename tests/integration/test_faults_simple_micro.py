"""Every fault type on simple-micro, under load: the symptom shows within 5 s in user-visible terms,
a realistic remediation through the cluster clears it, and stopping the fault restores the baseline."""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pytest

from remedlab.observe.workload.stats import Summary
from tests.integration.kubectl_harness import Kubectl
from tests.integration.load_harness import BackgroundLoad
from tests.integration.server_harness import ServerProcess

pytestmark = pytest.mark.integration

NS = "simple-micro"


@dataclass
class Lab:
    server: ServerProcess
    load: BackgroundLoad
    baseline: Summary


@pytest.fixture(scope="module")
def lab() -> Iterator[Lab]:
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


@pytest.fixture(autouse=True)
def no_fault_left(lab: Lab) -> Iterator[None]:
    """Every fault a test injected is stopped after it, even when it fails: the next test starts healthy."""
    yield
    for chaos in lab.server.ok("GET", f"/v1/chaos?namespace={NS}")["items"]:
        lab.server.request("DELETE", f"/v1/chaos/{NS}/{chaos['metadata']['name']}")


def _pods(server: ServerProcess, app: str) -> list[dict[str, Any]]:
    return server.pods(NS, f"app={app}")


def _ready(pod: dict[str, Any]) -> bool:
    return any(c["type"] == "Ready" and c["status"] == "True" for c in pod["status"].get("conditions") or [])


def _healthy(lab: Lab) -> None:
    """The app is back: all pods Ready and the workload at its baseline."""
    assert lab.server.ok("POST", "/v1/apps/simple-micro/deploy", {"timeoutSeconds": 90})["ready"]
    deadline = time.monotonic() + 20
    last: Summary | None = None
    while time.monotonic() < deadline:
        last = lab.load.measure(2)
        if _normal(lab, last):
            return
    raise AssertionError(f"the workload did not return to its baseline: {last}")


def _normal(lab: Lab, window: Summary) -> bool:
    limit = max(5 * (lab.baseline.p95_ms or 5.0), 60.0)
    return window.success_rate >= 0.99 and window.p95_ms is not None and window.p95_ms <= limit


def _inject(lab: Lab, fault: str, target: str, *overrides: str) -> str:
    status, body = lab.server.request(
        "POST", "/v1/chaos", {"fault": fault, "target": target, "namespace": NS, "set": list(overrides)}
    )
    assert status == 201, body
    assert body["confirm"]["injected"], body
    return str(body["metadata"]["name"])


def _stop(lab: Lab, name: str) -> None:
    lab.server.ok("DELETE", f"/v1/chaos/{NS}/{name}")


def _delete_pod(lab: Lab, app: str) -> None:
    for pod in _pods(lab.server, app):
        lab.server.delete("pods", NS, pod["metadata"]["name"], grace=1)


def _slow(lab: Lab, window: Summary, at_least_ms: float) -> bool:
    return (window.p95_ms or 0) >= at_least_ms or window.success_rate < 0.9 or window.in_flight > window.sent / 3


def _failing(_lab: Lab, window: Summary) -> bool:
    return window.success_rate <= 0.5


def _cpu_of(lab: Lab, app: str) -> float:
    pod = _pods(lab.server, app)[0]["metadata"]["name"]
    items = lab.server.ok("GET", f"/v1/metrics/pods?namespace={NS}&name={pod}&seconds=3")["items"]
    samples = items[0]["samples"] if items else []
    return max((s["cpuMillicores"] for s in samples), default=0.0)


def _memory_of(lab: Lab, app: str) -> int:
    pod = _pods(lab.server, app)[0]["metadata"]["name"]
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


def _delete_target(app: str) -> Callable[[Lab], None]:
    return lambda lab: _delete_pod(lab, app)


def _undo(lab: Lab) -> None:
    Kubectl(lab.server, lab.server.home / "kube-cache").ok("rollout", "undo", "deployment/time-service", "-n", NS)


def _wait(lab: Lab) -> None:
    """Nothing to do: the cluster heals itself (a killed pod or container comes back)."""


CASES = [
    Case(  # MicroRemed's own threshold: CPU at half the container's 500m limit or more
        "cpu-stress", "time-service", lambda lab, w: _cpu_of(lab, "time-service") >= 250, _delete_target("time-service")
    ),
    Case(
        "memory-stress",
        "time-service",
        lambda lab, w: _memory_of(lab, "time-service") >= 500 * 2**20,
        _delete_target("time-service"),
    ),
    Case("network-delay", "time-service", lambda lab, w: _slow(lab, w, 900), _delete_target("time-service")),
    Case("network-loss", "time-service", lambda lab, w: _slow(lab, w, 190), _delete_target("time-service")),
    Case(
        "disk-io",
        "time-service",
        lambda lab, w: _slow(lab, w, 1000),
        _delete_target("time-service"),
        ("volumePath=/data",),  # where time-service keeps its data (MicroRemed's /var/log/mysql is only written by dd)
    ),
    Case("pod-fail", "time-service", _failing, _delete_target("time-service")),
    Case("network-partition", "time-service", _failing, _delete_target("time-service")),
    Case(
        "network-bandwidth",
        "time-service",
        lambda lab, w: _slow(lab, w, 300),
        _delete_target("time-service"),
        ("bandwidth.rate=1kbps",),
    ),
    Case("network-corrupt", "time-service", lambda lab, w: _slow(lab, w, 190), _delete_target("time-service")),
    Case("http-abort", "time-service", _failing, _delete_target("time-service")),
    Case("http-delay", "time-service", lambda lab, w: _slow(lab, w, 1500), _delete_target("time-service")),
]


@pytest.mark.parametrize("case", CASES, ids=[c.fault for c in CASES])
def test_fault_shows_is_remediated_and_stops_cleanly(lab: Lab, case: Case) -> None:
    _healthy(lab)
    # 1. inject, see the symptom within 5 s, stop the fault: the baseline comes back
    name = _inject(lab, case.fault, case.target, *case.overrides)
    window = lab.load.measure(3)
    assert case.symptom(lab, window), f"{case.fault}: no symptom in {window}"
    _stop(lab, name)
    _healthy(lab)
    # 2. inject again and remediate through the cluster instead: the fault is gone with the pod instance
    name = _inject(lab, case.fault, case.target, *case.overrides)
    window = lab.load.measure(3)
    assert case.symptom(lab, window), f"{case.fault}: no symptom in {window}"
    case.remedy(lab)
    _healthy(lab)
    chaos = lab.server.ok("GET", f"/v1/chaos/{NS}/{name}")
    assert not chaos["confirm"]["observable"] or case.fault in ("memory-stress",), chaos["confirm"]
    _stop(lab, name)


def test_pod_config_error_shows_in_readiness_and_rollout_undo_repairs_it(lab: Lab) -> None:
    _healthy(lab)
    name = _inject(lab, "pod-config-error", "time-service")
    deployment = lab.server.get("deployments", NS, "time-service")
    resources = deployment["spec"]["template"]["spec"]["containers"][0]["resources"]
    assert resources == {"requests": {"cpu": "1m", "memory": "100Mi"}, "limits": {"cpu": "2m", "memory": "200Mi"}}

    def new_pod_unready() -> bool:
        chaos = lab.server.ok("GET", f"/v1/chaos/{NS}/{name}")
        return bool(chaos["confirm"]["observable"])

    lab.server.wait_for(new_pod_unready, 5, what="the new revision's pod not Ready")
    _undo(lab)
    _healthy(lab)
    live = lab.server.get("deployments", NS, "time-service")
    assert live["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"] == {
        "cpu": "500m",
        "memory": "2000Mi",
    }
    _stop(lab, name)
    # stopping after the repair leaves the repaired deployment alone
    after = lab.server.get("deployments", NS, "time-service")
    assert after["spec"]["template"] == live["spec"]["template"]


def test_pod_config_error_stop_restores_the_original_resources(lab: Lab) -> None:
    _healthy(lab)
    name = _inject(lab, "pod-config-error", "time-service")
    _stop(lab, name)
    live = lab.server.get("deployments", NS, "time-service")
    assert live["spec"]["template"]["spec"]["containers"][0]["resources"] == {
        "requests": {"cpu": "100m", "memory": "300Mi"},
        "limits": {"cpu": "500m", "memory": "2000Mi"},
    }
    _healthy(lab)


@pytest.mark.parametrize("fault", ["pod-kill", "container-kill"])
def test_kills_show_as_restarts_and_heal(lab: Lab, fault: str) -> None:
    _healthy(lab)
    before = _pods(lab.server, "time-service")[0]
    name = _inject(lab, fault, "time-service")

    def restarted() -> bool:
        pods = _pods(lab.server, "time-service")
        if fault == "pod-kill":
            return all(p["metadata"]["uid"] != before["metadata"]["uid"] for p in pods)
        statuses = [s for p in pods for s in p["status"].get("containerStatuses") or []]
        return any(s["restartCount"] > 0 for s in statuses)

    lab.server.wait_for(restarted, 5, what=f"{fault} to show")
    _healthy(lab)
    _stop(lab, name)


def test_duplicate_packets_leave_the_stream_intact(lab: Lab) -> None:
    """TCP discards duplicated segments: a real network shows no symptom, and neither does remedlab."""
    _healthy(lab)
    name = _inject(lab, "network-duplicate", "time-service")
    window = lab.load.measure(2)
    assert _normal(lab, window), window
    _stop(lab, name)


def test_bad_fault_requests_are_refused_and_change_nothing(lab: Lab) -> None:
    cases: list[tuple[dict[str, Any], str]] = [
        ({"fault": "network-loss", "target": "time-service", "set": ["loss.loss=150"]}, "between 0 and 100"),
        ({"fault": "cpu-stress", "target": "no-such-service"}, 'unknown target "no-such-service"'),
        ({"fault": "no-such-fault", "target": "time-service"}, 'unknown fault type "no-such-fault"'),
        ({"fault": "network-delay", "target": "time-service", "set": ["delay.latency=soon"]}, "invalid duration"),
        ({"fault": "cpu-stress", "target": "time-service", "set": ["stressors.cpu.bogus=1"]}, "bogus"),
    ]
    before = lab.server.ok("GET", f"/v1/chaos?namespace={NS}")["items"]
    for body, expected in cases:
        status, answer = lab.server.request("POST", "/v1/chaos", {**body, "namespace": NS})
        assert 400 <= status < 500, answer
        assert expected in answer["message"] and "\n" not in answer["message"], answer["message"]
    assert lab.server.ok("GET", f"/v1/chaos?namespace={NS}")["items"] == before


def _served_time_offset(lab: Lab) -> float:
    """How far the time simple-micro serves is from this host's clock, in seconds."""
    ip = lab.server.get("services", NS, "hello-service")["spec"]["clusterIP"]
    with urllib.request.urlopen(f"http://{ip}:5000/hello", timeout=5) as response:
        served = json.loads(response.read())["time"]
    return datetime.fromisoformat(served.replace("Z", "+00:00")).timestamp() - time.time()


def test_time_skew_shifts_the_served_clock_and_a_new_pod_is_clean(lab: Lab) -> None:
    checks = {c["mechanism"]: c for c in lab.server.ok("GET", "/v1/doctor")["checks"]}
    if checks["time faults"]["level"] == "none":
        pytest.skip(checks["time faults"]["detail"])
    _healthy(lab)
    assert abs(_served_time_offset(lab)) < 5
    name = _inject(lab, "time-skew", "time-service")
    assert _served_time_offset(lab) == pytest.approx(-600, abs=5)
    _stop(lab, name)
    assert abs(_served_time_offset(lab)) < 5
    name = _inject(lab, "time-skew", "time-service", "timeOffset=+1h")
    assert _served_time_offset(lab) == pytest.approx(3600, abs=5)
    _delete_pod(lab, "time-service")
    _healthy(lab)
    assert abs(_served_time_offset(lab)) < 5
    _stop(lab, name)
