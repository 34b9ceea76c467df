"""The kubectl-compatible CLI against a fake cluster API served on loopback."""

from __future__ import annotations

import copy
import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from remedlab.remediate.kubectl import cmd_delete, cmd_rollout, cmd_wait
from remedlab.remediate.kubectl.main import main

Obj = dict[str, Any]

PLURAL_KINDS = {
    "pods": ("v1", "Pod"),
    "deployments": ("apps/v1", "Deployment"),
    "replicasets": ("apps/v1", "ReplicaSet"),
    "services": ("v1", "Service"),
    "endpoints": ("v1", "Endpoints"),
    "configmaps": ("v1", "ConfigMap"),
    "secrets": ("v1", "Secret"),
    "events": ("v1", "Event"),
    "persistentvolumeclaims": ("v1", "PersistentVolumeClaim"),
    "namespaces": ("v1", "Namespace"),
    "nodes": ("v1", "Node"),
}
KIND_PLURALS = {kind: plural for plural, (_, kind) in PLURAL_KINDS.items()}


def stamp(seconds_ago: float) -> str:
    return (datetime.now(UTC) - timedelta(seconds=seconds_ago)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


# ---------------------------------------------------------------------- canned objects


def make_pod(
    name: str,
    *,
    namespace: str = "default",
    phase: str = "Running",
    state: Obj | None = None,
    last_state: Obj | None = None,
    ready: bool = True,
    restarts: int = 0,
    labels: dict[str, str] | None = None,
    age: float = 300,
    deleting: bool = False,
    containers: int = 1,
) -> Obj:
    names = ["app"] + [f"sidecar{i}" for i in range(1, containers)]
    statuses = []
    if phase != "Pending" or state is not None:
        for container in names:
            statuses.append(
                {
                    "name": container,
                    "image": "registry.local/app:1.0",
                    "imageID": "",
                    "ready": ready,
                    "restartCount": restarts if container == "app" else 0,
                    "state": (state if container == "app" else None) or {"running": {"startedAt": stamp(age - 5)}},
                    "lastState": (last_state if container == "app" else None) or {},
                }
            )
    pod: Obj = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "uid": f"uid-{name}",
            "resourceVersion": "10",
            "creationTimestamp": stamp(age),
            "labels": labels if labels is not None else {"app": "web", "pod-template-hash": "5d8c7b9f4"},
            "annotations": {},
            "ownerReferences": [
                {
                    "apiVersion": "apps/v1",
                    "kind": "ReplicaSet",
                    "name": "web-5d8c7b9f4",
                    "uid": "rs1",
                    "controller": True,
                }
            ],
        },
        "spec": {
            "containers": [
                {
                    "name": container,
                    "image": "registry.local/app:1.0",
                    "ports": [{"containerPort": 5000, "protocol": "TCP"}],
                    "env": [{"name": "MODE", "value": "prod"}],
                    "resources": {"limits": {"cpu": "200m", "memory": "128Mi"}, "requests": {"cpu": "100m"}},
                    "readinessProbe": {
                        "httpGet": {"path": "/healthz", "port": 5000, "scheme": "HTTP"},
                        "initialDelaySeconds": 0,
                        "periodSeconds": 10,
                        "timeoutSeconds": 1,
                        "successThreshold": 1,
                        "failureThreshold": 3,
                    },
                }
                for container in names
            ],
            "restartPolicy": "Always",
            "terminationGracePeriodSeconds": 30,
            "nodeName": "remedlab-node",
        },
        "status": {
            "phase": phase,
            "conditions": [
                {"type": "Initialized", "status": "True"},
                {"type": "Ready", "status": "True" if ready else "False"},
            ],
            "hostIP": "10.0.0.1",
            "podIP": "10.244.0.7",
            "podIPs": [{"ip": "10.244.0.7"}],
            "startTime": stamp(age),
            "containerStatuses": statuses,
            "qosClass": "Burstable",
        },
    }
    if deleting:
        pod["metadata"]["deletionTimestamp"] = stamp(-30)
        pod["metadata"]["deletionGracePeriodSeconds"] = 30
    return pod


def make_deployment(name: str = "web", *, replicas: int = 2, ready: int = 2, age: float = 7200) -> Obj:
    template = {
        "metadata": {"labels": {"app": name}},
        "spec": {
            "containers": [
                {
                    "name": "app",
                    "image": "registry.local/app:1.0",
                    "env": [{"name": "MODE", "value": "prod"}],
                    "resources": {"limits": {"memory": "128Mi"}},
                }
            ]
        },
    }
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": name,
            "namespace": "default",
            "uid": f"uid-{name}",
            "resourceVersion": "5",
            "generation": 2,
            "creationTimestamp": stamp(age),
            "labels": {"app": name},
            "annotations": {"deployment.kubernetes.io/revision": "2"},
        },
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": template,
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}},
        },
        "status": {
            "observedGeneration": 2,
            "replicas": replicas,
            "updatedReplicas": replicas,
            "readyReplicas": ready,
            "availableReplicas": ready,
            "unavailableReplicas": replicas - ready,
            "conditions": [{"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable"}],
        },
    }


def make_replicaset(name: str, *, revision: str, replicas: int, image: str = "registry.local/app:1.0") -> Obj:
    return {
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "metadata": {
            "name": name,
            "namespace": "default",
            "creationTimestamp": stamp(3600),
            "labels": {"app": "web"},
            "annotations": {"deployment.kubernetes.io/revision": revision},
            "ownerReferences": [
                {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web", "uid": "uid-web", "controller": True}
            ],
        },
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "app", "image": image}]},
            },
        },
        "status": {"replicas": replicas, "readyReplicas": replicas, "availableReplicas": replicas},
    }


def make_service(name: str = "web") -> Obj:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": "default", "creationTimestamp": stamp(86400 * 3)},
        "spec": {
            "type": "ClusterIP",
            "clusterIP": "10.96.0.20",
            "clusterIPs": ["10.96.0.20"],
            "selector": {"app": name},
            "ports": [{"name": "http", "port": 5000, "targetPort": 5000, "protocol": "TCP"}],
            "sessionAffinity": "None",
        },
    }


def make_event(name: str, involved: str, reason: str, message: str, *, kind: str = "Pod", count: int = 1) -> Obj:
    return {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": name, "namespace": "default", "creationTimestamp": stamp(60)},
        "involvedObject": {"kind": kind, "name": involved, "namespace": "default"},
        "reason": reason,
        "message": message,
        "type": "Warning" if reason == "BackOff" else "Normal",
        "count": count,
        "firstTimestamp": stamp(600),
        "lastTimestamp": stamp(30),
        "source": {"component": "kubelet"},
    }


def make_node() -> Obj:
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": "remedlab-node",
            "creationTimestamp": stamp(86400 * 2),
            "labels": {"kubernetes.io/hostname": "remedlab-node", "node-role.kubernetes.io/control-plane": ""},
        },
        "spec": {},
        "status": {
            "capacity": {"cpu": "4", "memory": "8Gi"},
            "allocatable": {"cpu": "4", "memory": "8Gi"},
            "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady", "message": "ready"}],
            "addresses": [
                {"type": "InternalIP", "address": "10.0.0.1"},
                {"type": "Hostname", "address": "remedlab-node"},
            ],
            "nodeInfo": {"kubeletVersion": "v1.30.0-remedlab", "osImage": "Debian", "kernelVersion": "6.1"},
        },
    }


# ---------------------------------------------------------------------- the fake API server


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, str]
    body: Any


@dataclass
class FakeCluster:
    objects: dict[tuple[str, str, str], Obj] = field(default_factory=dict)
    requests: list[Recorded] = field(default_factory=list)
    auth_headers: list[str | None] = field(default_factory=list)
    logs: dict[str, str] = field(default_factory=dict)
    history: list[Obj] = field(default_factory=list)
    exec_answer: Obj = field(default_factory=lambda: {"stdout": "hello\n", "stderr": "", "exitCode": 0})
    # How many more GETs a deleted object still answers before it is gone.
    linger_gets: int = 0
    lingering: dict[tuple[str, str, str], int] = field(default_factory=dict)
    # Status updates applied to deployments, one per GET (simulates a rollout in progress).
    status_sequence: list[Obj] = field(default_factory=list)
    port: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def add(self, obj: Obj) -> Obj:
        plural = KIND_PLURALS[obj["kind"]]
        namespace = obj["metadata"].get("namespace", "_") if plural not in ("nodes", "namespaces") else "_"
        self.objects[(plural, namespace, obj["metadata"]["name"])] = obj
        return obj

    def calls(self, method: str, path_part: str = "") -> list[Recorded]:
        return [r for r in self.requests if r.method == method and path_part in r.path]

    # ---------------------------------------------------------------- routing

    def handle(self, method: str, raw_path: str, body: Any) -> tuple[int, Any]:
        parsed = urllib.parse.urlsplit(raw_path)
        query = dict(urllib.parse.parse_qsl(parsed.query))
        path = parsed.path
        self.requests.append(Recorded(method, path, query, body))
        parts = [urllib.parse.unquote(p) for p in path.strip("/").split("/")]
        if path == "/healthz":
            return 200, {"status": "ok"}
        if parts[:1] != ["v1"]:
            return 404, status(404, "NotFound", "no route")
        rest = parts[1:]
        if rest == ["version"]:
            return 200, {"remedlab": "0.1.0", "kubernetes": "v1.30.0-remedlab"}
        if rest == ["apply"] and method == "POST":
            return self._apply(body)
        if rest == ["top", "pods"]:
            return 200, {"items": self._top_pods(query)}
        if rest == ["top", "nodes"]:
            return 200, {
                "items": [
                    {
                        "name": "remedlab-node",
                        "cpuMillicores": 250,
                        "cpuPercent": 6.25,
                        "memoryBytes": 1073741824,
                        "memoryPercent": 12.5,
                    }
                ]
            }
        if len(rest) == 1 and method == "GET":
            return 200, {"kind": "List", "apiVersion": "v1", "items": self._list(rest[0], query)}
        if len(rest) >= 3 and rest[0] == "namespaces":
            return self._object_route(method, rest[1], rest[2], rest[3:], query, body)
        return 404, status(404, "NotFound", "no route")

    def _list(self, plural: str, query: dict[str, str]) -> list[Obj]:
        namespace = query.get("namespace")
        selector = query.get("labelSelector", "")
        fields = query.get("fieldSelector", "")
        items = []
        for (kind_plural, ns, _), obj in sorted(self.objects.items()):
            if kind_plural != plural or (namespace and ns not in (namespace, "_")):
                continue
            labels = obj["metadata"].get("labels", {})
            terms = [t.split("=", 1) for t in selector.split(",") if "=" in t]
            if any(labels.get(k) != v for k, v in terms):
                continue
            if (
                fields.startswith("involvedObject.name=")
                and obj.get("involvedObject", {}).get("name") != fields.split("=", 1)[1]
            ):
                continue
            items.append(obj)
        return items

    def _top_pods(self, query: dict[str, str]) -> list[Obj]:
        items = []
        for pod in self._list("pods", query):
            items.append(
                {
                    "namespace": pod["metadata"]["namespace"],
                    "name": pod["metadata"]["name"],
                    "cpuMillicores": 12.7,
                    "memoryBytes": 47 * 1024 * 1024 + 5,
                    "containers": [{"name": "app", "cpuMillicores": 12.7, "memoryBytes": 47 * 1024 * 1024 + 5}],
                }
            )
        return items

    def _apply(self, body: Obj) -> tuple[int, Any]:
        results = []
        for obj in body["objects"]:
            namespace = obj["metadata"].get("namespace") or body.get("namespace") or "default"
            key = (KIND_PLURALS[obj["kind"]], namespace, obj["metadata"]["name"])
            action = "configured" if key in self.objects else "created"
            if not body.get("dryRun"):
                self.objects[key] = copy.deepcopy(obj)
            results.append(
                {"kind": obj["kind"], "name": obj["metadata"]["name"], "namespace": namespace, "action": action}
            )
        return 200, {"results": results}

    def _object_route(
        self, method: str, namespace: str, plural: str, rest: list[str], query: dict[str, str], body: Any
    ) -> tuple[int, Any]:
        if not rest:
            if method != "POST":
                return 405, status(405, "MethodNotAllowed", "method not allowed")
            key = (plural, namespace, body["metadata"]["name"])
            if key in self.objects:
                return 409, status(409, "AlreadyExists", f'{plural} "{key[2]}" already exists')
            self.objects[key] = body
            return 201, body
        name = rest[0]
        key = (plural, namespace, name)
        obj = self.objects.get(key)
        if obj is None and key in self.lingering:
            return 404, status(404, "NotFound", f'{plural} "{name}" not found')
        if obj is None:
            return 404, status(404, "NotFound", f'{plural} "{name}" not found')
        action = rest[1] if len(rest) > 1 else ""
        if action == "log":
            return 200, self.logs.get(name, "")
        if action == "exec":
            return 200, self.exec_answer
        if action == "scale":
            obj["spec"]["replicas"] = body["replicas"]
            return 200, obj
        if action == "restart":
            annotations = obj["spec"]["template"]["metadata"].setdefault("annotations", {})
            annotations["kubectl.kubernetes.io/restartedAt"] = stamp(0)
            return 200, obj
        if action == "undo":
            wanted = body.get("toRevision", 0)
            if wanted and not any(r["revision"] == wanted for r in self.history):
                return 400, status(400, "BadRequest", f"unable to find specified revision {wanted} in history")
            return 200, obj
        if action == "history":
            return 200, {"revisions": self.history}
        if method == "GET":
            if plural == "deployments" and self.status_sequence:
                obj["status"].update(self.status_sequence.pop(0))
            if key in self.lingering:
                self.lingering[key] -= 1
                if self.lingering[key] <= 0:
                    del self.objects[key]
            return 200, obj
        if method == "PATCH":
            before = json.dumps(obj, sort_keys=True)
            if body["type"] in ("merge", "strategic"):
                merge_patch(obj, body["patch"])
            if json.dumps(obj, sort_keys=True) != before:
                obj["metadata"]["resourceVersion"] = str(int(obj["metadata"].get("resourceVersion", "1")) + 1)
            return 200, obj
        if method == "PUT":
            self.objects[key] = body
            return 200, body
        if method == "DELETE":
            if self.linger_gets:
                obj["metadata"]["deletionTimestamp"] = stamp(0)
                self.lingering[key] = self.linger_gets
            else:
                del self.objects[key]
            return 200, obj
        return 405, status(405, "MethodNotAllowed", "method not allowed")


def merge_patch(target: Obj, patch: Obj) -> None:
    for key, value in patch.items():
        if value is None:
            target.pop(key, None)
        elif isinstance(value, dict) and isinstance(target.get(key), dict):
            merge_patch(target[key], value)
        else:
            target[key] = copy.deepcopy(value)


def status(code: int, reason: str, message: str) -> Obj:
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    }


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        body = json.loads(raw) if raw else None
        self.server.cluster.auth_headers.append(self.headers.get("Authorization"))
        code, answer = self.server.cluster.handle(self.command, self.path, body)
        if isinstance(answer, str):
            data = answer.encode()
            content_type = "text/plain"
        else:
            data = json.dumps(answer).encode()
            content_type = "application/json"
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _serve

    def log_message(self, format: str, *args: Any) -> None:
        return


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, cluster: FakeCluster) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.cluster = cluster


@pytest.fixture
def cluster(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeCluster]:
    fake = FakeCluster()
    server = _Server(fake)
    fake.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    monkeypatch.setenv("REMEDLAB_SERVER", fake.url)
    monkeypatch.delenv("REMEDLAB_TOKEN", raising=False)
    monkeypatch.delenv("REMEDLAB_TOKEN_FILE", raising=False)
    monkeypatch.setattr(cmd_delete, "POLL_INTERVAL_SECONDS", 0.01)
    monkeypatch.setattr(cmd_rollout, "POLL_INTERVAL_SECONDS", 0.01)
    monkeypatch.setattr(cmd_wait, "POLL_INTERVAL_SECONDS", 0.01)
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture
def standard(cluster: FakeCluster) -> FakeCluster:
    """A namespace with a deployment, its replica sets, pods in various states, a service and events."""
    cluster.add(make_deployment())
    cluster.add(make_replicaset("web-5d8c7b9f4", revision="2", replicas=2))
    cluster.add(make_replicaset("web-7f9c6d5b8", revision="1", replicas=0, image="registry.local/app:0.9"))
    cluster.add(make_pod("web-5d8c7b9f4-abcde", restarts=0))
    cluster.add(
        make_pod(
            "web-5d8c7b9f4-crash",
            ready=False,
            restarts=4,
            state={"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 40s"}},
            last_state={
                "terminated": {"exitCode": 1, "reason": "Error", "startedAt": stamp(100), "finishedAt": stamp(75)}
            },
        )
    )
    cluster.add(make_service())
    cluster.add(
        {
            "apiVersion": "v1",
            "kind": "Endpoints",
            "metadata": {"name": "web", "namespace": "default", "creationTimestamp": stamp(600)},
            "subsets": [
                {
                    "addresses": [{"ip": "10.244.0.7"}, {"ip": "10.244.0.8"}],
                    "ports": [{"name": "http", "port": 5000, "protocol": "TCP"}],
                }
            ],
        }
    )
    cluster.add(make_event("ev1", "web-5d8c7b9f4-crash", "BackOff", "Back-off restarting failed container", count=5))
    cluster.add(make_event("ev2", "web-5d8c7b9f4-abcde", "Started", "Started container app"))
    cluster.add(
        make_event("ev3", "web", "ScalingReplicaSet", "Scaled up replica set web-5d8c7b9f4 to 2", kind="Deployment")
    )
    cluster.add(make_node())
    return cluster


def kubectl(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def table(text: str) -> list[list[str]]:
    """Split a kubectl table into cells (columns are separated by at least two spaces)."""
    import re

    return [re.split(r"\s{2,}", line.strip()) for line in text.splitlines() if line.strip()]


def status_of(text: str, pod: str) -> str:
    for row in table(text):
        if row[0] == pod:
            return row[2]
    raise AssertionError(f"{pod} not in output:\n{text}")


# ---------------------------------------------------------------------- get


def test_get_pods_prints_kubectl_table(standard: FakeCluster, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = kubectl(capsys, "get", "pods")
    assert code == 0 and err == ""
    lines = out.splitlines()
    assert lines[0].split() == ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    assert lines[0].startswith("NAME                  READY   STATUS             RESTARTS      AGE")
    assert lines[1].split() == ["web-5d8c7b9f4-abcde", "1/1", "Running", "0", "5m"]
    crash = lines[2].split()
    assert crash[:3] == ["web-5d8c7b9f4-crash", "0/1", "CrashLoopBackOff"]
    assert " ".join(crash[3:6]) == "4 (75s ago)"
    assert all(line == line.rstrip() for line in lines)
    assert standard.calls("GET", "/v1/pods")[0].query == {"namespace": "default"}


@pytest.mark.parametrize(
    ("pod", "expected"),
    [
        (make_pod("oom", ready=False, state={"terminated": {"exitCode": 137, "reason": "OOMKilled"}}), "OOMKilled"),
        (make_pod("err", ready=False, state={"terminated": {"exitCode": 2}}), "ExitCode:2"),
        (make_pod("failed", ready=False, state={"terminated": {"exitCode": 1, "reason": "Error"}}), "Error"),
        (
            make_pod(
                "done", phase="Succeeded", ready=False, state={"terminated": {"exitCode": 0, "reason": "Completed"}}
            ),
            "Completed",
        ),
        (make_pod("going", deleting=True), "Terminating"),
        (
            make_pod("creating", phase="Pending", ready=False, state={"waiting": {"reason": "ContainerCreating"}}),
            "ContainerCreating",
        ),
        (make_pod("pull", phase="Pending", ready=False, state={"waiting": {"reason": "ErrImagePull"}}), "ErrImagePull"),
        (
            make_pod("backoff", phase="Pending", ready=False, state={"waiting": {"reason": "ImagePullBackOff"}}),
            "ImagePullBackOff",
        ),
        (make_pod("crash", ready=False, state={"waiting": {"reason": "CrashLoopBackOff"}}), "CrashLoopBackOff"),
        (make_pod("pending", phase="Pending", ready=False), "Pending"),
    ],
)
def test_pod_status_column(cluster: FakeCluster, capsys: pytest.CaptureFixture[str], pod: Obj, expected: str) -> None:
    cluster.add(pod)
    code, out, _ = kubectl(capsys, "get", "pods")
    assert code == 0
    assert status_of(out, pod["metadata"]["name"]) == expected


def test_pod_status_init_containers_and_ready_counts(cluster: FakeCluster, capsys: pytest.CaptureFixture[str]) -> None:
    init = make_pod("init", phase="Pending", ready=False, state={"waiting": {"reason": "PodInitializing"}})
    init["spec"]["initContainers"] = [{"name": "setup", "image": "x"}, {"name": "migrate", "image": "x"}]
    init["status"]["conditions"] = [{"type": "Initialized", "status": "False"}]
    init["status"]["initContainerStatuses"] = [
        {
            "name": "setup",
            "ready": False,
            "restartCount": 0,
            "state": {"terminated": {"exitCode": 0, "reason": "Completed"}},
        },
        {"name": "migrate", "ready": False, "restartCount": 0, "state": {"running": {"startedAt": stamp(3)}}},
    ]
    cluster.add(init)
    cluster.add(make_pod("multi", containers=3))
    _, out, _ = kubectl(capsys, "get", "pods")
    assert status_of(out, "init") == "Init:1/2"
    assert next(row for row in table(out) if row[0] == "multi")[1] == "3/3"


def test_get_wide_and_show_labels(standard: FakeCluster, capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = kubectl(capsys, "get", "pods", "-o", "wide", "--show-labels")
    header = table(out)[0]
    assert header[5:] == ["IP", "NODE", "NOMINATED NODE", "READINESS GATES", "LABELS"]
    assert table(out)[1][5:] == [
        "10.244.0.7",
        "remedlab-node",
        "<none>",
        "<none>",
        "app=web,pod-template-hash=5d8c7b9f4",
    ]
    _, out, _ = kubectl(capsys, "get", "deploy", "-o", "wide")
    assert table(out) == [
        ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE", "CONTAINERS", "IMAGES", "SELECTOR"],
        ["web", "2/2", "2", "2", "120m", "app", "registry.local/app:1.0", "app=web"],
    ]


def test_get_services_endpoints_events_nodes(standard: FakeCluster, capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = kubectl(capsys, "get", "svc")
    assert table(out) == [
        ["NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE"],
        ["web", "ClusterIP", "10.96.0.20", "<none>", "5000/TCP", "3d"],
    ]
    _, out, _ = kubectl(capsys, "get", "endpoints")
    assert table(out)[1] == ["web", "10.244.0.7:5000,10.244.0.8:5000", "10m"]
    _, out, _ = kubectl(capsys, "get", "events")
    rows = table(out)
    assert rows[0] == ["LAST SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"]
    assert ["30s", "Warning", "BackOff", "pod/web-5d8c7b9f4-crash", "Back-off restarting failed container"] in rows
    _, out, _ = kubectl(capsys, "get", "nodes")
    assert table(out) == [
        ["NAME", "STATUS", "ROLES", "AGE", "VERSION"],
        ["remedlab-node", "Ready", "control-plane", "2d", "v1.30.0-remedlab"],
    ]


def test_get_all_prefixes_kinds_and_separates_tables(standard: FakeCluster, capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = kubectl(capsys, "get", "all")
    blocks = out.split("\n\n")
    assert [b.splitlines()[1].split()[0].split("/")[0] for b in blocks] == [
        "pod",
        "service",
        "deployment.apps",
        "replicaset.apps",
    ]
    _, out, _ = kubectl(capsys, "get", "pods,svc", "--no-headers")
    assert "\n\n" not in out and "NAME" not in out
    assert out.splitlines()[-1].startswith("service/web ")


def test_get_names_and_type_name_form(standard: FakeCluster, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = kubectl(capsys, "get", "deploy/web", "svc/web", "-o", "name")
    assert code == 0 and out == "deployment.apps/web\nservice/web\n"
    code, out, err = kubectl(capsys, "get", "pods", "web-5d8c7b9f4-abcde", "nope")
    assert code == 1
    assert "web-5d8c7b9f4-abcde" in out
    assert err == 'Error from server (NotFound): pods "nope" not found\n'


def test_get_all_namespaces_and_selectors(standard: FakeCluster, capsys: pytest.CaptureFixture[str]) -> None:
    standard.add(make_pod("other", namespace="shop", labels={"app": "cart"}))
    _, out, _ = kubectl(capsys, "get", "pods", "-A", "-l", "app=cart")
    assert table(out) == [
        ["NAMESPACE", "NAME", "READY", "STATUS", "RESTARTS", "AGE"],
        ["shop", "other", "1/1", "Running", "0", "5m"],
    ]
    assert standard.requests[-1].query == {"labelSelector": "app=cart"}
    _, out, _ = kubectl(capsys, "-n", "shop", "get", "pods", "--field-selector=status.phase=Running")
    assert standard.requests[-1].query == {"namespace": "shop", "fieldSelector": "status.phase=Running"}
    assert "other" in out


def test_get_empty_list_reports_on_stderr(cluster: FakeCluster, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = kubectl(capsys, "get", "pods", "-n", "empty")
    assert (code, out, err) == (0, "", "No resources found in empty namespace.\n")
    code, out, err = kubectl(capsys, "get", "pods", "-A")
    assert err == "No resources found\n"
    code, out, err = kubectl(capsys, "get", "pods", "-o", "json")
    assert json.loads(out)["items"] == [] and err == ""


def test_get_yaml_and_json(standard: FakeCluster, capsys: pytest.CaptureFixture[str]) -> None:
    import yaml

    _, out, _ = kubectl(capsys, "get", "deployment", "web", "-o", "yaml")
    document = yaml.safe_load(out)
    assert document["kind"] == "Deployment" and document["spec"]["replicas"] == 2
    assert out.startswith("apiVersion: apps/v1\nkind: Deployment\nmetadata:\n")
    _, out, _ = kubectl(capsys, "get", "pods", "-o", "json")
    document = json.loads(out)
    assert document["kind"] == "List" and len(document["items"]) == 2
    assert out.startswith('{\n    "apiVersion": "v1",\n    "items": [')
    _, out, _ = kubectl(capsys, "get", "pod/web-5d8c7b9f4-abcde", "svc/web", "-o", "yaml")
    assert [item["kind"] for item in yaml.safe_load(out)["items"]] == ["Pod", "Service"]


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["get", "pods", "-o", "jsonpath={.items[*].metadata.name}"], "web-5d8c7b9f4-abcde web-5d8c7b9f4-crash"),
        (
            ["get", "pods", "-o", 'jsonpath={range .items[*]}{.metadata.name}{"\\t"}{.status.phase}{"\\n"}{end}'],
            "web-5d8c7b9f4-abcde\tRunning\nweb-5d8c7b9f4-crash\tRunning\n",
        ),
        (["get", "pod", "web-5d8c7b9f4-abcde", "-o", "jsonpath={.status.phase}"], "Running"),
        (["get", "pods", "-o", "jsonpath={.items[0].spec.containers[0].image}"], "registry.local/app:1.0"),
        (
            ["get", "pods", "-o", "jsonpath={.items[?(@.status.containerStatuses[0].restartCount>0)].metadata.name}"],
            "web-5d8c7b9f4-crash",
        ),
        (
            [
                "get",
                "pod",
                "web-5d8c7b9f4-crash",
                "-o",
                'jsonpath={.status.containerStatuses[?(@.name=="app")].lastState.terminated.reason}',
            ],
            "Error",
        ),
        (["get", "deploy", "web", "-o", "jsonpath={.spec.selector.matchLabels}"], '{"app":"web"}'),
        (["get", "deploy", "web", "-o", "jsonpath={.status.missing}"], ""),
    ],
)
def test_get_jsonpath(
    standard: FakeCluster, capsys: pytest.CaptureFixture[str], argv: list[str], expected: str
) -> None:
    code, out, err = kubectl(capsys, *argv)
    assert (code, out, err) == (0, expected, "")


def test_jsonpath_index_out_of_range_is_an_error(cluster: FakeCluster, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = kubectl(capsys, "get", "pods", "-o", "jsonpath={.items[0].metadata.name}")
    assert code == 1
    assert "array index out of bounds: index 0, length 0" in err


def test_custom_columns_and_sort_by(standard: FakeCluster, capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = kubectl(
        capsys,
        "get",
        "pods",
        "--sort-by=.status.containerStatuses[0].restartCount",
        "-o",
        "custom-columns=NAME:.metadata.name,RESTARTS:.status.containerStatuses[*].restartCount,NODE:.spec.nodeName,X:.nope",
    )
    assert table(out) == [
        ["NAME", "RESTARTS", "NODE", "X"],
        ["web-5d8c7b9f4-abcde", "0", "remedlab-node", "<none>"],
        ["web-5d8c7b9f4-crash", "4", "remedlab-node", "<none>"],
    ]
    _, out, _ = kubectl(capsys, "get", "pods", "--sort-by={.status.containerStatuses[0].restartCount}", "-o", "name")
    assert out.splitlines() == ["pod/web-5d8c7b9f4-abcde", "pod/web-5d8c7b9f4-crash"]


def test_usage_errors(cluster: FakeCluster, capsys: pytest.CaptureFixture[str]) -> None:
    assert kubectl(capsys, "frobnicate") == (1, "", 'error: unknown command "frobnicate" for "kubectl"\n')
    assert kubectl(capsys, "get", "widgets") == (1, "", 'error: the server doesn\'t have a resource type "widgets"\n')
    code, _, err = kubectl(capsys, "get", "pods", "--colour")
    assert (code, err) == (1, "error: unknown flag: --colour\nSee 'kubectl get --help' for usage.\n")
    code, _, err = kubectl(capsys, "get", "pods", "-w")
    assert code == 1 and err.startswith("error: watching (-w/--watch) is not supported")
    code, _, err = kubectl(capsys, "get")
    assert code == 1 and "You must specify the type of resource to get" in err
    code, _, err = kubectl(capsys, "rollout", "explode", "deploy/web")
    assert err == 'error: unknown command "explode" for "kubectl rollout"\n'
    code, out, _ = kubectl(capsys, "get", "--help")
    assert code == 0 and "--selector" in out


# ---------------------------------------------------------------------- describe


def test_describe_pod(standard: FakeCluster, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = kubectl(capsys, "describe", "pod", "web-5d8c7b9f4-crash")
    assert code == 0 and err == ""
    lines = out.splitlines()
    assert lines[0] == "Name:         web-5d8c7b9f4-crash"
    assert lines[1] == "Namespace:    default"
    assert "Labels:       app=web" in lines
    assert "              pod-template-hash=5d8c7b9f4" in lines
    assert "Controlled By:  ReplicaSet/web-5d8c7b9f4" in lines
    for expected in (
        "    State:          Waiting",
        "      Reason:       CrashLoopBackOff",
        "    Last State:     Terminated",
        "      Reason:       Error",
        "      Exit Code:    1",
        "    Ready:          False",
        "    Restart Count:  4",
        "    Limits:",
        "      cpu:     200m",
        "      memory:  128Mi",
        "    Readiness:  http-get http://:5000/healthz delay=0s timeout=1s period=10s #success=1 #failure=3",
        "      MODE:  prod",
        "  Type           Status",
        "  Ready          False ",
    ):
        assert expected in lines, expected
    events = out[out.index("Events:") :].splitlines()
    assert events[1].split() == ["Type", "Reason", "Age", "From", "Message"]
    assert events[3].split()[:2] == ["Warning", "BackOff"]
    assert "(x5 over 10m)" in events[3]
    assert len(events) == 4  # only this pod's events
    query = standard.calls("GET", "/v1/events")[0].query
    assert query == {"namespace": "default", "fieldSelector": "involvedObject.name=web-5d8c7b9f4-crash"}


def test_describe_deployment(standard: FakeCluster, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = kubectl(capsys, "describe", "deployment/web")
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == "Name:                   web"
    assert "Replicas:               2 desired | 2 updated | 2 total | 2 available | 0 unavailable" in lines
    assert "StrategyType:           RollingUpdate" in lines
    assert "RollingUpdateStrategy:  0 max unavailable, 1 max surge" in lines
    assert "Pod Template:" in lines and "  Containers:" in lines and "   app:" in lines
    assert "OldReplicaSets:  <none>" in lines
    assert "NewReplicaSet:   web-5d8c7b9f4 (2/2 replicas created)" in lines
    assert "ScalingReplicaSet" in out[out.index("Events:") :]


def test_describe_service_node_and_selector(standard: FakeCluster, capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = kubectl(capsys, "describe", "svc", "web")
    assert "Endpoints:         10.244.0.7:5000,10.244.0.8:5000" in out.splitlines()
    assert "Port:              http  5000/TCP" in out.splitlines()
    _, out, _ = kubectl(capsys, "describe", "node", "remedlab-node")
    assert "Non-terminated Pods:          (2 in total)" in out
    assert "  cpu                200m (5%)  400m (10%)" in out.splitlines()
    _, out, _ = kubectl(capsys, "describe", "pods", "-l", "app=web")
    assert out.count("\nName:  ") + out.startswith("Name:") >= 1
    assert out.count("Controlled By:") == 2 and "\n\n\nName:" in out
    _, out, _ = kubectl(capsys, "describe", "pod", "web-5d8c7b9f4-a")  # name prefix
    assert out.startswith("Name:         web-5d8c7b9f4-abcde\n")
    code, _, err = kubectl(capsys, "describe", "pod", "zzz")
    assert (code, err) == (1, 'Error from server (NotFound): pods "zzz" not found\n')


# ---------------------------------------------------------------------- logs, exec, top


def test_logs_flags_become_query(standard: FakeCluster, capsys: pytest.CaptureFixture[str]) -> None:
    standard.logs["web-5d8c7b9f4-crash"] = "boom\n"
    code, out, _ = kubectl(
        capsys, "logs", "web-5d8c7b9f4-crash", "--tail=20", "-p", "-c", "app", "--since=5m", "--timestamps"
    )
    assert (code, out) == (0, "boom\n")
    call = standard.calls("GET", "/log")[0]
    assert call.path == "/v1/namespaces/default/pods/web-5d8c7b9f4-crash/log"
    assert call.query == {
        "tailLines": "20",
        "previous": "true",
        "timestamps": "true",
        "sinceSeconds": "300",
        "container": "app",
    }


def test_logs_of_deployment_uses_one_of_its_pods(standard: FakeCluster, capsys: pytest.CaptureFixture[str]) -> None:
    standard.logs["web-5d8c7b9f4-abcde"] = "ready\n"
    code, out, err = kubectl(capsys, "logs", "deployment/web")
    assert (code, out) == (0, "ready\n")
    assert err == "Found 2 pods, using pod/web-5d8c7b9f4-abcde\n"
    assert standard.calls("GET", "/v1/pods")[0].query == {"namespace": "default", "labelSelector": "app=web"}
    code, _, err = kubectl(capsys, "logs", "web-5d8c7b9f4-abcde", "-f")
    assert code == 1 and "not supported" in err


def test_exec_returns_the_command_exit_code(standard: FakeCluster, capsys: pytest.CaptureFixture[str]) -> None:
    standard.exec_answer = {"stdout": "out\n", "stderr": "warn\n", "exitCode": 3}
    code, out, err = kubectl(capsys, "exec", "-it", "web-5d8c7b9f4-abcde", "--", "sh", "-c", "exit 3")
    assert (code, out, err) == (3, "out\n", "warn\ncommand terminated with exit code 3\n")
    body = standard.calls("POST", "/exec")[0].body
    assert body["command"] == ["sh", "-c", "exit 3"] and body["container"] == "app"
    code, _, err = kubectl(capsys, "exec", "web-5d8c7b9f4-abcde", "ls")
    assert code == 1 and "Use exec [POD] -- [COMMAND] instead" in err


def test_top(standard: FakeCluster, capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = kubectl(capsys, "top", "pods")
    assert table(out) == [
        ["NAME", "CPU(cores)", "MEMORY(bytes)"],
        ["web-5d8c7b9f4-abcde", "13m", "47Mi"],
        ["web-5d8c7b9f4-crash", "13m", "47Mi"],
    ]
    _, out, _ = kubectl(capsys, "top", "pod", "--containers", "-l", "app=web")
    assert table(out)[0] == ["POD", "NAME", "CPU(cores)", "MEMORY(bytes)"]
    assert standard.requests[-1].query == {"namespace": "default", "labelSelector": "app=web"}
    _, out, _ = kubectl(capsys, "top", "nodes")
    assert table(out) == [
        ["NAME", "CPU(cores)", "CPU%", "MEMORY(bytes)", "MEMORY%"],
        ["remedlab-node", "250m", "6%", "1024Mi", "12%"],
    ]


# ---------------------------------------------------------------------- rollout and scale


def test_rollout_restart_and_scale(standard: FakeCluster, capsys: pytest.CaptureFixture[str]) -> None:
    assert kubectl(capsys, "rollout", "restart", "deployment/web") == (0, "deployment.apps/web restarted\n", "")
    assert standard.calls("POST", "/restart")[0].path == "/v1/namespaces/default/deployments/web/restart"
    assert kubectl(capsys, "scale", "deployment", "web", "--replicas=3") == (0, "deployment.apps/web scaled\n", "")
    assert standard.calls("POST", "/scale")[0].body == {"replicas": 3}
    code, _, err = kubectl(capsys, "scale", "deployment/web")
    assert code == 1 and "--replicas=COUNT flag is required" in err


def test_rollout_undo_and_history(standard: FakeCluster, capsys: pytest.CaptureFixture[str]) -> None:
    old_template = {
        "metadata": {"labels": {"app": "web"}},
        "spec": {"containers": [{"name": "app", "image": "registry.local/app:0.9"}]},
    }
    standard.history = [
        {"revision": 1, "changeCause": "", "template": old_template},
        {"revision": 2, "changeCause": "kubectl set image", "template": make_deployment()["spec"]["template"]},
    ]
    code, out, _ = kubectl(capsys, "rollout", "undo", "deployment/web", "--to-revision=2")
    assert out == "deployment.apps/web skipped rollback (current template already matches revision 2)\n"
    assert not standard.calls("POST", "/undo")
    assert kubectl(capsys, "rollout", "undo", "deploy", "web", "--to-revision=1") == (
        0,
        "deployment.apps/web rolled back\n",
        "",
    )
    assert standard.calls("POST", "/undo")[0].body == {"toRevision": 1}
    assert kubectl(capsys, "rollout", "undo", "deployment/web")[1] == "deployment.apps/web rolled back\n"
    assert standard.calls("POST", "/undo")[1].body == {"toRevision": 0}
    code, _, err = kubectl(capsys, "rollout", "undo", "deployment/web", "--to-revision=7")
    assert (code, err) == (1, "error: unable to find specified revision 7 in history\n")
    code, out, _ = kubectl(capsys, "rollout", "history", "deployment/web")
    assert out == "deployment.apps/web \nREVISION  CHANGE-CAUSE\n1         <none>\n2         kubectl set image\n\n"
    code, out, _ = kubectl(capsys, "rollout", "history", "deployment/web", "--revision=1")
    assert out.startswith("deployment.apps/web with revision #1\nPod Template:\n  Labels:  app=web\n")
    assert "    Image:         registry.local/app:0.9" in out.splitlines()
    code, _, err = kubectl(capsys, "rollout", "restart", "pod/web-5d8c7b9f4-abcde")
    assert err == 'error: pods "web-5d8c7b9f4-abcde" restarting is not supported\n'


def test_rollout_status_waits_for_completion(standard: FakeCluster, capsys: pytest.CaptureFixture[str]) -> None:
    standard.status_sequence = [
        {"updatedReplicas": 1, "availableReplicas": 1, "replicas": 2},
        {"updatedReplicas": 2, "availableReplicas": 1, "replicas": 3},
        {"updatedReplicas": 2, "availableReplicas": 1, "replicas": 2},
        {"updatedReplicas": 2, "availableReplicas": 2, "replicas": 2},
    ]
    code, out, _ = kubectl(capsys, "rollout", "status", "deployment/web")
    assert code == 0
    assert out.splitlines() == [
        'Waiting for deployment "web" rollout to finish: 1 out of 2 new replicas have been updated...',
        'Waiting for deployment "web" rollout to finish: 1 old replicas are pending termination...',
        'Waiting for deployment "web" rollout to finish: 1 of 2 updated replicas are available...',
        'deployment "web" successfully rolled out',
    ]


def test_rollout_status_times_out(standard: FakeCluster, capsys: pytest.CaptureFixture[str]) -> None:
    standard.status_sequence = [{"availableReplicas": 1}] * 1000
    code, out, err = kubectl(capsys, "rollout", "status", "deploy/web", "--timeout=100ms")
    assert code == 1
    assert out == 'Waiting for deployment "web" rollout to finish: 1 of 2 updated replicas are available...\n'
    assert err == "error: timed out waiting for the condition\n"


# ---------------------------------------------------------------------- set, patch, label


def test_set_env_sends_strategic_merge_patch(standard: FakeCluster, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = kubectl(capsys, "set", "env", "deployment/web", "LOG_LEVEL=debug", "MODE-", "-c", "app")
    assert (code, out) == (0, "deployment.apps/web env updated\n")
    patch = standard.calls("PATCH")[0]
    assert patch.path == "/v1/namespaces/default/deployments/web"
    assert patch.body == {
        "type": "strategic",
        "patch": {
            "spec": {
                "template": {
                    "spec": {
                        "containers": [
                            {
                                "name": "app",
                                "env": [{"name": "LOG_LEVEL", "value": "debug"}, {"name": "MODE", "$patch": "delete"}],
                            }
                        ]
                    }
                }
            }
        },
    }
    code, _, err = kubectl(capsys, "set", "env", "deployment/web", "A=1", "-c", "nope")
    assert (code, err) == (1, 'error: unable to find container named "nope"\n')


def test_set_image_and_resources(standard: FakeCluster, capsys: pytest.CaptureFixture[str]) -> None:
    assert kubectl(capsys, "set", "image", "deployment/web", "app=registry.local/app:2.0") == (
        0,
        "deployment.apps/web image updated\n",
        "",
    )
    assert standard.calls("PATCH")[-1].body["patch"]["spec"]["template"]["spec"]["containers"] == [
        {"name": "app", "image": "registry.local/app:2.0"}
    ]
    _, out, _ = kubectl(
        capsys, "set", "resources", "deployment", "web", "--limits=cpu=200m,memory=512Mi", "--requests=memory=256Mi"
    )
    assert out == "deployment.apps/web resource requirements updated\n"
    assert standard.calls("PATCH")[-1].body["patch"]["spec"]["template"]["spec"]["containers"] == [
        {"name": "app", "resources": {"limits": {"cpu": "200m", "memory": "512Mi"}, "requests": {"memory": "256Mi"}}}
    ]


def test_patch_types_and_no_change(standard: FakeCluster, capsys: pytest.CaptureFixture[str]) -> None:
    assert kubectl(capsys, "patch", "deployment", "web", "-p", '{"spec":{"replicas":4}}') == (
        0,
        "deployment.apps/web patched\n",
        "",
    )
    assert standard.calls("PATCH")[-1].body == {"type": "strategic", "patch": {"spec": {"replicas": 4}}}
    assert kubectl(capsys, "patch", "deploy/web", "--type", "merge", "-p", "spec:\n  replicas: 4\n") == (
        0,
        "deployment.apps/web patched (no change)\n",
        "",
    )
    assert standard.calls("PATCH")[-1].body["type"] == "merge"
    ops = '[{"op":"replace","path":"/spec/replicas","value":1}]'
    kubectl(capsys, "patch", "deploy/web", "--type=json", "-p", ops)
    assert standard.calls("PATCH")[-1].body == {"type": "json", "patch": json.loads(ops)}
    code, _, err = kubectl(capsys, "patch", "deploy/web", "--type=xml", "-p", "{}")
    assert code == 1 and "--type must be one of [json merge strategic]" in err


def test_label_and_annotate(standard: FakeCluster, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = kubectl(capsys, "label", "pod", "web-5d8c7b9f4-abcde", "tier=front")
    assert (code, out) == (0, "pod/web-5d8c7b9f4-abcde labeled\n")
    assert standard.calls("PATCH")[-1].body == {"type": "merge", "patch": {"metadata": {"labels": {"tier": "front"}}}}
    code, out, _ = kubectl(capsys, "label", "pod", "web-5d8c7b9f4-abcde", "tier-", "pod-template-hash-")
    assert (code, out) == (0, "pod/web-5d8c7b9f4-abcde unlabeled\n")
    assert standard.calls("PATCH")[-1].body["patch"] == {
        "metadata": {"labels": {"tier": None, "pod-template-hash": None}}
    }
    code, _, err = kubectl(capsys, "label", "pod", "web-5d8c7b9f4-abcde", "app=api")
    assert (code, err) == (1, "error: 'app' already has a value (web), and --overwrite is false\n")
    assert kubectl(capsys, "label", "pods", "web-5d8c7b9f4-abcde", "app=api", "--overwrite")[1] == (
        "pod/web-5d8c7b9f4-abcde labeled\n"
    )
    assert kubectl(capsys, "label", "pod/web-5d8c7b9f4-abcde", "app=api")[1] == "pod/web-5d8c7b9f4-abcde not labeled\n"
    assert kubectl(capsys, "annotate", "deployment", "web", "note=checked")[1] == "deployment.apps/web annotated\n"
    assert standard.calls("PATCH")[-1].body == {
        "type": "merge",
        "patch": {"metadata": {"annotations": {"note": "checked"}}},
    }


# ---------------------------------------------------------------------- apply, create, delete


MANIFESTS = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
data:
  LEVEL: info
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: app, image: registry.local/app:1.0}]
"""


def test_apply_files_directories_and_stdin(
    standard: FakeCluster, capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    manifest = tmp_path / "app.yaml"
    manifest.write_text(MANIFESTS)
    code, out, err = kubectl(capsys, "apply", "-f", str(manifest))
    assert (code, out, err) == (0, "configmap/settings created\ndeployment.apps/web configured\n", "")
    body = standard.calls("POST", "/v1/apply")[0].body
    assert [o["kind"] for o in body["objects"]] == ["ConfigMap", "Deployment"]
    assert body["namespace"] is None and body["dryRun"] is False
    (tmp_path / "more.json").write_text(json.dumps({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}}))
    code, out, _ = kubectl(capsys, "apply", "-f", str(tmp_path), "-n", "default", "--dry-run=server")
    assert out.splitlines() == [
        "configmap/settings configured (server dry run)",
        "deployment.apps/web configured (server dry run)",
        "secret/s created (server dry run)",
    ]
    import io

    monkeypatch.setattr(sys, "stdin", io.StringIO("apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n"))
    assert kubectl(capsys, "apply", "-f", "-")[1] == "namespace/shop created\n"
    code, _, err = kubectl(capsys, "apply", "-f", str(tmp_path / "missing.yaml"))
    assert err == f'error: the path "{tmp_path / "missing.yaml"}" does not exist\n'
    (tmp_path / "bad.yaml").write_text("apiVersion: x/v1\nkind: Widget\nmetadata: {name: w}\n")
    code, _, err = kubectl(capsys, "apply", "-f", str(tmp_path / "bad.yaml"))
    assert code == 1 and 'no matches for kind "Widget" in version "x/v1"' in err


def test_create_refuses_existing_objects(
    standard: FakeCluster, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    manifest = tmp_path / "app.yaml"
    manifest.write_text(MANIFESTS)
    code, out, err = kubectl(capsys, "create", "-f", str(manifest))
    assert code == 1
    assert out == "configmap/settings created\n"
    assert (
        err
        == f'Error from server (AlreadyExists): error when creating "{manifest}": deployments "web" already exists\n'
    )
    assert kubectl(capsys, "create", "namespace", "shop")[1] == "namespace/shop created\n"
    assert standard.calls("POST", "/namespaces/_/namespaces")[0].body["metadata"] == {"name": "shop"}


def test_delete_waits_until_gone(standard: FakeCluster, capsys: pytest.CaptureFixture[str]) -> None:
    standard.linger_gets = 3
    code, out, err = kubectl(capsys, "delete", "pod", "web-5d8c7b9f4-abcde", "--grace-period=5")
    assert (code, out, err) == (0, 'pod "web-5d8c7b9f4-abcde" deleted\n', "")
    delete = standard.calls("DELETE")[0]
    assert delete.query == {"gracePeriodSeconds": "5"}
    gets = standard.calls("GET", "/pods/web-5d8c7b9f4-abcde")
    assert len(gets) == 4  # three answers while terminating, then NotFound
    standard.linger_gets = 0
    code, out, err = kubectl(capsys, "delete", "deployment/web", "--wait=false")
    assert out == 'deployment.apps "web" deleted\n'
    assert not standard.calls("GET", "/deployments/web")


def test_delete_force_selector_and_not_found(standard: FakeCluster, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = kubectl(capsys, "delete", "pod", "web-5d8c7b9f4-crash", "--force", "--grace-period=0")
    assert out == 'pod "web-5d8c7b9f4-crash" force deleted\n'
    assert err.startswith("Warning: Immediate deletion does not wait")
    assert standard.calls("DELETE")[-1].query == {"gracePeriodSeconds": "0"}
    code, out, err = kubectl(capsys, "delete", "pods", "-l", "app=web", "--now")
    assert out == 'pod "web-5d8c7b9f4-abcde" deleted\n'
    assert standard.calls("DELETE")[-1].query == {"gracePeriodSeconds": "1"}
    code, out, err = kubectl(capsys, "delete", "pod", "ghost")
    assert (code, out, err) == (1, "", 'Error from server (NotFound): pods "ghost" not found\n')
    assert kubectl(capsys, "delete", "pod", "ghost", "--ignore-not-found") == (0, "", "")


# ---------------------------------------------------------------------- connection, auth, info


def _unused_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_connection_refused(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    port = _unused_port()
    monkeypatch.setenv("REMEDLAB_SERVER", f"http://127.0.0.1:{port}")
    code, out, err = kubectl(capsys, "get", "pods")
    assert (code, out) == (1, "")
    assert (
        err == f"The connection to the server 127.0.0.1:{port} was refused - did you specify the right host or port?\n"
    )


def test_bearer_token_from_env_and_file(
    cluster: FakeCluster, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    token_file = tmp_path / "token"
    token_file.write_text("from-file\n")
    monkeypatch.setenv("REMEDLAB_TOKEN_FILE", str(token_file))
    kubectl(capsys, "get", "pods")
    monkeypatch.setenv("REMEDLAB_TOKEN", "from-env")
    kubectl(capsys, "get", "pods")
    assert cluster.auth_headers == ["Bearer from-file", "Bearer from-env"]


def test_info_commands(cluster: FakeCluster, capsys: pytest.CaptureFixture[str]) -> None:
    assert kubectl(capsys, "version") == (0, "Client Version: v1.30.0-remedlab\nServer Version: v1.30.0-remedlab\n", "")
    assert kubectl(capsys, "config", "current-context") == (0, "remedlab\n", "")
    _, out, _ = kubectl(capsys, "cluster-info")
    assert out.startswith(f"Kubernetes control plane is running at {cluster.url}\n")
    _, out, _ = kubectl(capsys, "api-resources")
    assert ["deployments", "deploy", "apps/v1", "true", "Deployment"] in table(out)


def test_installed_script_in_a_subprocess(standard: FakeCluster) -> None:
    script = Path(sys.executable).parent / "kubectl"
    env = dict(os.environ, REMEDLAB_SERVER=standard.url)
    started = time.monotonic()
    result = subprocess.run(
        [str(script), "get", "pods"], capture_output=True, text=True, env=env, timeout=20, check=False
    )
    assert time.monotonic() - started < 5
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0].split() == ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    result = subprocess.run(
        [str(script), "get", "pod", "missing"], capture_output=True, text=True, env=env, timeout=20, check=False
    )
    assert (result.returncode, result.stderr) == (1, 'Error from server (NotFound): pods "missing" not found\n')


def test_events_create_cordon_and_wait(standard: FakeCluster, capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = kubectl(capsys, "events", "--for", "pod/web-5d8c7b9f4-crash", "--types=Warning")
    assert table(out)[1:] == [
        ["30s", "Warning", "BackOff", "pod/web-5d8c7b9f4-crash", "Back-off restarting failed container"]
    ]
    assert kubectl(capsys, "create", "configmap", "cfg", "--from-literal=a=1")[1] == "configmap/cfg created\n"
    assert standard.calls("POST", "/configmaps")[0].body["data"] == {"a": "1"}
    assert kubectl(capsys, "cordon", "remedlab-node")[1] == "node/remedlab-node cordoned\n"
    assert standard.calls("PATCH", "/nodes/remedlab-node")[0].body == {
        "type": "merge",
        "patch": {"spec": {"unschedulable": True}},
    }
    assert kubectl(capsys, "wait", "--for=condition=Ready", "pods", "-l", "app=web", "--timeout=0.2s") == (
        1,
        "pod/web-5d8c7b9f4-abcde condition met\n",
        "error: timed out waiting for the condition on pods/web-5d8c7b9f4-crash\n",
    )
    assert kubectl(capsys, "wait", "--for=jsonpath={.status.phase}=Running", "pod/web-5d8c7b9f4-abcde")[0] == 0
