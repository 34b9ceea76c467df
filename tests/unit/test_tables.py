"""Server-side Tables: the columns and cells kube-apiserver prints for each kind, as `kubectl get` shows them."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from remedlab.api.kinds import BY_KIND, KindInfo
from remedlab.api.meta import ListMeta, Table
from remedlab.cluster.apiserver.humanize import age, human_duration, short_human_duration
from remedlab.cluster.apiserver.tables import CUSTOM_RESOURCE_COLUMNS, table_of

Obj = dict[str, Any]
NOW = datetime(2025, 3, 1, 12, 0, 0, tzinfo=UTC)


def ago(seconds: float) -> str:
    return (NOW - timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")


def meta(name: str, seconds_old: float = 300, **extra: Any) -> Obj:
    return {"name": name, "namespace": "default", "uid": f"uid-{name}", "creationTimestamp": ago(seconds_old), **extra}


def table(kind: str, *objects: Obj, **options: Any) -> Table:
    return table_of(BY_KIND[kind], list(objects), now=NOW, **options)


def columns(result: Table) -> list[tuple[str, str, str, int]]:
    return [(c.name, c.type, c.format, c.priority) for c in result.column_definitions]


def row(kind: str, obj: Obj) -> list[Any]:
    return table(kind, obj).rows[0].cells


def shown(result: Table, wide: bool = False) -> list[list[Any]]:
    """Header and rows as kubectl shows them: upper-case names, wide columns only with -o wide."""
    keep = [wide or c.priority == 0 for c in result.column_definitions]
    header = [c.name.upper() for c, k in zip(result.column_definitions, keep, strict=True) if k]
    return [header] + [[cell for cell, k in zip(r.cells, keep, strict=True) if k] for r in result.rows]


# ---------------------------------------------------------------------- pods


def pod(
    name: str,
    *,
    phase: str = "Running",
    ready: bool = True,
    state: Obj | None = None,
    last_state: Obj | None = None,
    restarts: int = 0,
    seconds_old: float = 300,
    **metadata: Any,
) -> Obj:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": meta(name, seconds_old, resourceVersion="42", labels={"app": "web"}, **metadata),
        "spec": {"containers": [{"name": "app", "image": "registry.local/web:1.2"}], "nodeName": "node-1"},
        "status": {
            "phase": phase,
            "conditions": [
                {"type": "Initialized", "status": "True"},
                {"type": "Ready", "status": "True" if ready else "False"},
            ],
            "podIP": "10.244.0.7",
            "podIPs": [{"ip": "10.244.0.7"}],
            "containerStatuses": [
                {
                    "name": "app",
                    "ready": ready,
                    "restartCount": restarts,
                    "state": state or {"running": {"startedAt": ago(seconds_old - 5)}},
                    "lastState": last_state or {},
                }
            ],
        },
    }


def test_pod_columns_and_wide_priority() -> None:
    result = table("Pod", pod("web-1"))
    assert columns(result) == [
        ("Name", "string", "name", 0),
        ("Ready", "string", "", 0),
        ("Status", "string", "", 0),
        ("Restarts", "string", "", 0),
        ("Age", "string", "", 0),
        ("IP", "string", "", 1),
        ("Node", "string", "", 1),
        ("Nominated Node", "string", "", 1),
        ("Readiness Gates", "string", "", 1),
    ]
    assert shown(result) == [["NAME", "READY", "STATUS", "RESTARTS", "AGE"], ["web-1", "1/1", "Running", "0", "5m"]]
    assert shown(result, wide=True)[1] == [
        "web-1",
        "1/1",
        "Running",
        "0",
        "5m",
        "10.244.0.7",
        "node-1",
        "<none>",
        "<none>",
    ]
    assert result.column_definitions[0].description == "The object's name."


def test_crash_looping_pod() -> None:
    crashing = pod(
        "web-crash",
        ready=False,
        restarts=4,
        state={"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 40s restarting failed container"}},
        last_state={"terminated": {"exitCode": 1, "reason": "Error", "finishedAt": ago(45)}},
        seconds_old=3 * 3600 + 4 * 60 + 30,
    )
    assert row("Pod", crashing)[:5] == ["web-crash", "0/1", "CrashLoopBackOff", "4 (45s ago)", "3h4m"]


@pytest.mark.parametrize(
    ("state", "phase", "expected"),
    [
        ({"terminated": {"exitCode": 137, "reason": "OOMKilled"}}, "Running", "OOMKilled"),
        ({"terminated": {"exitCode": 0, "reason": "Completed"}}, "Succeeded", "Completed"),
        ({"terminated": {"exitCode": 2}}, "Failed", "ExitCode:2"),
        ({"terminated": {"exitCode": 137, "signal": 9}}, "Failed", "Signal:9"),
        ({"waiting": {"reason": "ImagePullBackOff"}}, "Pending", "ImagePullBackOff"),
        ({"waiting": {"reason": "ContainerCreating"}}, "Pending", "ContainerCreating"),
    ],
)
def test_pod_status_reasons(state: Obj, phase: str, expected: str) -> None:
    assert row("Pod", pod("p", phase=phase, ready=False, state=state))[2] == expected


def test_terminating_and_lost_pods() -> None:
    terminating = pod("web-old", deletionTimestamp=ago(-30), deletionGracePeriodSeconds=30)
    assert row("Pod", terminating)[1:3] == ["1/1", "Terminating"]
    finished = pod("job-1", phase="Succeeded", ready=False, deletionTimestamp=ago(-30))
    finished["status"]["containerStatuses"][0]["state"] = {"terminated": {"exitCode": 0, "reason": "Completed"}}
    assert row("Pod", finished)[2] == "Completed"  # a finished pod being deleted keeps its reason
    lost = pod("web-lost", deletionTimestamp=ago(10))
    lost["status"]["reason"] = "NodeLost"
    assert row("Pod", lost)[2] == "Unknown"
    assert row("Pod", pod("web-gone", phase="Pending", ready=False) | {"status": {"phase": "Pending"}})[1:3] == [
        "0/1",
        "Pending",
    ]


def test_pod_with_init_containers() -> None:
    initializing = pod("web-init", phase="Pending", ready=False, state={"waiting": {"reason": "PodInitializing"}})
    initializing["spec"]["initContainers"] = [{"name": "migrate", "image": "x"}]
    initializing["status"]["conditions"][0]["status"] = "False"
    initializing["status"]["initContainerStatuses"] = [
        {"name": "migrate", "ready": False, "restartCount": 0, "state": {"running": {"startedAt": ago(3)}}}
    ]
    assert row("Pod", initializing)[1:4] == ["0/1", "Init:0/1", "0"]

    initializing["spec"]["initContainers"].insert(0, {"name": "setup", "image": "x"})
    initializing["status"]["initContainerStatuses"].insert(
        0, {"name": "setup", "ready": False, "restartCount": 0, "state": {"terminated": {"exitCode": 0}}}
    )
    assert row("Pod", initializing)[2] == "Init:1/2"

    failing = initializing["status"]["initContainerStatuses"][1]
    failing.update(
        restartCount=2,
        state={"waiting": {"reason": "CrashLoopBackOff"}},
        lastState={"terminated": {"exitCode": 1, "finishedAt": ago(20)}},
    )
    assert row("Pod", initializing)[2:4] == ["Init:CrashLoopBackOff", "2 (20s ago)"]
    failing.update(state={"terminated": {"exitCode": 3}})
    assert row("Pod", initializing)[2] == "Init:ExitCode:3"


def test_sidecar_counts_in_ready_and_restarts() -> None:
    with_sidecar = pod("web-mesh", restarts=1, last_state={"terminated": {"exitCode": 1, "finishedAt": ago(600)}})
    with_sidecar["spec"]["initContainers"] = [{"name": "proxy", "image": "envoy", "restartPolicy": "Always"}]
    with_sidecar["status"]["initContainerStatuses"] = [
        {
            "name": "proxy",
            "ready": True,
            "started": True,
            "restartCount": 2,
            "state": {"running": {"startedAt": ago(100)}},
            "lastState": {"terminated": {"exitCode": 1, "finishedAt": ago(120)}},
        }
    ]
    assert row("Pod", with_sidecar)[1:4] == ["2/2", "Running", "3 (2m ago)"]


def test_pod_readiness_gates() -> None:
    gated = pod("web-gated")
    gated["spec"]["readinessGates"] = [{"conditionType": "lb/ready"}, {"conditionType": "mesh/ready"}]
    gated["status"]["conditions"].append({"type": "lb/ready", "status": "True"})
    assert row("Pod", gated)[8] == "1/2"


# ---------------------------------------------------------------------- services, endpoints


def service(name: str, spec: Obj, status: Obj | None = None) -> Obj:
    return {"apiVersion": "v1", "kind": "Service", "metadata": meta(name, 3 * 86400), "spec": spec, "status": status}


def test_node_port_service() -> None:
    web = service(
        "web",
        {
            "type": "NodePort",
            "clusterIP": "10.96.0.20",
            "clusterIPs": ["10.96.0.20"],
            "selector": {"tier": "front", "app": "web"},
            "ports": [
                {"name": "http", "port": 80, "targetPort": 8080, "protocol": "TCP"},
                {"name": "https", "port": 443, "targetPort": 8443, "nodePort": 30000, "protocol": "TCP"},
            ],
        },
    )
    result = table("Service", web)
    assert shown(result, wide=True) == [
        ["NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE", "SELECTOR"],
        ["web", "NodePort", "10.96.0.20", "<none>", "80/TCP,443:30000/TCP", "3d", "app=web,tier=front"],
    ]
    assert [c.priority for c in result.column_definitions] == [0, 0, 0, 0, 0, 0, 1]


def test_other_service_types() -> None:
    headless = service("db", {"clusterIP": "None", "clusterIPs": ["None"], "ports": [{"port": 5432}]})
    assert row("Service", headless)[1:5] == ["ClusterIP", "None", "<none>", "5432/TCP"]
    pending = service(
        "lb", {"type": "LoadBalancer", "clusterIP": "10.96.0.9", "ports": [{"port": 80, "nodePort": 31000}]}
    )
    assert row("Service", pending)[3:5] == ["<pending>", "80:31000/TCP"]
    served = service(
        "lb",
        {"type": "LoadBalancer", "clusterIP": "10.96.0.9", "externalIPs": ["192.0.2.9"]},
        {"loadBalancer": {"ingress": [{"hostname": "lb.example"}, {"ip": "192.0.2.1"}]}},
    )
    assert row("Service", served)[3:5] == ["192.0.2.1,lb.example,192.0.2.9", "<none>"]
    external = service("mail", {"type": "ExternalName", "externalName": "mail.example.com"})
    assert row("Service", external)[1:4] == ["ExternalName", "<none>", "mail.example.com"]
    assert row("Service", service("bare", {}))[6] == "<none>"


def endpoints(name: str, subsets: list[Obj]) -> Obj:
    return {"apiVersion": "v1", "kind": "Endpoints", "metadata": meta(name, 600), "subsets": subsets}


def test_endpoints() -> None:
    addresses = [{"ip": f"10.244.0.{i}"} for i in range(1, 6)]
    many = endpoints("web", [{"addresses": addresses, "ports": [{"name": "http", "port": 5000}]}])
    result = table("Endpoints", many)
    assert columns(result) == [("Name", "string", "name", 0), ("Endpoints", "string", "", 0), ("Age", "string", "", 0)]
    assert result.rows[0].cells == ["web", "10.244.0.1:5000,10.244.0.2:5000,10.244.0.3:5000 + 2 more...", "10m"]
    assert row("Endpoints", endpoints("empty", []))[1] == "<none>"
    not_ready = endpoints("starting", [{"notReadyAddresses": addresses, "ports": [{"port": 5000}]}])
    assert row("Endpoints", not_ready)[1] == ""
    headless = endpoints("db", [{"addresses": [{"ip": "fd00::1"}], "ports": [{"port": 5432}]}])
    assert row("Endpoints", headless)[1] == "[fd00::1]:5432"


# ---------------------------------------------------------------------- workloads


def test_deployment_mid_rollout() -> None:
    deployment: Obj = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": meta("web", 2 * 86400 + 3 * 3600),
        "spec": {
            "replicas": 3,
            "selector": {"matchLabels": {"app": "web"}, "matchExpressions": [{"key": "env", "operator": "Exists"}]},
            "template": {
                "metadata": {"labels": {"app": "web", "env": "prod"}},
                "spec": {
                    "containers": [
                        {"name": "app", "image": "registry.local/web:1.3"},
                        {"name": "proxy", "image": "envoy:1.30"},
                    ]
                },
            },
        },
        "status": {"replicas": 4, "updatedReplicas": 1, "readyReplicas": 2, "availableReplicas": 2},
    }
    result = table("Deployment", deployment)
    assert columns(result) == [
        ("Name", "string", "name", 0),
        ("Ready", "string", "", 0),
        ("Up-to-date", "string", "", 0),
        ("Available", "string", "", 0),
        ("Age", "string", "", 0),
        ("Containers", "string", "", 1),
        ("Images", "string", "", 1),
        ("Selector", "string", "", 1),
    ]
    # Kubernetes declares UP-TO-DATE and AVAILABLE as strings but sends the counts as integers.
    assert result.rows[0].cells == [
        "web",
        "2/3",
        1,
        2,
        "2d3h",
        "app,proxy",
        "registry.local/web:1.3,envoy:1.30",
        "app=web,env",
    ]
    deployment["spec"].pop("replicas")
    deployment["spec"]["selector"] = {}
    assert row("Deployment", deployment)[1] == "2/1"
    assert row("Deployment", deployment)[7] == ""


def test_replica_set() -> None:
    replica_set = {
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "metadata": meta("web-5d8c7b9f4", 3600),
        "spec": {
            "replicas": 0,
            "selector": {"matchLabels": {"pod-template-hash": "5d8c7b9f4", "app": "web"}},
            "template": {"spec": {"containers": [{"name": "app", "image": "registry.local/web:1.2"}]}},
        },
        "status": {"replicas": 1},
    }
    result = table("ReplicaSet", replica_set)
    assert [(c.name, c.type) for c in result.column_definitions[:4]] == [
        ("Name", "string"),
        ("Desired", "integer"),
        ("Current", "integer"),
        ("Ready", "integer"),
    ]
    assert result.rows[0].cells == [
        "web-5d8c7b9f4",
        0,
        1,
        0,
        "60m",
        "app",
        "registry.local/web:1.2",
        "app=web,pod-template-hash=5d8c7b9f4",
    ]


# ---------------------------------------------------------------------- configuration and storage


def test_config_maps_and_secrets() -> None:
    config = {
        "kind": "ConfigMap",
        "metadata": meta("settings", 90),
        "data": {"a": "1", "b": "2"},
        "binaryData": {"c": ""},
    }
    assert row("ConfigMap", config) == ["settings", 3, "90s"]
    assert row("ConfigMap", {"kind": "ConfigMap", "metadata": meta("empty")}) == ["empty", 0, "5m"]
    secret = {
        "kind": "Secret",
        "metadata": meta("creds", 86400),
        "type": "kubernetes.io/tls",
        "data": {"tls.crt": "", "tls.key": ""},
    }
    result = table("Secret", secret)
    assert shown(result) == [["NAME", "TYPE", "DATA", "AGE"], ["creds", "kubernetes.io/tls", 2, "24h"]]
    assert row("Secret", {"kind": "Secret", "metadata": meta("token"), "stringData": {"t": "x"}})[1:3] == ["Opaque", 1]


def test_persistent_volume_claims() -> None:
    bound = {
        "kind": "PersistentVolumeClaim",
        "metadata": meta("data-db-0", 7 * 86400),
        "spec": {
            "accessModes": ["ReadWriteOnce"],
            "resources": {"requests": {"storage": "1Gi"}},
            "storageClassName": "local-path",
            "volumeName": "pvc-1234",
            "volumeMode": "Filesystem",
        },
        "status": {"phase": "Bound", "capacity": {"storage": "2Gi"}, "accessModes": ["ReadWriteMany", "ReadWriteOnce"]},
    }
    result = table("PersistentVolumeClaim", bound)
    assert shown(result, wide=True) == [
        [
            "NAME",
            "STATUS",
            "VOLUME",
            "CAPACITY",
            "ACCESS MODES",
            "STORAGECLASS",
            "VOLUMEATTRIBUTESCLASS",
            "AGE",
            "VOLUMEMODE",
        ],
        ["data-db-0", "Bound", "pvc-1234", "2Gi", "RWO,RWX", "local-path", "<unset>", "7d", "Filesystem"],
    ]
    pending = {"kind": "PersistentVolumeClaim", "metadata": meta("scratch"), "spec": {"accessModes": ["ReadWriteOnce"]}}
    assert row("PersistentVolumeClaim", pending) == ["scratch", "Pending", "", "", "", "", "<unset>", "5m", "<unset>"]


# ---------------------------------------------------------------------- cluster


def node(**status: Any) -> Obj:
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": "node-1",
            "creationTimestamp": ago(40 * 86400),
            "labels": {
                "kubernetes.io/hostname": "node-1",
                "node-role.kubernetes.io/control-plane": "",
                "node-role.kubernetes.io/worker": "",
            },
        },
        "spec": {},
        "status": {
            "conditions": [
                {"type": "MemoryPressure", "status": "False"},
                {"type": "Ready", "status": "True", "reason": "KubeletReady"},
            ],
            "addresses": [{"type": "InternalIP", "address": "10.0.0.1"}, {"type": "Hostname", "address": "node-1"}],
            "nodeInfo": {
                "kubeletVersion": "v1.37.0-remedlab",
                "osImage": "Debian GNU/Linux 12 (bookworm)",
                "kernelVersion": "6.1.0-18-amd64",
                "containerRuntimeVersion": "",
            },
            **status,
        },
    }


def test_node() -> None:
    result = table("Node", node())
    assert shown(result) == [
        ["NAME", "STATUS", "ROLES", "AGE", "VERSION"],
        ["node-1", "Ready", "control-plane,worker", "40d", "v1.37.0-remedlab"],
    ]
    assert shown(result, wide=True)[0][5:] == [
        "INTERNAL-IP",
        "EXTERNAL-IP",
        "OS-IMAGE",
        "KERNEL-VERSION",
        "CONTAINER-RUNTIME",
    ]
    assert result.rows[0].cells[5:] == [
        "10.0.0.1",
        "<none>",
        "Debian GNU/Linux 12 (bookworm)",
        "6.1.0-18-amd64",
        "<unknown>",
    ]

    unreachable = node(conditions=[{"type": "Ready", "status": "Unknown"}])
    unreachable["spec"]["unschedulable"] = True
    assert row("Node", unreachable)[1] == "NotReady,SchedulingDisabled"
    assert row("Node", node(conditions=[]))[1] == "Unknown"


def test_namespace() -> None:
    namespace = {
        "kind": "Namespace",
        "metadata": {"name": "shop", "creationTimestamp": ago(3600 * 5)},
        "status": {"phase": "Terminating"},
    }
    result = table("Namespace", namespace)
    assert shown(result) == [["NAME", "STATUS", "AGE"], ["shop", "Terminating", "5h"]]


# ---------------------------------------------------------------------- events


def event(name: str, **fields: Any) -> Obj:
    return {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": meta(name, 600),
        "involvedObject": {
            "kind": "Pod",
            "name": "web-crash",
            "namespace": "default",
            "fieldPath": "spec.containers{app}",
        },
        "reason": "BackOff",
        "message": "Back-off restarting failed container app in pod web-crash\n",
        "type": "Warning",
        "source": {"component": "kubelet", "host": "node-1"},
        **fields,
    }


def test_events() -> None:
    backoff = event("web-crash.17a", count=7, firstTimestamp=ago(600), lastTimestamp=ago(30))
    result = table("Event", backoff)
    assert columns(result) == [
        ("Last Seen", "string", "", 0),
        ("Type", "string", "", 0),
        ("Reason", "string", "", 0),
        ("Object", "string", "", 0),
        ("Subobject", "string", "", 1),
        ("Source", "string", "", 1),
        ("Message", "string", "", 0),
        ("First Seen", "string", "", 1),
        ("Count", "string", "", 1),
        ("Name", "string", "name", 1),
    ]
    assert shown(result) == [
        ["LAST SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"],
        ["30s", "Warning", "BackOff", "pod/web-crash", "Back-off restarting failed container app in pod web-crash"],
    ]
    assert result.rows[0].cells == [
        "30s",
        "Warning",
        "BackOff",
        "pod/web-crash",
        "spec.containers{app}",
        "kubelet, node-1",
        "Back-off restarting failed container app in pod web-crash",
        "10m",
        7,
        "web-crash.17a",
    ]


def test_event_times_counts_and_sources() -> None:
    singleton = event("scaled", eventTime="2025-03-01T11:58:00.000000Z", reportingComponent="deployment-controller")
    del singleton["source"]
    cells = row("Event", singleton)
    assert (cells[0], cells[5], cells[7], cells[8]) == ("2m", "deployment-controller", "2m", 1)
    series = event("probe", firstTimestamp=ago(3600), lastTimestamp=ago(1800), count=3)
    series["series"] = {"count": 12, "lastObservedTime": "2025-03-01T11:59:50.000000Z"}
    cells = row("Event", series)
    assert (cells[0], cells[7], cells[8]) == ("10s", "60m", 12)
    about_node = event("restart", involvedObject={"kind": "Node", "name": ""}, source={"component": "kubelet"})
    assert row("Event", about_node)[3:6] == ["node", "", "kubelet"]


# ---------------------------------------------------------------------- definitions and custom resources


def test_custom_resource_definitions_print_created_at() -> None:
    crd = {
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "podchaos.chaos-mesh.org", "creationTimestamp": "2025-02-27T08:30:00Z"},
    }
    result = table("CustomResourceDefinition", crd)
    assert columns(result) == [("Name", "string", "name", 0), ("Created At", "date", "", 0)]
    assert result.rows[0].cells == ["podchaos.chaos-mesh.org", "2025-02-27T08:30:00Z"]


def chaos(kind: str, spec: Obj) -> Obj:
    return {
        "apiVersion": BY_KIND[kind].api_version,
        "kind": kind,
        "metadata": meta(f"{kind.lower()}-1", 120),
        "spec": spec,
    }


def test_chaos_kinds_print_their_declared_columns() -> None:
    network = table("NetworkChaos", chaos("NetworkChaos", {"action": "delay", "duration": "5m", "mode": "all"}))
    assert columns(network) == [
        ("Name", "string", "name", 0),
        ("action", "string", "", 0),
        ("duration", "string", "", 0),
    ]
    assert shown(network) == [["NAME", "ACTION", "DURATION"], ["networkchaos-1", "delay", "5m"]]
    assert network.column_definitions[2].description == (
        "Custom resource definition column (in JSONPath format): .spec.duration"
    )
    stress = table("StressChaos", chaos("StressChaos", {"mode": "one", "stressors": {"cpu": {"workers": 1}}}))
    assert shown(stress) == [["NAME", "DURATION"], ["stresschaos-1", None]]  # kubectl prints a missing value as blank
    assert set(CUSTOM_RESOURCE_COLUMNS) == {"StressChaos", "NetworkChaos", "IOChaos", "HTTPChaos", "TimeChaos"}


@pytest.mark.parametrize("kind", ["PodChaos", "FunctionalChaos"])
def test_custom_resources_without_printer_columns_print_name_and_age(kind: str) -> None:
    result = table(kind, chaos(kind, {"action": "pod-kill"}))
    assert columns(result) == [("Name", "string", "name", 0), ("Age", "date", "", 0)]
    assert result.rows[0].cells == [f"{kind.lower()}-1", "2m"]


def test_unknown_kinds_fall_back_to_name_and_age() -> None:
    info = KindInfo("Widget", "widgets", "widget", (), "example.com/v1", True)
    result = table_of(info, [{"kind": "Widget", "metadata": meta("w", 7200)}], "Object", now=NOW)
    assert columns(result) == [("Name", "string", "name", 0), ("Age", "string", "", 0)]
    assert result.rows[0].cells == ["w", "120m"]
    assert result.rows[0].object == {"kind": "Widget", "metadata": meta("w", 7200)}


# ---------------------------------------------------------------------- rows' objects and the table's metadata


def test_include_object_modes() -> None:
    web = pod("web-1")
    with_metadata = table("Pod", web)
    assert with_metadata.rows[0].object == {
        "kind": "PartialObjectMetadata",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": web["metadata"],
    }
    assert table("Pod", web, include_object="Object").rows[0].object is web
    without = table("Pod", web, include_object="None")
    assert without.rows[0].object is None
    assert "object" not in without.to_dict()["rows"][0]


def test_table_metadata_and_wire_form() -> None:
    listed = table("Pod", pod("a"), pod("b"), list_meta=ListMeta(resource_version="99", continue_="token"))
    wire = listed.to_dict()
    assert (wire["kind"], wire["apiVersion"]) == ("Table", "meta.k8s.io/v1")
    assert wire["metadata"] == {"resourceVersion": "99", "continue": "token"}
    assert [r["cells"][0] for r in wire["rows"]] == ["a", "b"]
    assert wire["columnDefinitions"][3] == {
        "name": "Restarts",
        "type": "string",
        "format": "",
        "description": "Container restarts, and how long ago the last one was.",
        "priority": 0,
    }
    assert table("Pod", pod("a")).metadata.resource_version == "42"  # one object: its resourceVersion
    assert table("Pod").to_dict()["rows"] == []


def test_a_thousand_pods_print_quickly() -> None:
    pods = [pod(f"web-{i}", restarts=i % 3) for i in range(1000)]
    started = time.perf_counter()
    result = table_of(BY_KIND["Pod"], pods, "Metadata", now=NOW)
    assert time.perf_counter() - started < 0.5
    assert len(result.rows) == 1000


# ---------------------------------------------------------------------- ages


@pytest.mark.parametrize(
    ("seconds", "human", "short"),
    [
        (45, "45s", "45s"),
        (300, "5m", "5m"),
        (3 * 3600 + 4 * 60, "3h4m", "3h"),
        (2 * 86400, "2d", "2d"),
        (400 * 86400, "400d", "1y"),
    ],
)
def test_durations(seconds: float, human: str, short: str) -> None:
    assert human_duration(seconds) == human
    assert short_human_duration(seconds) == short


def test_ages() -> None:
    now = NOW.timestamp()
    assert age(ago(90), now) == "90s"
    assert age("2025-03-01T11:55:00.123456789Z", now) == "4m59s"
    assert age(None, now) == age("not a time", now) == "<unknown>"
    assert age(ago(-60), now) == "<invalid>"
