"""The degraded isolation path (no cgroups): the watchdog and throttler still enforce limits."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.integration.server_harness import ServerProcess
from tests.integration.test_embedded_cluster import _deployment, _namespace

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def fallback_server() -> Iterator[ServerProcess]:
    proc = ServerProcess(isolation="fallback")
    try:
        proc.start()
        yield proc
    finally:
        proc.cleanup()


def test_doctor_reports_the_fallback_as_degraded(fallback_server: ServerProcess) -> None:
    checks = {c["mechanism"]: c for c in fallback_server.ok("GET", "/v1/doctor")["checks"]}
    assert checks["memory limits"]["level"] == "degraded"
    assert checks["cpu limits"]["level"] == "degraded"
    assert checks["network faults"]["level"] == "full"


def test_watchdog_oom_kills_a_memory_hog(fallback_server: ServerProcess) -> None:
    server = fallback_server
    _namespace(server, "oomfb")
    hog = "import time; b = bytearray(400 * 2**20); time.sleep(60)"
    deployment = _deployment(
        "hog",
        "oomfb",
        {"image": "busybox:1.36", "command": ["python3", "-c", hog], "resources": {"limits": {"memory": "64Mi"}}},
    )
    server.apply(deployment)

    def oom_killed() -> dict[str, Any] | None:
        for pod in server.pods("oomfb"):
            for status in pod.get("status", {}).get("containerStatuses") or []:
                last = status.get("lastState", {}).get("terminated") or status.get("state", {}).get("terminated")
                if last and last.get("reason") == "OOMKilled":
                    return dict(last)
        return None

    last = server.wait_for(oom_killed, 40, what="OOMKilled by the watchdog")
    assert last["exitCode"] == 137


def test_throttler_holds_a_busy_loop_near_its_cpu_limit(fallback_server: ServerProcess) -> None:
    server = fallback_server
    _namespace(server, "cpufb")
    deployment = _deployment(
        "spin",
        "cpufb",
        {
            "image": "busybox:1.36",
            "command": ["python3", "-c", "while True: pass"],
            "resources": {"limits": {"cpu": "200m"}},
        },
    )
    server.apply(deployment)

    def usage() -> list[float] | None:
        items = server.ok("GET", "/v1/metrics/pods?namespace=cpufb&seconds=60")["items"]
        samples = [s["cpuMillicores"] for item in items for s in item["samples"]][1:]
        return samples if len(samples) >= 4 else None

    samples = server.wait_for(usage, 30, interval=0.5, what="four CPU samples")
    average = sum(samples[-4:]) / 4
    assert average < 450, f"a 200m limit let the loop use {average:.0f}m"
