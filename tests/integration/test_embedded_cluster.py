"""The embedded cluster end to end: a real server, real pod processes, real traffic."""

from __future__ import annotations

import json
import os
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from tests.integration.kubectl_harness import Kubectl, rows
from tests.integration.server_harness import ServerProcess

pytestmark = pytest.mark.integration


def _ready(pod: dict[str, Any]) -> bool:
    return any(c["type"] == "Ready" and c["status"] == "True" for c in pod.get("status", {}).get("conditions") or [])


def _namespace(server: ServerProcess, name: str) -> None:
    server.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})


def _deployment(name: str, ns: str, container: dict[str, Any], **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": ns},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {
                    "containers": [{"name": name, **container}],
                    "terminationGracePeriodSeconds": 2,
                    **spec,
                },
            },
        },
    }


def test_simple_micro_comes_up_and_serves_through_its_service(server: ServerProcess) -> None:
    result = server.ok("POST", "/v1/apps/simple-micro/deploy", {"timeoutSeconds": 60})
    assert result["ready"] is True
    pods = server.pods("simple-micro")
    assert len(pods) == 2 and all(_ready(p) for p in pods)
    svc = server.get("services", "simple-micro", "hello-service")
    ip = svc["spec"]["clusterIP"]
    assert ip.startswith("127.") and ip not in {p["status"]["podIP"] for p in pods}
    with urllib.request.urlopen(f"http://{ip}:5000/hello", timeout=5) as response:
        body = json.loads(response.read())
    assert body["message"] == "Hello, world!" and body["time"]
    endpoints = server.get("endpoints", "simple-micro", "time-service")
    assert [a["ip"] for a in endpoints["subsets"][0]["addresses"]] == [
        p["status"]["podIP"] for p in pods if p["metadata"]["labels"]["app"] == "time-service"
    ]


def test_deleted_pod_is_replaced_by_a_new_ready_pod(server: ServerProcess) -> None:
    server.ok("POST", "/v1/apps/simple-micro/deploy", {"timeoutSeconds": 60})
    old = server.pods("simple-micro", "app=time-service")[0]
    server.delete("pods", "simple-micro", old["metadata"]["name"], grace=1)

    def replaced() -> bool:
        pods = server.pods("simple-micro", "app=time-service")
        return len(pods) == 1 and pods[0]["metadata"]["uid"] != old["metadata"]["uid"] and _ready(pods[0])

    server.wait_for(replaced, 30, what="a new Ready time-service pod")


def test_crashing_container_goes_into_crash_loop_back_off(server: ServerProcess) -> None:
    _namespace(server, "crash")
    deployment = _deployment(
        "crasher", "crash", {"image": "busybox:1.36", "command": ["sh", "-c", "echo boom; exit 1"]}
    )
    server.apply(deployment)

    back_offs: list[int] = []

    def looping() -> dict[str, Any] | None:
        for pod in server.pods("crash"):
            for status in pod.get("status", {}).get("containerStatuses") or []:
                waiting = status.get("state", {}).get("waiting") or {}
                if waiting.get("reason") == "CrashLoopBackOff":
                    seconds = int(waiting["message"].split("back-off ")[1].split("s ")[0])
                    if not back_offs or back_offs[-1] != seconds:
                        back_offs.append(seconds)
                    if status["restartCount"] >= 4:
                        return dict(status)
        return None

    status = server.wait_for(looping, 60, interval=0.05, what="CrashLoopBackOff with restarts")
    terminated = status["lastState"]["terminated"]
    assert terminated["exitCode"] == 1 and terminated["reason"] == "Error"
    # the server runs with a 1 s base: the back-off doubles between restarts
    assert back_offs[:3] == [1, 2, 4], back_offs
    pod = server.pods("crash")[0]["metadata"]["name"]
    logs = server.ok("GET", server.path("pods", "crash", pod, "log") + "?previous=true")
    assert "boom" in logs
    events = server.items("events", "crash")
    assert any(e["reason"] == "BackOff" for e in events)


def test_memory_hog_is_oom_killed_and_restarted(server: ServerProcess) -> None:
    _namespace(server, "oom")
    hog = "import time; b = bytearray(400 * 2**20); time.sleep(60)"
    deployment = _deployment(
        "hog",
        "oom",
        {
            "image": "busybox:1.36",
            "command": ["python3", "-c", hog],
            "resources": {"limits": {"memory": "64Mi"}},
        },
    )
    server.apply(deployment)

    def oom_killed() -> dict[str, Any] | None:
        for pod in server.pods("oom"):
            for status in pod.get("status", {}).get("containerStatuses") or []:
                last = status.get("lastState", {}).get("terminated") or status.get("state", {}).get("terminated")
                if last and last.get("reason") == "OOMKilled" and status["restartCount"] >= 1:
                    return dict(status)
        return None

    status = server.wait_for(oom_killed, 40, what="OOMKilled and restarted")
    assert (status["lastState"].get("terminated") or status["state"]["terminated"])["exitCode"] == 137


def test_rollout_undo_restores_the_previous_template(server: ServerProcess, tmp_path: Path) -> None:
    kubectl = Kubectl(server, tmp_path)
    _namespace(server, "undo")
    deployment = _deployment("web", "undo", {"image": "busybox:1.36", "command": ["sh", "-c", "sleep 600"]})
    server.apply(deployment)
    server.wait_for(lambda: any(_ready(p) for p in server.pods("undo")), 30, what="web Ready")
    good = server.pods("undo")[0]
    patch = {"spec": {"template": {"spec": {"containers": [{"name": "web", "image": "busybox:9.99-missing"}]}}}}
    server.patch("deployments", "undo", "web", patch)

    def pull_failing() -> bool:
        for pod in server.pods("undo"):
            for status in pod.get("status", {}).get("containerStatuses") or []:
                if (status.get("state", {}).get("waiting") or {}).get("reason") in (
                    "ErrImagePull",
                    "ImagePullBackOff",
                ):
                    return True
        return False

    server.wait_for(pull_failing, 30, what="ErrImagePull on the new revision")
    # maxUnavailable 0: the old pod keeps serving while the new one cannot start
    assert any(p["metadata"]["uid"] == good["metadata"]["uid"] and _ready(p) for p in server.pods("undo"))
    history = rows(kubectl.ok("rollout", "history", "deployment/web", "-n", "undo"))
    assert [h[0] for h in history if h[0].isdigit()] == ["1", "2"]
    assert "rolled back" in kubectl.ok("rollout", "undo", "deployment/web", "-n", "undo")

    def restored() -> bool:
        pods = server.pods("undo")
        images = {c["image"] for p in pods for c in p["spec"]["containers"]}
        return len(pods) == 1 and images == {"busybox:1.36"} and _ready(pods[0])

    server.wait_for(restored, 30, what="the previous template back")
    live = server.get("deployments", "undo", "web")
    assert live["spec"]["template"]["spec"]["containers"][0]["image"] == "busybox:1.36"
    assert live["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "3"


def test_impossible_node_selector_stays_pending_with_an_event(server: ServerProcess) -> None:
    _namespace(server, "sched")
    deployment = _deployment(
        "nowhere",
        "sched",
        {"image": "busybox:1.36", "command": ["sh", "-c", "sleep 600"]},
        nodeSelector={"disktype": "ssd-that-does-not-exist"},
    )
    server.apply(deployment)

    def failed_scheduling() -> bool:
        events = server.items("events", "sched")
        return any(e["reason"] == "FailedScheduling" for e in events)

    server.wait_for(failed_scheduling, 15, what="a FailedScheduling event")
    pod = server.pods("sched")[0]
    assert pod["status"]["phase"] == "Pending" and "nodeName" not in pod["spec"]


def test_exec_runs_in_the_pod_environment(server: ServerProcess, tmp_path: Path) -> None:
    server.ok("POST", "/v1/apps/simple-micro/deploy", {"timeoutSeconds": 60})
    pod = server.pods("simple-micro", "app=hello-service")[0]
    name = pod["metadata"]["name"]
    kubectl = Kubectl(server, tmp_path)
    out = kubectl.ok(
        "exec", name, "-n", "simple-micro", "--", "sh", "-c", "echo $HOSTNAME $TIME_SERVICE_SERVICE_PORT; id -un"
    )
    first, user = out.strip().splitlines()
    assert first == f"{name} 5001"
    if os.geteuid() == 0:
        assert user in ("remedlab-pod", "nobody"), "pods of a root server run unprivileged"
    assert kubectl.run("exec", name, "-n", "simple-micro", "--", "false").returncode == 1


def test_bad_objects_are_refused_with_one_line_errors(server: ServerProcess) -> None:
    configmaps = server.path("configmaps", "default") + "?fieldValidation=Strict"
    deployments = server.path("deployments", "default") + "?fieldValidation=Strict"
    services = server.path("services", "default") + "?fieldValidation=Strict"
    cases = [
        (configmaps, {"apiVersion": "v1", "kind": "Gizmo", "metadata": {"name": "x"}}, "Gizmo"),
        (
            deployments,
            _deployment("x", "default", {"imagee": "busybox"}),
            'unknown field "spec.template.spec.containers[0].imagee"',
        ),
        (deployments, _deployment("x", "default", {}), "image: Required value"),
        (
            services,
            {"kind": "Service", "apiVersion": "v1", "metadata": {"name": "s"}, "spec": {"ports": [{"port": 99999}]}},
            "ports[0].port",
        ),
    ]
    for path, bad, expected in cases:
        status, body = server.request("POST", path, bad)
        assert 400 <= status < 500, body
        assert body["kind"] == "Status" and expected in body["message"], body["message"]
        assert "\n" not in body["message"]
    status, _ = server.request("GET", server.path("deployments", "default", "x"))
    assert status == 404
    status, body = server.request("POST", configmaps, "not an object")
    assert status == 400 and body["reason"] == "BadRequest"
    status, body = server.request("GET", server.path("pods", "default", "nope"))
    assert status == 404 and body["message"] == 'pods "nope" not found'
