"""MicroRemed's disk-io, end to end: its IOChaos on /var/log/mysql slows the writes of its own check
(`kubectl exec POD -- sh -c "... dd ... of=/var/log/mysql/... oflag=direct ..."`), inside the pod's
volume and nowhere else; once the fault stops, the check passes again."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest

from tests.integration.kubectl_harness import Kubectl
from tests.integration.server_harness import ServerProcess, running_server

pytestmark = pytest.mark.integration

NS = "simple-micro"
# MicroRemed's check_disk_io_performance, as it runs it: 10 MB written, the milliseconds it took
DD_CHECK = (
    "time_start=$(date +%s%3N); "
    "dd if=/dev/zero of=/var/log/mysql/test-disk-write.tmp bs=1M count=10 oflag=direct 2>&1; "
    "time_end=$(date +%s%3N); "
    "echo $((time_end - time_start))"
)
CHECK_SECONDS = 2.0  # MicroRemed gives each exec this long
MIN_MB_PER_S = 10.0
HOST_PATH = Path("/var/log/mysql/test-disk-write.tmp")


def _write_speed(kubectl: Kubectl, pod: str, timeout: float) -> float | None:
    """MB/s of MicroRemed's dd check in the pod, None when it did not finish within `timeout`."""
    try:
        done = kubectl.run("exec", pod, "-n", NS, "--", "sh", "-c", DD_CHECK, timeout=timeout)
    except subprocess.TimeoutExpired:
        return None
    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    assert any("copied" in line for line in lines), done.stdout  # dd wrote, O_DIRECT included
    return 10 / (max(int(lines[-1]), 1) / 1000)


def _pod(server: ServerProcess, app: str) -> str:
    return str(server.pods(NS, f"app={app}")[0]["metadata"]["name"])


def test_disk_io_on_hello_service_slows_writes_under_var_log_mysql() -> None:
    host_before = HOST_PATH.exists()
    with running_server(deploy="simple-micro") as server:
        kubectl = Kubectl(server, server.home / "kube-cache")
        pod = _pod(server, "hello-service")
        speed = server.wait_for(lambda: _write_speed(kubectl, pod, 10), timeout=30, what="a first dd")
        assert speed >= MIN_MB_PER_S, speed

        status, chaos = server.request(
            "POST", "/v1/chaos", {"fault": "disk-io", "target": "hello-service", "namespace": NS}
        )
        assert status == 201 and chaos["confirm"]["injected"], chaos
        assert chaos["spec"]["volumePath"] == "/var/log/mysql"
        name = chaos["metadata"]["name"]
        try:
            slowed = _write_speed(kubectl, pod, CHECK_SECONDS + 3)
            assert slowed is None or slowed < MIN_MB_PER_S, slowed  # MicroRemed's check fails
        finally:
            server.ok("DELETE", f"/v1/chaos/{NS}/{name}")
        deadline = time.monotonic() + 30
        recovered = None
        while time.monotonic() < deadline:
            recovered = _write_speed(kubectl, pod, 10)
            if recovered is not None and recovered >= MIN_MB_PER_S:
                break
            time.sleep(0.5)
        assert recovered is not None and recovered >= MIN_MB_PER_S, recovered
    assert HOST_PATH.exists() == host_before  # the writes went to the pod's volume, never the host's path
