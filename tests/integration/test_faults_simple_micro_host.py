"""The host faults on simple-micro (CPU, memory, disk, pod and configuration faults, kills, clock skew),
under load: the symptom shows within seconds in user-visible terms, a realistic remediation through the cluster
clears it, and stopping the fault restores the baseline; bad fault requests change nothing."""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest

from tests.integration.simple_micro_lab import (
    NS,
    Case,
    Lab,
    cpu_of,
    delete_pod,
    delete_target,
    failing,
    healthy,
    inject,
    memory_of,
    play_case,
    pods_of,
    rollout_undo,
    running_lab,
    slow,
    stop_every_fault,
    stop_fault,
)

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def lab() -> Iterator[Lab]:
    with running_lab() as made:
        yield made


@pytest.fixture(autouse=True)
def no_fault_left(lab: Lab) -> Iterator[None]:
    """Every fault a test injected is stopped after it, even when it fails."""
    yield
    stop_every_fault(lab)


CASES = [
    Case(  # MicroRemed's own threshold: CPU at half the container's 500m limit or more
        "cpu-stress", "time-service", lambda lab, w: cpu_of(lab, "time-service") >= 250, delete_target("time-service")
    ),
    Case(
        "memory-stress",
        "time-service",
        lambda lab, w: memory_of(lab, "time-service") >= 500 * 2**20,
        delete_target("time-service"),
    ),
    Case(
        "disk-io",
        "time-service",
        lambda lab, w: slow(lab, w, 1000),
        delete_target("time-service"),
        ("volumePath=/data",),  # where time-service keeps its data (MicroRemed's /var/log/mysql is only written by dd)
    ),
    Case("pod-fail", "time-service", failing, delete_target("time-service")),
]


@pytest.mark.parametrize("case", CASES, ids=[c.fault for c in CASES])
def test_fault_shows_is_remediated_and_stops_cleanly(lab: Lab, case: Case) -> None:
    play_case(lab, case)


def test_pod_config_error_shows_in_readiness_and_rollout_undo_repairs_it(lab: Lab) -> None:
    healthy(lab)
    name = inject(lab, "pod-config-error", "time-service")
    deployment = lab.server.get("deployments", NS, "time-service")
    resources = deployment["spec"]["template"]["spec"]["containers"][0]["resources"]
    assert resources == {"requests": {"cpu": "1m", "memory": "100Mi"}, "limits": {"cpu": "2m", "memory": "200Mi"}}

    def new_pod_unready() -> bool:
        chaos = lab.server.ok("GET", f"/v1/chaos/{NS}/{name}")
        return bool(chaos["confirm"]["observable"])

    lab.server.wait_for(new_pod_unready, 5, what="the new revision's pod not Ready")
    rollout_undo(lab)
    healthy(lab)
    live = lab.server.get("deployments", NS, "time-service")
    assert live["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"] == {
        "cpu": "500m",
        "memory": "2000Mi",
    }
    stop_fault(lab, name)
    # stopping after the repair leaves the repaired deployment alone
    after = lab.server.get("deployments", NS, "time-service")
    assert after["spec"]["template"] == live["spec"]["template"]


def test_pod_config_error_stop_restores_the_original_resources(lab: Lab) -> None:
    healthy(lab)
    name = inject(lab, "pod-config-error", "time-service")
    stop_fault(lab, name)
    live = lab.server.get("deployments", NS, "time-service")
    assert live["spec"]["template"]["spec"]["containers"][0]["resources"] == {
        "requests": {"cpu": "100m", "memory": "300Mi"},
        "limits": {"cpu": "500m", "memory": "2000Mi"},
    }
    healthy(lab)


@pytest.mark.parametrize("fault", ["pod-kill", "container-kill"])
def test_kills_show_as_restarts_and_heal(lab: Lab, fault: str) -> None:
    healthy(lab)
    before = pods_of(lab.server, "time-service")[0]
    name = inject(lab, fault, "time-service")

    def restarted() -> bool:
        pods = pods_of(lab.server, "time-service")
        if fault == "pod-kill":
            return all(p["metadata"]["uid"] != before["metadata"]["uid"] for p in pods)
        statuses = [s for p in pods for s in p["status"].get("containerStatuses") or []]
        return any(s["restartCount"] > 0 for s in statuses)

    lab.server.wait_for(restarted, 5, what=f"{fault} to show")
    healthy(lab)
    stop_fault(lab, name)


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
    healthy(lab)
    assert abs(_served_time_offset(lab)) < 5
    name = inject(lab, "time-skew", "time-service")
    assert _served_time_offset(lab) == pytest.approx(-600, abs=5)
    stop_fault(lab, name)
    assert abs(_served_time_offset(lab)) < 5
    name = inject(lab, "time-skew", "time-service", "timeOffset=+1h")
    assert _served_time_offset(lab) == pytest.approx(3600, abs=5)
    delete_pod(lab, "time-service")
    healthy(lab)
    assert abs(_served_time_offset(lab)) < 5
    stop_fault(lab, name)
