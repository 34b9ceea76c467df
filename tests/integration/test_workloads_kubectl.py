"""StatefulSets, Jobs and DaemonSets on a live cluster, driven by the official kubectl and the official
Python client: ordered start, stable claims, rollouts, completions, backoff limits, one pod per node."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
import yaml
from kubernetes import client, config

from remedlab.api.times import parse_time
from tests.integration.kubectl_harness import Kubectl, rows
from tests.integration.server_harness import ServerProcess

pytestmark = pytest.mark.integration

NAMESPACE = "workloads"
NS = ("-n", NAMESPACE)

WEB = f"""
apiVersion: v1
kind: Service
metadata: {{name: web, namespace: {NAMESPACE}}}
spec:
  clusterIP: None
  selector: {{app: web}}
  ports: [{{port: 80, name: web}}]
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {{name: web, namespace: {NAMESPACE}}}
spec:
  serviceName: web
  replicas: 3
  selector: {{matchLabels: {{app: web}}}}
  template:
    metadata: {{labels: {{app: web}}}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: main
        image: busybox
        command: ["sleep", "3600"]
        workingDir: /data
        volumeMounts: [{{name: data, mountPath: /data}}]
  volumeClaimTemplates:
  - metadata: {{name: data}}
    spec:
      accessModes: [ReadWriteOnce]
      resources: {{requests: {{storage: 1Gi}}}}
"""


def _job(name: str, command: list[str], **spec: Any) -> str:
    return yaml.safe_dump(
        {
            "apiVersion": "batch/v1",
            "kind": "Job",
            "metadata": {"name": name, "namespace": NAMESPACE},
            "spec": {
                **spec,
                "template": {
                    "spec": {
                        "restartPolicy": "Never",
                        "containers": [{"name": "main", "image": "busybox", "command": command}],
                    }
                },
            },
        }
    )


AGENT = f"""
apiVersion: apps/v1
kind: DaemonSet
metadata: {{name: agent, namespace: {NAMESPACE}}}
spec:
  selector: {{matchLabels: {{app: agent}}}}
  template:
    metadata: {{labels: {{app: agent}}}}
    spec:
      terminationGracePeriodSeconds: 1
      containers: [{{name: main, image: busybox, command: ["sleep", "3600"]}}]
"""


@pytest.fixture(scope="module")
def k(server: ServerProcess, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Kubectl]:
    kubectl = Kubectl(server, tmp_path_factory.mktemp("kube-cache"))
    kubectl.ok("create", "namespace", NAMESPACE)
    yield kubectl


def _get(k: Kubectl, *args: str) -> Any:
    return json.loads(k.ok("get", *args, *NS, "-o", "json"))


def _ready_since(pod: dict[str, Any]) -> float:
    ready = next(c for c in pod["status"]["conditions"] if c["type"] == "Ready")
    moment = parse_time(ready["lastTransitionTime"])
    assert moment is not None
    return moment.timestamp()


def _created(pod: dict[str, Any]) -> float:
    moment = parse_time(pod["metadata"]["creationTimestamp"])
    assert moment is not None
    return moment.timestamp()


def _wait(what: str, check: Any, timeout: float = 60.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def test_a_stateful_set_starts_in_order_and_keeps_each_pods_claim(k: Kubectl, server: ServerProcess) -> None:
    k.ok("apply", "-f", "-", stdin=WEB)
    status = k.ok("rollout", "status", "statefulset/web", *NS, "--timeout=120s", timeout=150)
    assert "rolling update complete 3 pods" in status, status
    pods = {p["metadata"]["name"]: p for p in _get(k, "pods", "-l", "app=web")["items"]}
    assert sorted(pods) == ["web-0", "web-1", "web-2"]
    for before, after in (("web-0", "web-1"), ("web-1", "web-2")):
        assert _created(pods[after]) >= _ready_since(pods[before]), f"{after} was created before {before} was Ready"
    assert pods["web-1"]["spec"]["hostname"] == "web-1" and pods["web-1"]["spec"]["subdomain"] == "web"
    header, *sts = rows(k.ok("get", "statefulsets", *NS))
    assert header == ["NAME", "READY", "AGE"] and sts[0][:2] == ["web", "3/3"]
    assert rows(k.ok("get", "sts", *NS, "-o", "wide"))[0] == ["NAME", "READY", "AGE", "CONTAINERS", "IMAGES"]

    claims = _get(k, "pvc")["items"]
    assert sorted(c["metadata"]["name"] for c in claims) == ["data-web-0", "data-web-1", "data-web-2"]
    claim_uid = next(c["metadata"]["uid"] for c in claims if c["metadata"]["name"] == "data-web-1")
    k.ok("exec", "web-1", *NS, "--", "sh", "-c", "echo kept > note")
    on_host = server.home / "volumes" / NAMESPACE / "data-web-1" / "note"
    assert on_host.read_text().strip() == "kept"

    old_uid = pods["web-1"]["metadata"]["uid"]
    k.ok("delete", "pod", "web-1", *NS, timeout=90)
    _wait(
        "web-1 back",
        lambda: any(
            p["metadata"]["name"] == "web-1"
            and p["metadata"]["uid"] != old_uid
            and p["status"].get("phase") == "Running"
            for p in _get(k, "pods")["items"]
        ),
    )
    assert k.ok("exec", "web-1", *NS, "--", "cat", "note").strip() == "kept"
    again = next(c for c in _get(k, "pvc")["items"] if c["metadata"]["name"] == "data-web-1")
    assert again["metadata"]["uid"] == claim_uid
    volume = next(v for v in _get(k, "pod", "web-1")["spec"]["volumes"] if v["name"] == "data")
    assert volume["persistentVolumeClaim"]["claimName"] == "data-web-1"


def test_stateful_set_rollout_history_restart_undo_and_scale(k: Kubectl) -> None:
    k.ok("rollout", "status", "statefulset/web", *NS, "--timeout=120s", timeout=150)
    assert rows(k.ok("rollout", "history", "statefulset/web", *NS))[1:] == [
        ["REVISION", "CHANGE-CAUSE"],
        ["1", "<none>"],
    ]
    k.ok("rollout", "restart", "statefulset/web", *NS)
    status = k.ok("rollout", "status", "statefulset/web", *NS, "--timeout=120s", timeout=150)
    assert "rolling update complete 3 pods" in status, status
    sts = _get(k, "statefulset", "web")
    assert sts["status"]["currentRevision"] == sts["status"]["updateRevision"]
    assert [r[0] for r in rows(k.ok("rollout", "history", "statefulset/web", *NS))[2:]] == ["1", "2"]
    assert "rolled back" in k.ok("rollout", "undo", "statefulset/web", *NS)
    k.ok("rollout", "status", "statefulset/web", *NS, "--timeout=120s", timeout=150)
    assert [r[0] for r in rows(k.ok("rollout", "history", "statefulset/web", *NS))[2:]] == ["2", "3"]
    revisions = rows(k.ok("get", "controllerrevisions", *NS))
    assert revisions[0] == ["NAME", "CONTROLLER", "REVISION", "AGE"]
    assert {r[1] for r in revisions[1:]} == {"statefulset.apps/web"}

    k.ok("scale", "statefulset/web", "--replicas=2", *NS)
    _wait("web-2 gone", lambda: "web-2" not in k.ok("get", "pods", *NS, "-o", "name"))
    assert "data-web-2" in k.ok("get", "pvc", *NS, "-o", "name"), "claims outlive a scale down"


def test_a_job_completes_with_parallel_pods(k: Kubectl) -> None:
    k.ok("apply", "-f", "-", stdin=_job("batch", ["sleep", "1"], completions=3, parallelism=2))
    k.ok("wait", "--for=condition=complete", "job/batch", *NS, "--timeout=90s", timeout=120)
    job = _get(k, "job", "batch")
    assert job["status"]["succeeded"] == 3 and job["status"]["completionTime"]
    types = {c["type"] for c in job["status"]["conditions"] if c["status"] == "True"}
    assert types == {"SuccessCriteriaMet", "Complete"}
    pods = _get(k, "pods", "-l", "batch.kubernetes.io/job-name=batch")["items"]
    assert len(pods) == 3 and all(p["status"]["phase"] == "Succeeded" for p in pods)
    starts = sorted(_created(p) for p in pods)
    assert starts[2] > starts[0], "the third pod waits for a slot"
    header, row = rows(k.ok("get", "jobs", "batch", *NS))
    assert header == ["NAME", "STATUS", "COMPLETIONS", "DURATION", "AGE"]
    assert row[:3] == ["batch", "Complete", "3/3"]


def test_a_failing_job_stops_at_its_backoff_limit(k: Kubectl) -> None:
    k.ok("apply", "-f", "-", stdin=_job("doomed", ["false"], backoffLimit=1))
    k.ok("wait", "--for=condition=failed", "job/doomed", *NS, "--timeout=90s", timeout=120)
    job = _get(k, "job", "doomed")
    failed = next(c for c in job["status"]["conditions"] if c["type"] == "Failed")
    assert failed["status"] == "True" and failed["reason"] == "BackoffLimitExceeded"
    assert job["status"]["failed"] == 2 and "completionTime" not in job["status"]
    assert len(_get(k, "pods", "-l", "job-name=doomed")["items"]) == 2
    assert rows(k.ok("get", "job", "doomed", *NS))[1][1] == "Failed"
    events = k.ok("get", "events", *NS, "--field-selector", "involvedObject.name=doomed")
    assert "BackoffLimitExceeded" in events


def test_a_daemon_set_runs_one_pod_on_the_node(k: Kubectl) -> None:
    k.ok("apply", "-f", "-", stdin=AGENT)
    status = k.ok("rollout", "status", "daemonset/agent", *NS, "--timeout=90s", timeout=120)
    assert 'daemon set "agent" successfully rolled out' in status, status
    pods = _get(k, "pods", "-l", "app=agent")["items"]
    node = json.loads(k.ok("get", "nodes", "-o", "json"))["items"][0]["metadata"]["name"]
    assert len(pods) == 1 and pods[0]["spec"]["nodeName"] == node
    header, row = rows(k.ok("get", "ds", "agent", *NS))
    assert header == ["NAME", "DESIRED", "CURRENT", "READY", "UP-TO-DATE", "AVAILABLE", "NODE", "SELECTOR", "AGE"]
    assert row[:7] == ["agent", "1", "1", "1", "1", "1", "<none>"]
    k.ok("set", "image", "daemonset/agent", "main=busybox:1.36", *NS)
    k.ok("rollout", "status", "daemonset/agent", *NS, "--timeout=90s", timeout=120)
    pods = [p for p in _get(k, "pods", "-l", "app=agent")["items"] if not p["metadata"].get("deletionTimestamp")]
    assert len(pods) == 1 and pods[0]["spec"]["containers"][0]["image"] == "busybox:1.36"
    assert rows(k.ok("rollout", "history", "daemonset/agent", *NS))[1:] == [
        ["REVISION", "CHANGE-CAUSE"],
        ["1", "<none>"],
        ["2", "<none>"],
    ]


def test_get_all_workload_kinds_at_once(k: Kubectl) -> None:
    tables = k.ok("get", "sts,job,ds", *NS).strip().split("\n\n")
    headers = [rows(t)[0] for t in tables]
    assert headers == [
        ["NAME", "READY", "AGE"],
        ["NAME", "STATUS", "COMPLETIONS", "DURATION", "AGE"],
        ["NAME", "DESIRED", "CURRENT", "READY", "UP-TO-DATE", "AVAILABLE", "NODE", "SELECTOR", "AGE"],
    ]
    assert rows(tables[0])[1][0] == "statefulset.apps/web"
    everything = k.ok("get", "all", *NS)
    assert "statefulset.apps/web" in everything and "job.batch/batch" in everything
    assert "daemonset.apps/agent" in everything
    assert "Job" in k.ok("explain", "job") and "podManagementPolicy" in k.ok("explain", "statefulset.spec")


def test_the_official_python_client_reads_and_patches_them(k: Kubectl) -> None:
    configuration = client.Configuration()
    config.load_kube_config(  # type: ignore[no-untyped-call]
        config_file=str(k.kubeconfig), client_configuration=configuration
    )
    api = client.ApiClient(configuration)
    apps: Any = client.AppsV1Api(api)
    batch: Any = client.BatchV1Api(api)
    sets = apps.list_namespaced_stateful_set(NAMESPACE).items
    assert [s.metadata.name for s in sets] == ["web"]
    web = apps.read_namespaced_stateful_set("web", NAMESPACE)
    assert web.spec.service_name == "web" and web.status.update_revision.startswith("web-")
    assert web.spec.volume_claim_templates[0].metadata.name == "data"
    apps.patch_namespaced_stateful_set("web", NAMESPACE, {"metadata": {"labels": {"tier": "db"}}})
    assert apps.read_namespaced_stateful_set("web", NAMESPACE).metadata.labels["tier"] == "db"
    scale = apps.read_namespaced_stateful_set_scale("web", NAMESPACE)
    assert scale.spec.replicas == 2
    revisions = apps.list_namespaced_controller_revision(NAMESPACE, label_selector="app=web").items
    assert revisions and all(r.revision >= 1 for r in revisions)
    agent = apps.read_namespaced_daemon_set("agent", NAMESPACE)
    assert agent.status.desired_number_scheduled == 1
    jobs = {j.metadata.name: j for j in batch.list_namespaced_job(NAMESPACE).items}
    assert jobs["batch"].status.succeeded == 3 and jobs["batch"].status.completion_time is not None
    patched = batch.patch_namespaced_job("batch", NAMESPACE, {"metadata": {"annotations": {"owner": "qa"}}})
    assert patched.metadata.annotations["owner"] == "qa"
    assert batch.read_namespaced_job_status("doomed", NAMESPACE).status.failed == 2
