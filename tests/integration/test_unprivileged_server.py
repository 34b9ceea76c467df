"""A server run by an ordinary user: the cluster works, degraded, and says so."""

from __future__ import annotations

import os
import pwd
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from tests.integration.kubectl_harness import Kubectl
from tests.integration.server_harness import ServerProcess, as_user

pytestmark = pytest.mark.integration

USER = "remedlab-pod"


def _usable_user() -> str | None:
    if os.geteuid() != 0:
        return "this test needs root to start a server as another user"
    try:
        entry = pwd.getpwnam(USER)
    except KeyError:
        return f"user {USER} does not exist (make setup creates it)"
    check = subprocess.run(
        [sys.executable, "-c", "import remedlab.cli.main"], preexec_fn=as_user(entry.pw_name), capture_output=True
    )
    if check.returncode != 0:
        return f"{USER} cannot run this checkout's interpreter (a private directory, and no mount namespaces)"
    return None


def test_unprivileged_server_runs_simple_micro_and_reports_degraded_isolation(tmp_path: Path) -> None:
    reason = _usable_user()
    if reason is not None:
        pytest.skip(reason)
    server = ServerProcess(user=USER)
    try:
        server.start()
        checks = {c["mechanism"]: c for c in server.ok("GET", "/v1/doctor")["checks"]}
        assert checks["memory limits"]["level"] == "degraded"
        assert checks["user isolation"]["level"] == "degraded"
        assert checks["agent actions"]["level"] == "degraded"
        assert server.ok("POST", "/v1/apps/simple-micro/deploy", {"timeoutSeconds": 60})["ready"]
        ip = server.get("services", "simple-micro", "hello-service")["spec"]["clusterIP"]
        with urllib.request.urlopen(f"http://{ip}:5000/hello", timeout=5) as response:
            assert b"Hello" in response.read()
        for proc in server.pod_processes():
            assert proc.uids().real == pwd.getpwnam(USER).pw_uid
        # port 53 is root's: the cluster DNS listens on another port, reached through the pod shim
        dns = checks["cluster dns"]
        assert dns["level"] == "degraded" and "preloaded shim" in dns["detail"], dns
        pod = server.pods("simple-micro", "app=hello-service")[0]["metadata"]["name"]
        time_ip = server.get("services", "simple-micro", "time-service")["spec"]["clusterIP"]
        done = Kubectl(server, tmp_path / "kube-cache").run(
            "exec", "-n", "simple-micro", pod, "--", "getent", "hosts", "time-service"
        )
        assert done.stdout.split() == [time_ip, "time-service.simple-micro.svc.cluster.local"], done.stderr
    finally:
        server.cleanup()
