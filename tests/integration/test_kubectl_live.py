"""The kubectl-compatible CLI against a real server and real pods."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.integration.server_harness import ServerProcess

pytestmark = pytest.mark.integration

KUBECTL = str(Path(sys.executable).with_name("kubectl"))


def kubectl(server: ServerProcess, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [KUBECTL, *args], env=server.env, input=stdin, capture_output=True, text=True, timeout=120, check=False
    )


def test_kubectl_drives_the_embedded_cluster(server: ServerProcess) -> None:
    assert server.ok("POST", "/v1/apps/simple-micro/deploy", {"timeoutSeconds": 60})["ready"]
    ns = ("-n", "simple-micro")

    pods = kubectl(server, "get", "pods", *ns)
    assert pods.returncode == 0, pods.stderr
    header, *rows = pods.stdout.splitlines()
    assert header.split() == ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    assert len(rows) == 2 and all(r.split()[1:3] == ["1/1", "Running"] for r in rows)

    svc = kubectl(server, "get", "svc", "hello-service", *ns, "-o", "jsonpath={.spec.clusterIP}")
    assert svc.stdout.startswith("127.")

    name = kubectl(server, "get", "pods", *ns, "-l", "app=hello-service", "-o", "name").stdout.strip()
    assert name.startswith("pod/hello-service-")
    described = kubectl(server, "describe", name, *ns)
    assert "Readiness:" in described.stdout and "Events:" in described.stdout

    logs = kubectl(server, "logs", name, *ns, "--tail", "5")
    assert logs.returncode == 0 and all(json.loads(line)["service"] for line in logs.stdout.splitlines())

    executed = kubectl(server, "exec", name, *ns, "--", "sh", "-c", "echo $TIME_SERVICE_SERVICE_PORT")
    assert executed.stdout.strip() == "5001"

    assert kubectl(server, "set", "env", "deployment/time-service", *ns, "MODE=test").returncode == 0
    assert kubectl(server, "rollout", "status", "deployment/time-service", *ns, "--timeout=60s").returncode == 0
    history = kubectl(server, "rollout", "history", "deployment/time-service", *ns)
    assert history.stdout.split()[-2:] == ["2", "<none>"]
    assert "rolled back" in kubectl(server, "rollout", "undo", "deployment/time-service", *ns).stdout
    assert kubectl(server, "rollout", "status", "deployment/time-service", *ns, "--timeout=60s").returncode == 0
    template = json.loads(kubectl(server, "get", "deploy", "time-service", *ns, "-o", "json").stdout)
    env = {e["name"] for e in template["spec"]["template"]["spec"]["containers"][0].get("env", [])}
    assert "MODE" not in env

    assert "scaled" in kubectl(server, "scale", "deployment/hello-service", "--replicas=2", *ns).stdout
    server.wait_for(lambda: len(server.pods("simple-micro", "app=hello-service")) == 2, 30, what="two replicas")

    missing = kubectl(server, "get", "pod", "nope", *ns)
    assert missing.returncode == 1
    assert missing.stderr.strip() == 'Error from server (NotFound): pods "nope" not found'

    bad = kubectl(server, "apply", "-f", "-", stdin="apiVersion: v1\nkind: Gizmo\nmetadata: {name: g}\n")
    assert bad.returncode != 0 and 'no matches for kind "Gizmo"' in bad.stderr.splitlines()[0]
    bad_field = kubectl(
        server,
        "apply",
        "-f",
        "-",
        stdin="apiVersion: v1\nkind: Service\nmetadata: {name: s, namespace: simple-micro}\nspec: {portz: []}\n",
    )
    assert bad_field.returncode != 0 and 'unknown field "portz"' in bad_field.stderr

    deleted = kubectl(server, "delete", "pod", name.split("/", 1)[1], *ns)
    assert deleted.returncode == 0 and "deleted" in deleted.stdout


def test_kubectl_reports_a_missing_server() -> None:
    env = {**os.environ, "REMEDLAB_SERVER": "http://127.0.0.1:9"}
    done = subprocess.run([KUBECTL, "get", "pods"], env=env, capture_output=True, text=True, check=False)
    assert done.returncode == 1
    assert "refused" in done.stderr
