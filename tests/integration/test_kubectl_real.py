"""The official kubectl against the embedded cluster: what SREs and agents type, with the outputs a
real cluster gives. Each test is a session of commands on simple-micro (hello-service -> time-service)."""

from __future__ import annotations

import json
import re
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.kubectl_harness import Kubectl, real_kubectl, rows
from tests.integration.server_harness import ServerProcess

pytestmark = pytest.mark.integration

NS = ("-n", "simple-micro")


@pytest.fixture(scope="module")
def k(server: ServerProcess, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Kubectl]:
    assert server.ok("POST", "/v1/apps/simple-micro/deploy", {"timeoutSeconds": 90})["ready"]
    yield Kubectl(server, tmp_path_factory.mktemp("kube-cache"))


def _pod(k: Kubectl, app: str) -> str:
    """A running pod of ``app`` that is not being deleted."""
    pods = json.loads(
        k.ok("get", "pods", *NS, "-l", f"app={app}", "--field-selector=status.phase=Running", "-o", "json")
    )
    return str(next(p["metadata"]["name"] for p in pods["items"] if not p["metadata"].get("deletionTimestamp")))


def test_it_is_the_official_binary() -> None:
    version = subprocess.run([real_kubectl(), "version", "--client"], capture_output=True, text=True, check=True)
    assert re.search(r"Client Version: v1\.\d+\.\d+", version.stdout), version.stdout


def test_get_in_every_form(k: Kubectl) -> None:
    header, *pods = rows(k.ok("get", "pods", *NS))
    assert header == ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    assert len(pods) == 2 and all(p[1:4] == ["1/1", "Running", "0"] for p in pods)
    wide = rows(k.ok("get", "pods", *NS, "-o", "wide"))
    assert wide[0] == ["NAME", "READY", "STATUS", "RESTARTS", "AGE", "IP", "NODE", "NOMINATED", "NODE", "READINESS",
                       "GATES"]  # fmt: skip
    assert all(r[5].startswith("127.") for r in wide[1:])
    everywhere = rows(k.ok("get", "pods", "-A"))
    assert everywhere[0][0] == "NAMESPACE" and {r[0] for r in everywhere[1:]} >= {"simple-micro"}
    assert k.ok("get", "pods", *NS, "-l", "app=hello-service", "-o", "name").startswith("pod/hello-service-")
    running = k.ok("get", "pods", *NS, "--field-selector", "status.phase=Running", "-o", "name").split()
    assert len(running) == 2
    sorted_ips = rows(
        k.ok(
            "get", "pods", *NS, "--sort-by=.metadata.name", "-o", "custom-columns=NAME:.metadata.name,IP:.status.podIP"
        )
    )
    assert sorted_ips[0] == ["NAME", "IP"] and [r[0] for r in sorted_ips[1:]] == sorted(r[0] for r in sorted_ips[1:])
    header, *deployments = rows(k.ok("get", "deploy", *NS))
    assert header == ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"]
    assert sorted(d[:4] for d in deployments) == [["hello-service", "1/1", "1", "1"], ["time-service", "1/1", "1", "1"]]
    assert rows(k.ok("get", "deploy", *NS, "-o", "wide"))[0][-3:] == ["CONTAINERS", "IMAGES", "SELECTOR"]
    header, *services = rows(k.ok("get", "svc", *NS))
    assert header == ["NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE"]
    assert services[0][:2] == ["hello-service", "ClusterIP"] and services[0][3:5] == ["<none>", "5000/TCP"]
    ip = k.ok("get", "svc", "hello-service", *NS, "-o", "jsonpath={.spec.clusterIP}")
    assert ip.startswith("127.")
    assert rows(k.ok("get", "rs", *NS))[0] == ["NAME", "DESIRED", "CURRENT", "READY", "AGE"]
    assert rows(k.ok("get", "endpoints", *NS))[0] == ["NAME", "ENDPOINTS", "AGE"]
    header, node = rows(k.ok("get", "nodes"))
    assert header == ["NAME", "STATUS", "ROLES", "AGE", "VERSION"] and node[1] == "Ready"
    assert rows(k.ok("get", "nodes", "-o", "wide"))[0][5:7] == ["INTERNAL-IP", "EXTERNAL-IP"]
    assert "simple-micro" in k.ok("get", "ns")
    everything = k.ok("get", "all", *NS)
    assert "deployment.apps/hello-service" in everything and "service/time-service" in everything
    as_yaml = k.ok("get", "deploy", "hello-service", *NS, "-o", "yaml")
    assert "kind: Deployment" in as_yaml and "resourceVersion:" in as_yaml
    pod = json.loads(k.ok("get", "pod", _pod(k, "time-service"), *NS, "-o", "json"))
    assert pod["kind"] == "Pod" and pod["status"]["phase"] == "Running"
    assert rows(k.ok("get", "events", *NS))[0][:4] == ["LAST", "SEEN", "TYPE", "REASON"]
    missing = k.run("get", "pod", "nope", *NS)
    assert missing.returncode == 1 and missing.stderr.strip() == 'Error from server (NotFound): pods "nope" not found'


def test_discovery_explain_and_describe(k: Kubectl) -> None:
    resources = k.ok("api-resources")
    assert re.search(r"^pods\s+po\s+v1\s+true\s+Pod$", resources, re.M)
    assert re.search(r"^stresschaos\s+chaos-mesh.org/v1alpha1\s+true\s+StressChaos$", resources, re.M)
    assert "apps/v1" in k.ok("api-versions").split()
    assert "stresschaos.chaos-mesh.org" in k.ok("get", "crd")
    explained = k.ok("explain", "pods.spec.containers")
    assert "FIELD: containers" in explained and "resources" in explained
    assert "Server Version: v1." in k.ok("version")
    assert "is running at https://127.0.0.1:" in k.ok("cluster-info")
    pod = _pod(k, "hello-service")
    described = k.ok("describe", "pod", pod, *NS)
    assert "Readiness:" in described and "Events:" in described and "Status:       Running" in described
    assert "Replicas:" in k.ok("describe", "deployment", "hello-service", *NS)
    assert "Endpoints:" in k.ok("describe", "svc", "time-service", *NS)
    assert "Capacity:" in k.ok("describe", "node")


def test_logs_top_and_exec(k: Kubectl) -> None:
    pod = _pod(k, "hello-service")
    logs = k.ok("logs", pod, *NS, "--tail", "5")
    assert all(json.loads(line)["service"] == "hello-service" for line in logs.splitlines())
    assert k.run("logs", "deployment/hello-service", *NS, "--tail", "1").returncode == 0
    assert k.run("logs", "-l", "app=time-service", *NS, "--tail", "1").returncode == 0
    follow = subprocess.Popen(
        [real_kubectl(), "logs", "-f", pod, *NS, "--tail", "1"],
        env=k.env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        time.sleep(2)
        assert follow.poll() is None, "logs -f ended by itself"
    finally:
        follow.terminate()
        out, _ = follow.communicate(timeout=10)
    assert out.strip(), "logs -f printed nothing"

    deadline = time.monotonic() + 20
    while True:
        top = k.run("top", "pods", *NS)
        if top.returncode == 0 or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert top.returncode == 0, top.stderr
    assert rows(top.stdout)[0] == ["NAME", "CPU(cores)", "MEMORY(bytes)"]
    containers = rows(k.ok("top", "pods", *NS, "--containers", "-l", "app=time-service"))
    assert containers[0] == ["POD", "NAME", "CPU(cores)", "MEMORY(bytes)"] and containers[1][1] == "time-service"
    assert rows(k.ok("top", "nodes"))[0][:3] == ["NAME", "CPU(cores)", "CPU(%)"]

    assert k.ok("exec", pod, *NS, "--", "sh", "-c", "echo $TIME_SERVICE_SERVICE_PORT").strip() == "5001"
    assert k.ok("exec", "-i", pod, *NS, "--", "cat", stdin="from stdin\n") == "from stdin\n"
    failed = k.run("exec", pod, *NS, "--", "sh", "-c", "echo out; echo err >&2; exit 3")
    assert (failed.returncode, failed.stdout, failed.stderr.splitlines()[0]) == (3, "out\n", "err")


def test_rollouts_scale_set_and_patch(k: Kubectl) -> None:
    dep = ("deployment/time-service", *NS)
    assert "successfully rolled out" in k.ok("rollout", "status", *dep, "--timeout=60s")
    assert "env updated" in k.ok("set", "env", *dep, "MODE=test")
    assert "successfully rolled out" in k.ok("rollout", "status", *dep, "--timeout=90s")
    history = rows(k.ok("rollout", "history", *dep))
    assert history[-1][0] == "2"
    assert "rolled back" in k.ok("rollout", "undo", *dep)
    k.ok("rollout", "status", *dep, "--timeout=90s")
    spec = json.loads(k.ok("get", *dep, "-o", "json"))["spec"]["template"]["spec"]["containers"][0]
    assert "MODE" not in {e["name"] for e in spec.get("env", [])}
    assert "restarted" in k.ok("rollout", "restart", *dep)
    k.ok("rollout", "status", *dep, "--timeout=90s")
    assert "resource requirements updated" in k.ok("set", "resources", *dep, "--limits=cpu=800m,memory=256Mi")
    k.ok("rollout", "status", *dep, "--timeout=90s")
    limits = k.ok("get", *dep, "-o", "jsonpath={.spec.template.spec.containers[0].resources.limits}")
    assert json.loads(limits) == {"cpu": "800m", "memory": "256Mi"}
    assert "scaled" in k.ok("scale", "deployment/hello-service", "--replicas=2", *NS)
    k.ok("wait", "--for=condition=Available", "deployment/hello-service", *NS, "--timeout=60s")
    assert k.ok("get", "deploy", "hello-service", *NS, "-o", "jsonpath={.status.readyReplicas}") == "2"
    k.ok("scale", "deployment/hello-service", "--replicas=1", *NS)
    hello = ("deployment", "hello-service", *NS)
    k.ok("patch", *hello, "--type=merge", "-p", '{"metadata":{"labels":{"patched":"merge"}}}')
    k.ok("patch", *hello, "--type=json", "-p", '[{"op":"add","path":"/metadata/labels/json","value":"yes"}]')
    requests = {"name": "hello-service", "resources": {"requests": {"cpu": "50m"}}}
    k.ok("patch", *hello, "-p", json.dumps({"spec": {"template": {"spec": {"containers": [requests]}}}}))
    deployment = json.loads(k.ok("get", "deployment", "hello-service", *NS, "-o", "json"))
    assert deployment["metadata"]["labels"]["patched"] == "merge" and deployment["metadata"]["labels"]["json"] == "yes"
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert container["resources"]["requests"]["cpu"] == "50m" and container["image"]  # the other fields kept
    k.ok("rollout", "status", "deployment/hello-service", *NS, "--timeout=90s")
    pod = _pod(k, "hello-service")
    assert "labeled" in k.ok("label", "pod", pod, *NS, "checked=yes")
    assert "annotated" in k.ok("annotate", "deployment", "hello-service", *NS, "note=hi")
    assert k.ok("get", "pods", *NS, "-l", "checked=yes", "-o", "name").strip() == f"pod/{pod}"
    # by name: the replica scaled away may still be terminating, and `wait -l` would list it, then miss it
    assert "condition met" in k.ok("wait", "--for=condition=Ready", f"pod/{pod}", *NS, "--timeout=60s")


def test_apply_update_delete_and_watch(k: Kubectl, tmp_path: Path) -> None:
    manifest = tmp_path / "extra.yaml"
    manifest.write_text(
        """apiVersion: v1
kind: ConfigMap
metadata: {name: settings, namespace: simple-micro}
data: {level: info}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: extra, namespace: simple-micro}
spec:
  replicas: 1
  selector: {matchLabels: {app: extra}}
  template:
    metadata: {labels: {app: extra}}
    spec:
      containers:
      - name: extra
        image: remedlab/simple-micro-time:1.0
"""
    )
    created = k.ok("apply", "-f", str(manifest))
    assert "configmap/settings created" in created and "deployment.apps/extra created" in created
    assert "unchanged" in k.ok("apply", "-f", str(manifest))
    manifest.write_text(manifest.read_text().replace("level: info", "level: debug"))
    assert "configmap/settings configured" in k.ok("apply", "-f", str(manifest))
    assert k.ok("get", "cm", "settings", *NS, "-o", "jsonpath={.data.level}") == "debug"
    watcher = subprocess.Popen(
        [real_kubectl(), "get", "pods", *NS, "-l", "app=extra", "-w", "--request-timeout=20s"],
        env=k.env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        k.ok("wait", "--for=condition=Ready", "pod", "-l", "app=extra", *NS, "--timeout=60s")
        pod = k.ok("get", "pods", *NS, "-l", "app=extra", "-o", "name").split()[0].split("/", 1)[1]
        assert "deleted" in k.ok("delete", "pod", pod, *NS)
        k.ok("wait", "--for=condition=Ready", "pod", "-l", "app=extra", *NS, "--timeout=60s")
        time.sleep(1)
    finally:
        watcher.terminate()
        watched, _ = watcher.communicate(timeout=10)
    names = {line.split()[0] for line in watched.splitlines()[1:] if line.strip()}
    assert len(names) >= 2, watched  # the deleted pod and its replacement
    assert "deleted" in k.ok("delete", "-f", str(manifest))
    assert k.run("get", "deployment", "extra", *NS).returncode == 1
    bad = k.run("apply", "-f", "-", stdin="apiVersion: v1\nkind: Gizmo\nmetadata: {name: g}\n")
    assert bad.returncode != 0 and 'no matches for kind "Gizmo"' in bad.stderr
    typo = "apiVersion: v1\nkind: Service\nmetadata: {name: s, namespace: simple-micro}\nspec: {portz: []}\n"
    bad_field = k.run("apply", "-f", "-", stdin=typo)
    assert bad_field.returncode != 0 and 'unknown field "spec.portz"' in bad_field.stderr


CPU_STRESS = """apiVersion: chaos-mesh.org/v1alpha1
kind: StressChaos
metadata:
  name: cpu-stress-time-service
  namespace: simple-micro
spec:
  mode: one
  selector:
    namespaces: [simple-micro]
    labelSelectors:
      app: time-service
  stressors:
    cpu:
      workers: 2
      load: 100
"""

NETWORK_DELAY = """apiVersion: chaos-mesh.org/v1alpha1
kind: NetworkChaos
metadata:
  name: network-delay-time-service
  namespace: simple-micro
spec:
  action: delay
  mode: one
  selector:
    namespaces: [simple-micro]
    labelSelectors:
      app: time-service
  delay:
    latency: 1000ms
    correlation: "0"
  direction: to
"""


def _records(k: Kubectl, kind: str, name: str) -> list[dict[str, object]]:
    obj = json.loads(k.ok("get", kind, name, *NS, "-o", "json"))
    return list(((obj.get("status") or {}).get("experiment") or {}).get("containerRecords") or [])


def test_chaos_yaml_injects_and_recovers_and_agents_cannot_touch_it(k: Kubectl, tmp_path: Path) -> None:
    for kind, name, text in (
        ("stresschaos", "cpu-stress-time-service", CPU_STRESS),
        ("networkchaos", "network-delay-time-service", NETWORK_DELAY),
    ):
        path = tmp_path / f"{name}.yaml"
        path.write_text(text)
        assert "created" in k.ok("apply", "-f", str(path))
        k.server.wait_for(lambda kind=kind, name=name: _records(k, kind, name), 30, what=f"{kind} injected")
        agent = k.as_agent()
        read = agent.run("get", kind, *NS)
        assert read.returncode == 1 and "Forbidden" in read.stderr and 'User "remedlab:agent"' in read.stderr
        removed = agent.run("delete", kind, name, *NS)
        assert removed.returncode == 1 and "Forbidden" in removed.stderr
        assert agent.run("auth", "can-i", "get", kind).stdout.startswith("no")
        assert k.ok("auth", "can-i", "delete", kind).strip() == "yes"
        assert "deleted" in k.ok("delete", "-f", str(path), "--timeout=60s")
        assert k.run("get", kind, name, *NS).returncode == 1
    agent = k.as_agent()
    assert agent.ok("auth", "can-i", "patch", "deployments").strip() == "yes"
    assert "restarted" in agent.ok("rollout", "restart", "deployment/time-service", *NS)
    agent.ok("rollout", "status", "deployment/time-service", *NS, "--timeout=90s")


def test_server_side_apply_conflicts_between_managers(k: Kubectl) -> None:
    def config(value: str) -> str:
        meta = "metadata:\n  name: ssa-owners\n  namespace: simple-micro\n"
        return f"apiVersion: v1\nkind: ConfigMap\n{meta}data:\n  level: {value}\n"

    apply = ("apply", "--server-side", "-f", "-")
    try:
        assert "serverside-applied" in k.ok(*apply, "--field-manager=alice", stdin=config("low"))
        clash = k.run(*apply, "--field-manager=bob", stdin=config("high"))
        assert clash.returncode != 0
        assert 'Apply failed with 1 conflict: conflict with "alice" using v1: .data.level' in clash.stderr
        assert "--force-conflicts" in clash.stderr  # kubectl's own advice on a conflict
        assert k.ok("get", "configmap", "ssa-owners", *NS, "-o", "jsonpath={.data.level}") == "low"
        k.ok(*apply, "--field-manager=bob", "--force-conflicts", stdin=config("high"))
        live = json.loads(k.ok("get", "configmap", "ssa-owners", *NS, "-o", "json", "--show-managed-fields"))
        owners = {m["manager"]: m.get("fieldsV1", {}) for m in live["metadata"]["managedFields"]}
        assert live["data"]["level"] == "high" and "f:level" in owners["bob"]["f:data"]
        assert "f:level" not in owners.get("alice", {}).get("f:data", {})
        # the same value as the owner's is no conflict
        k.ok(*apply, "--field-manager=carol", stdin=config("high"))
    finally:
        k.run("delete", "configmap", "ssa-owners", *NS, "--ignore-not-found")
