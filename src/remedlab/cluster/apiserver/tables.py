"""Server-side printing: the ``meta.k8s.io/v1`` Table that ``kubectl get`` asks for, with the
columns and cells kube-apiserver's printers give each kind.

Every kind has a :class:`Printer`: its column definitions (those of priority 1 are the ones
``kubectl get -o wide`` adds) and a function from one object, as stored (camelCase JSON), to its
cells. As in kube-apiserver, cells are always computed for every column, wide ones included, and
the client picks the columns it shows. Cells are strings unless Kubernetes prints a number (the
replica counts of a ReplicaSet, the DATA of a ConfigMap, the COUNT of an Event are ints).

Custom resources (the chaos kinds) print the ``additionalPrinterColumns`` their definitions declare
(:data:`CUSTOM_RESOURCE_COLUMNS`, as Chaos Mesh's CRDs declare them), or Name and Age when they
declare none; CustomResourceDefinitions print Name and Created At. Kinds without a printer fall
back to Name and Age.

Per-row work reads the JSON directly: no model validation of the objects themselves.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from remedlab.api.kinds import CHAOS_KINDS, KindInfo, Obj
from remedlab.api.meta import (
    CustomResourceColumnDefinition,
    IncludeObject,
    ListMeta,
    Table,
    TableColumnDefinition,
    TableRow,
)
from remedlab.api.times import format_time
from remedlab.cluster.apiserver.humanize import age, human_duration, parse_timestamp
from remedlab.cluster.apiserver.pod_status import summarize_pod
from remedlab.cluster.apiserver.responses import partial_metadata

Cells = list[Any]
CellsOf = Callable[[Obj, float], Cells]
"""The cells of one object as of `now` (POSIX seconds), one per column."""

NONE = "<none>"
UNSET = "<unset>"


@dataclass(frozen=True)
class Printer:
    """How one kind prints: its columns and the cells of one object."""

    columns: tuple[TableColumnDefinition, ...]
    cells: CellsOf

    @property
    def headers(self) -> tuple[str, ...]:
        """The column names as kubectl prints them (upper case), wide ones included."""
        return tuple(c.name.upper() for c in self.columns)


# --------------------------------------------------------------------------- column definitions


def column(
    name: str, description: str, *, type_: str = "string", priority: int = 0, format_: str = ""
) -> TableColumnDefinition:
    return TableColumnDefinition.model_validate(
        {"name": name, "type": type_, "format": format_, "description": description, "priority": priority}
    )


NAME = column("Name", "The object's name.", format_="name")
AGE = column("Age", "Time since the object was created.")

POD_COLUMNS = (
    NAME,
    column("Ready", "Ready containers or replicas out of those wanted."),
    column("Status", "The object's current state."),
    column(
        "Restarts",
        "Container restarts, and how long ago the last one was.",
    ),
    AGE,
    column(
        "IP",
        "The pod's IP address.",
        priority=1,
    ),
    column(
        "Node",
        "The node the pod is bound to.",
        priority=1,
    ),
    column(
        "Nominated Node",
        "The node a preempting pod waits for.",
        priority=1,
    ),
    column(
        "Readiness Gates",
        "Extra conditions the pod's readiness waits for.",
        priority=1,
    ),
)

SERVICE_COLUMNS = (
    NAME,
    column(
        "Type",
        "The object's type.",
    ),
    column(
        "Cluster-IP",
        "The service's virtual IP address.",
    ),
    column(
        "External-IP",
        "Addresses outside the cluster that reach the object.",
    ),
    column(
        "Port(s)",
        "The service's ports and protocols.",
    ),
    AGE,
    column(
        "Selector",
        "The label selector choosing the pods.",
        priority=1,
    ),
)

_WORKLOAD_WIDE = (
    column("Containers", "The containers of the pod template.", priority=1),
    column("Images", "The images of the pod template's containers.", priority=1),
)

DEPLOYMENT_COLUMNS = (
    NAME,
    column("Ready", "Ready containers or replicas out of those wanted."),
    column(
        "Up-to-date",
        "Replicas running the current template.",
    ),
    column(
        "Available",
        "Replicas available for at least minReadySeconds.",
    ),
    AGE,
    *_WORKLOAD_WIDE,
    column(
        "Selector",
        "The label selector choosing the pods.",
        priority=1,
    ),
)

REPLICA_SET_COLUMNS = (
    NAME,
    column(
        "Desired",
        "Replicas wanted.",
        type_="integer",
    ),
    column(
        "Current",
        "Replicas created.",
        type_="integer",
    ),
    column(
        "Ready",
        "Ready containers or replicas out of those wanted.",
        type_="integer",
    ),
    AGE,
    *_WORKLOAD_WIDE,
    column(
        "Selector",
        "The label selector choosing the pods.",
        priority=1,
    ),
)

STATEFUL_SET_COLUMNS = (
    NAME,
    column("Ready", "Ready containers or replicas out of those wanted."),
    AGE,
    *_WORKLOAD_WIDE,
)

DAEMON_SET_COLUMNS = (
    NAME,
    column("Desired", "Nodes that should run the daemon pod.", type_="integer"),
    column("Current", "Nodes running the daemon pod.", type_="integer"),
    column("Ready", "Nodes whose daemon pod is ready.", type_="integer"),
    column("Up-to-date", "Nodes running the daemon pod of the current template.", type_="integer"),
    column("Available", "Nodes whose daemon pod has been ready for at least minReadySeconds.", type_="integer"),
    column("Node Selector", "The labels a node needs to run the daemon pod."),
    AGE,
    *_WORKLOAD_WIDE,
    column("Selector", "The label selector choosing the pods.", priority=1),
)

JOB_COLUMNS = (
    NAME,
    column("Status", "The object's current state."),
    column("Completions", "Succeeded pods out of those wanted."),
    column("Duration", "Time the job took, or has been running."),
    AGE,
    *_WORKLOAD_WIDE,
    column("Selector", "The label selector choosing the pods.", priority=1),
)

CONTROLLER_REVISION_COLUMNS = (
    NAME,
    column("Controller", "The object that owns the revision."),
    column("Revision", "The revision number.", type_="integer"),
    AGE,
)

ENDPOINTS_COLUMNS = (
    NAME,
    column(
        "Endpoints",
        "The ready addresses behind the service.",
    ),
    AGE,
)

CONFIG_MAP_COLUMNS = (
    NAME,
    column(
        "Data",
        "Number of keys.",
    ),
    AGE,
)

SECRET_COLUMNS = (
    NAME,
    column(
        "Type",
        "The object's type.",
    ),
    column(
        "Data",
        "Number of keys.",
    ),
    AGE,
)

EVENT_COLUMNS = (
    column("Last Seen", "Time since the event was last seen."),
    column("Type", "The object's type."),
    column(
        "Reason",
        "Why the event happened, in one word.",
    ),
    column("Object", "The object the event is about."),
    column(
        "Subobject",
        "The part of the object (a container) the event is about.",
        priority=1,
    ),
    column(
        "Source",
        "The component that reported the event.",
        priority=1,
    ),
    column("Message", "What happened."),
    column(
        "First Seen",
        "Time since the event was first seen.",
        priority=1,
    ),
    column("Count", "How often the event was seen.", priority=1),
    column("Name", "The object's name.", priority=1, format_="name"),
)

PERSISTENT_VOLUME_CLAIM_COLUMNS = (
    NAME,
    column("Status", "The object's current state."),
    column("Volume", "The volume bound to the claim."),
    column("Capacity", "The storage the claim holds."),
    column(
        "Access Modes",
        "How the volume may be mounted.",
    ),
    column("StorageClass", "The claim's storage class."),
    column("VolumeAttributesClass", "The claim's volume attributes class."),
    AGE,
    column(
        "VolumeMode",
        "Filesystem or block.",
        priority=1,
    ),
)

NAMESPACE_COLUMNS = (NAME, column("Status", "The object's current state."), AGE)

NODE_COLUMNS = (
    NAME,
    column("Status", "The object's current state."),
    column("Roles", "The node's roles, from its node-role labels."),
    AGE,
    column("Version", "The kubelet's version."),
    column("Internal-IP", "The node's address inside the cluster.", priority=1),
    column("External-IP", "Addresses outside the cluster that reach the object.", priority=1),
    column(
        "OS-Image",
        "The node's operating system.",
        priority=1,
    ),
    column(
        "Kernel-Version",
        "The node's kernel.",
        priority=1,
    ),
    column(
        "Container-Runtime",
        "The node's container runtime.",
        priority=1,
    ),
)

CREATED_AT_COLUMNS = (NAME, column("Created At", "When the object was created.", type_="date"))
"""What kube-apiserver prints for kinds without a printer of their own, CustomResourceDefinitions among them."""

DEFAULT_COLUMNS = (NAME, AGE)

SERVICE_ACCOUNT_COLUMNS = (NAME, column("Secrets", "Number of secrets of the account.", type_="integer"), AGE)
ROLE_BINDING_COLUMNS = (
    NAME,
    column("Role", "The role the binding grants, as Kind/name."),
    AGE,
    column("Users", "Users the role is granted to.", priority=1),
    column("Groups", "Groups the role is granted to.", priority=1),
    column("ServiceAccounts", "ServiceAccounts the role is granted to, as namespace/name.", priority=1),
)


# --------------------------------------------------------------------------- reading the JSON


def _metadata(obj: Obj) -> Obj:
    meta = obj.get("metadata")
    return meta if isinstance(meta, dict) else {}


def _dict(value: Any) -> Obj:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _int(value: Any, default: int = 0) -> int:
    if isinstance(value, bool) or value is None:
        return default
    if isinstance(value, int):
        return value
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def _str(value: Any) -> str:
    return "" if value is None else str(value)


def name_of(obj: Obj) -> str:
    return _str(_metadata(obj).get("name"))


def creation_age(obj: Obj, now: float) -> str:
    """How long ago `obj` was created, as its AGE cell shows it."""
    return age(_metadata(obj).get("creationTimestamp"), now)


# --------------------------------------------------------------------------- shared cell formats


def format_labels(labels: Mapping[str, Any] | None) -> str:
    """A label map as ``labels.FormatLabels`` writes it: ``a=1,b=2`` by key; ``<none>`` when empty."""
    if not labels:
        return NONE
    return ",".join(f"{key}={_str(labels[key])}" for key in sorted(labels))


def _selector_requirements(selector: Obj) -> list[tuple[str, str]] | None:
    """(key, text) of each requirement of a LabelSelector; None when an operator is not valid."""
    terms = [(str(k), f"{k}={_str(v)}") for k, v in _dict(selector.get("matchLabels")).items()]
    for expression in map(_dict, _list(selector.get("matchExpressions"))):
        key = _str(expression.get("key"))
        operator = expression.get("operator")
        values = ",".join(sorted(_str(v) for v in _list(expression.get("values"))))
        if operator == "In":
            terms.append((key, f"{key} in ({values})"))
        elif operator == "NotIn":
            terms.append((key, f"{key} notin ({values})"))
        elif operator == "Exists":
            terms.append((key, key))
        elif operator == "DoesNotExist":
            terms.append((key, f"!{key}"))
        else:
            return None
    terms.sort(key=lambda term: term[0])
    return terms


def selector_text(selector: Any) -> str:
    """A LabelSelector in ``-l`` syntax, requirements sorted by key; empty when it selects everything."""
    terms = _selector_requirements(_dict(selector))
    if terms is None:
        return "<invalid>"
    return ",".join(text for _, text in terms)


def format_label_selector(selector: Any) -> str:
    """``metav1.FormatLabelSelector``: the selector in ``-l`` syntax, ``<none>`` when empty."""
    terms = _selector_requirements(_dict(selector))
    if terms is None:
        return "<error>"
    return ",".join(text for _, text in terms) or NONE


def _container_cells(pod_spec: Obj) -> list[str]:
    """The CONTAINERS and IMAGES cells of a pod template: names and images, comma-separated."""
    containers = [_dict(c) for c in _list(pod_spec.get("containers"))]
    return [",".join(_str(c.get("name")) for c in containers), ",".join(_str(c.get("image")) for c in containers)]


# --------------------------------------------------------------------------- pods


def pod_cells(pod: Obj, now: float) -> Cells:
    summary = summarize_pod(pod)
    spec = _dict(pod.get("spec"))
    status = _dict(pod.get("status"))
    pod_ips = _list(status.get("podIPs"))
    ip = _str(_dict(pod_ips[0]).get("ip")) if pod_ips else _str(status.get("podIP"))
    gates = _list(spec.get("readinessGates"))
    readiness = NONE
    if gates:
        conditions: dict[Any, Any] = {}
        for condition in map(_dict, _list(status.get("conditions"))):
            conditions.setdefault(condition.get("type"), condition.get("status"))
        passed = sum(conditions.get(_dict(gate).get("conditionType")) == "True" for gate in gates)
        readiness = f"{passed}/{len(gates)}"
    return [
        name_of(pod),
        summary.ready_cell,
        summary.status,
        summary.restarts_cell(now),
        creation_age(pod, now),
        ip or NONE,
        _str(spec.get("nodeName")) or NONE,
        _str(status.get("nominatedNodeName")) or NONE,
        readiness,
    ]


# --------------------------------------------------------------------------- workloads


def deployment_cells(obj: Obj, now: float) -> Cells:
    spec = _dict(obj.get("spec"))
    status = _dict(obj.get("status"))
    desired = _int(spec.get("replicas"), 1)
    return [
        name_of(obj),
        f"{_int(status.get('readyReplicas'))}/{desired}",
        _int(status.get("updatedReplicas")),
        _int(status.get("availableReplicas")),
        creation_age(obj, now),
        *_container_cells(_dict(_dict(spec.get("template")).get("spec"))),
        selector_text(spec.get("selector")),
    ]


def replica_set_cells(obj: Obj, now: float) -> Cells:
    spec = _dict(obj.get("spec"))
    status = _dict(obj.get("status"))
    return [
        name_of(obj),
        _int(spec.get("replicas"), 1),
        _int(status.get("replicas")),
        _int(status.get("readyReplicas")),
        creation_age(obj, now),
        *_container_cells(_dict(_dict(spec.get("template")).get("spec"))),
        format_label_selector(spec.get("selector")),
    ]


def stateful_set_cells(obj: Obj, now: float) -> Cells:
    spec = _dict(obj.get("spec"))
    status = _dict(obj.get("status"))
    return [
        name_of(obj),
        f"{_int(status.get('readyReplicas'))}/{_int(spec.get('replicas'), 1)}",
        creation_age(obj, now),
        *_container_cells(_dict(_dict(spec.get("template")).get("spec"))),
    ]


def daemon_set_cells(obj: Obj, now: float) -> Cells:
    spec = _dict(obj.get("spec"))
    status = _dict(obj.get("status"))
    pod_spec = _dict(_dict(spec.get("template")).get("spec"))
    return [
        name_of(obj),
        _int(status.get("desiredNumberScheduled")),
        _int(status.get("currentNumberScheduled")),
        _int(status.get("numberReady")),
        _int(status.get("updatedNumberScheduled")),
        _int(status.get("numberAvailable")),
        format_labels(_dict(pod_spec.get("nodeSelector"))),
        creation_age(obj, now),
        *_container_cells(pod_spec),
        format_label_selector(spec.get("selector")),
    ]


def _job_condition(status: Obj, type_: str) -> bool:
    return any(
        _dict(c).get("type") == type_ and _dict(c).get("status") == "True" for c in _list(status.get("conditions"))
    )


def job_status_text(job: Obj) -> str:
    """The STATUS of a job, as kubectl prints it."""
    status = _dict(job.get("status"))
    if _job_condition(status, "Complete"):
        return "Complete"
    if _job_condition(status, "Failed"):
        return "Failed"
    if _metadata(job).get("deletionTimestamp"):
        return "Terminating"
    if _job_condition(status, "Suspended"):
        return "Suspended"
    if _job_condition(status, "FailureTarget"):
        return "FailureTarget"
    return "Running"


def job_cells(obj: Obj, now: float) -> Cells:
    spec = _dict(obj.get("spec"))
    status = _dict(obj.get("status"))
    succeeded = _int(status.get("succeeded"))
    if spec.get("completions") is not None:
        completions = f"{succeeded}/{_int(spec.get('completions'))}"
    elif _int(spec.get("parallelism")) > 1:
        completions = f"{succeeded}/1 of {_int(spec.get('parallelism'))}"
    else:
        completions = f"{succeeded}/1"
    started = parse_timestamp(status.get("startTime"))
    finished = parse_timestamp(status.get("completionTime"))
    if started is None:
        duration = ""
    elif finished is None:
        duration = human_duration(now - started.timestamp())
    else:
        duration = human_duration(finished.timestamp() - started.timestamp())
    return [
        name_of(obj),
        job_status_text(obj),
        completions,
        duration,
        creation_age(obj, now),
        *_container_cells(_dict(_dict(spec.get("template")).get("spec"))),
        format_label_selector(spec.get("selector")),
    ]


def controller_revision_cells(obj: Obj, now: float) -> Cells:
    owner = next((_dict(r) for r in _list(_metadata(obj).get("ownerReferences")) if _dict(r).get("controller")), None)
    controller = NONE
    if owner is not None:
        group = _str(owner.get("apiVersion")).rpartition("/")[0]
        kind = _str(owner.get("kind")).lower()
        controller = f"{kind}.{group}/{_str(owner.get('name'))}" if group else f"{kind}/{_str(owner.get('name'))}"
    return [name_of(obj), controller, _int(obj.get("revision")), creation_age(obj, now)]


# --------------------------------------------------------------------------- networking


def service_ports(service: Obj) -> str:
    """The PORT(S) cell: ``80/TCP,443:30443/TCP`` (port, node port when there is one, protocol)."""
    parts = []
    for port in map(_dict, _list(_dict(service.get("spec")).get("ports"))):
        protocol = _str(port.get("protocol")) or "TCP"
        node_port = _int(port.get("nodePort"))
        if node_port > 0:
            parts.append(f"{_int(port.get('port'))}:{node_port}/{protocol}")
        else:
            parts.append(f"{_int(port.get('port'))}/{protocol}")
    return ",".join(parts) or NONE


def service_external_ip(service: Obj) -> str:
    """The EXTERNAL-IP cell: external IPs, load-balancer ingress (``<pending>`` until there is one),
    the external name of an ExternalName service, ``<none>`` otherwise."""
    spec = _dict(service.get("spec"))
    service_type = _str(spec.get("type")) or "ClusterIP"
    external_ips = [_str(ip) for ip in _list(spec.get("externalIPs"))]
    if service_type in ("ClusterIP", "NodePort"):
        return ",".join(external_ips) or NONE
    if service_type == "LoadBalancer":
        ingress = _list(_dict(_dict(_dict(service.get("status")).get("loadBalancer"))).get("ingress"))
        found = sorted({_str(i.get("ip")) or _str(i.get("hostname")) for i in map(_dict, ingress)} - {""})
        return ",".join(found + external_ips) or "<pending>"
    if service_type == "ExternalName":
        return _str(spec.get("externalName"))
    return "<unknown>"


def service_cells(obj: Obj, now: float) -> Cells:
    spec = _dict(obj.get("spec"))
    cluster_ips = _list(spec.get("clusterIPs"))
    cluster_ip = _str(cluster_ips[0]) if cluster_ips else _str(spec.get("clusterIP"))
    return [
        name_of(obj),
        _str(spec.get("type")) or "ClusterIP",
        cluster_ip or NONE,
        service_external_ip(obj),
        service_ports(obj),
        creation_age(obj, now),
        format_labels(_dict(spec.get("selector"))),
    ]


def format_endpoints(endpoints: Obj, port_name: str | None = None, limit: int = 3) -> str:
    """The ENDPOINTS cell: ``10.0.0.1:5000,10.0.0.2:5000 + 2 more...`` (ready addresses, with each
    port, or only the port named `port_name`); ``<none>`` when there are no subsets."""
    subsets = _list(endpoints.get("subsets"))
    if not subsets:
        return NONE
    listed: list[str] = []
    count = 0
    more = False
    for subset in map(_dict, subsets):
        addresses = [_str(_dict(a).get("ip")) for a in _list(subset.get("addresses"))]
        ports = [_dict(p) for p in _list(subset.get("ports"))]
        if not ports:
            # a headless service may have no ports
            count += len(addresses)
            for ip in addresses:
                if len(listed) == limit:
                    more = True
                    break
                listed.append(ip)
            continue
        for port in ports:
            if port_name is not None and _str(port.get("name")) != port_name:
                continue
            count += len(addresses)
            for ip in addresses:
                if len(listed) == limit:
                    more = True
                    break
                host = f"[{ip}]" if ":" in ip else ip
                listed.append(f"{host}:{_int(port.get('port'))}")
    text = ",".join(listed)
    return f"{text} + {count - limit} more..." if more else text


def endpoints_cells(obj: Obj, now: float) -> Cells:
    return [name_of(obj), format_endpoints(obj), creation_age(obj, now)]


# --------------------------------------------------------------------------- configuration and storage


def config_map_cells(obj: Obj, now: float) -> Cells:
    return [name_of(obj), len(_dict(obj.get("data"))) + len(_dict(obj.get("binaryData"))), creation_age(obj, now)]


def secret_cells(obj: Obj, now: float) -> Cells:
    data = _dict(obj.get("data"))
    string_data = _dict(obj.get("stringData"))
    # The API folds stringData into data on write; count a key given in both once.
    count = len(data.keys() | string_data.keys()) if string_data else len(data)
    return [name_of(obj), _str(obj.get("type")) or "Opaque", count, creation_age(obj, now)]


_ACCESS_MODES = (
    ("ReadWriteOnce", "RWO"),
    ("ReadOnlyMany", "ROX"),
    ("ReadWriteMany", "RWX"),
    ("ReadWriteOncePod", "RWOP"),
)


def access_modes_text(modes: Sequence[Any]) -> str:
    """Access modes abbreviated in kubectl's fixed order: ``RWO,ROX,RWX,RWOP``."""
    present = set(modes)
    return ",".join(short for mode, short in _ACCESS_MODES if mode in present)


def persistent_volume_claim_cells(obj: Obj, now: float) -> Cells:
    spec = _dict(obj.get("spec"))
    status = _dict(obj.get("status"))
    phase = _str(status.get("phase")) or "Pending"
    if _metadata(obj).get("deletionTimestamp") is not None:
        phase = "Terminating"
    volume = _str(spec.get("volumeName"))
    capacity = access_modes = ""
    if volume:
        capacity = _str(_dict(status.get("capacity")).get("storage")) or "0"
        access_modes = access_modes_text(_list(status.get("accessModes")))
    annotations = _dict(_metadata(obj).get("annotations"))
    storage_class = annotations.get("volume.beta.kubernetes.io/storage-class") or spec.get("storageClassName")
    attributes_class = spec.get("volumeAttributesClassName")
    volume_mode = spec.get("volumeMode")
    return [
        name_of(obj),
        phase,
        volume,
        capacity,
        access_modes,
        _str(storage_class),
        UNSET if attributes_class is None else _str(attributes_class),
        creation_age(obj, now),
        UNSET if volume_mode is None else _str(volume_mode),
    ]


# --------------------------------------------------------------------------- cluster


def namespace_cells(obj: Obj, now: float) -> Cells:
    phase = _str(_dict(obj.get("status")).get("phase")) or "Active"
    return [name_of(obj), phase, creation_age(obj, now)]


def node_status(node: Obj) -> str:
    """The STATUS cell: ``Ready``, ``NotReady`` or ``Unknown``, then ``SchedulingDisabled`` when cordoned."""
    status = "Unknown"
    for condition in map(_dict, _list(_dict(node.get("status")).get("conditions"))):
        if condition.get("type") == "Ready":
            status = "Ready" if condition.get("status") == "True" else "NotReady"
    if _dict(node.get("spec")).get("unschedulable") is True:
        status += ",SchedulingDisabled"
    return status


def node_roles(node: Obj) -> list[str]:
    """The node's roles, from ``node-role.kubernetes.io/<role>`` and ``kubernetes.io/role`` labels, sorted."""
    roles: set[str] = set()
    for key, value in _dict(_metadata(node).get("labels")).items():
        if key.startswith("node-role.kubernetes.io/"):
            role = key.removeprefix("node-role.kubernetes.io/")
            if role:
                roles.add(role)
        elif key == "kubernetes.io/role" and value:
            roles.add(_str(value))
    return sorted(roles)


def _node_address(node: Obj, address_type: str) -> str:
    for address in map(_dict, _list(_dict(node.get("status")).get("addresses"))):
        if address.get("type") == address_type:
            return _str(address.get("address"))
    return NONE


def node_cells(obj: Obj, now: float) -> Cells:
    info = _dict(_dict(obj.get("status")).get("nodeInfo"))
    return [
        name_of(obj),
        node_status(obj),
        ",".join(node_roles(obj)) or NONE,
        creation_age(obj, now),
        _str(info.get("kubeletVersion")),
        _node_address(obj, "InternalIP"),
        _node_address(obj, "ExternalIP"),
        _str(info.get("osImage")) or "<unknown>",
        _str(info.get("kernelVersion")) or "<unknown>",
        _str(info.get("containerRuntimeVersion")) or "<unknown>",
    ]


# --------------------------------------------------------------------------- events


def event_times(event: Obj, now: float) -> tuple[str, str, int]:
    """(LAST SEEN, FIRST SEEN, COUNT) of an event: a series' last observation and count win; a
    singleton event of the events.k8s.io API counts 1."""
    first_stamp = event.get("firstTimestamp")
    first = age(first_stamp if first_stamp else event.get("eventTime"), now)
    last_stamp = event.get("lastTimestamp")
    last = age(last_stamp, now) if last_stamp else first
    count = _int(event.get("count"))
    series = event.get("series")
    if isinstance(series, dict):
        last = age(series.get("lastObservedTime"), now)
        count = _int(series.get("count"))
    elif count == 0:
        count = 1
    return last, first, count


def event_object(event: Obj) -> str:
    """The OBJECT cell: ``pod/web-1`` (the involved object's kind in lower case, and its name)."""
    involved = _dict(event.get("involvedObject"))
    kind = _str(involved.get("kind")).lower()
    name = _str(involved.get("name"))
    return f"{kind}/{name}" if name else kind


def event_source(event: Obj) -> str:
    """The SOURCE cell: ``kubelet, node-1`` (component, then host when there is one)."""
    source = _dict(event.get("source"))
    component = _str(source.get("component")) or _str(event.get("reportingComponent"))
    host = _str(source.get("host")) or _str(event.get("reportingInstance"))
    return f"{component}, {host}" if host else component


def event_cells(obj: Obj, now: float) -> Cells:
    last, first, count = event_times(obj, now)
    return [
        last,
        _str(obj.get("type")),
        _str(obj.get("reason")),
        event_object(obj),
        _str(_dict(obj.get("involvedObject")).get("fieldPath")),
        event_source(obj),
        _str(obj.get("message")).strip(),
        first,
        count,
        name_of(obj),
    ]


# --------------------------------------------------------------------------- definitions and defaults


def created_at_cells(obj: Obj, now: float) -> Cells:
    created = parse_timestamp(_metadata(obj).get("creationTimestamp"))
    return [name_of(obj), format_time(created) if created is not None else "0001-01-01T00:00:00Z"]


def service_account_cells(obj: Obj, now: float) -> Cells:
    return [name_of(obj), len(_list(obj.get("secrets"))), creation_age(obj, now)]


def role_binding_cells(obj: Obj, now: float) -> Cells:
    ref = _dict(obj.get("roleRef"))
    subjects = [_dict(s) for s in _list(obj.get("subjects"))]

    def named(kind: str) -> str:
        names = [
            f"{s.get('namespace', '')}/{s.get('name', '')}" if kind == "ServiceAccount" else _str(s.get("name"))
            for s in subjects
            if s.get("kind") == kind
        ]
        return ", ".join(names)

    return [
        name_of(obj),
        f"{_str(ref.get('kind'))}/{_str(ref.get('name'))}",
        creation_age(obj, now),
        named("User"),
        named("Group"),
        named("ServiceAccount"),
    ]


def default_cells(obj: Obj, now: float) -> Cells:
    return [name_of(obj), creation_age(obj, now)]


# --------------------------------------------------------------------------- custom resources


def _printer_column(name: str, json_path: str) -> CustomResourceColumnDefinition:
    return CustomResourceColumnDefinition.model_validate({"name": name, "type": "string", "jsonPath": json_path})


_ACTION = _printer_column("action", ".spec.action")
_DURATION = _printer_column("duration", ".spec.duration")

CUSTOM_RESOURCE_COLUMNS: dict[str, tuple[CustomResourceColumnDefinition, ...]] = {
    "StressChaos": (_DURATION,),
    "NetworkChaos": (_ACTION, _DURATION),
    "IOChaos": (_ACTION, _DURATION),
    "HTTPChaos": (_DURATION,),
    "TimeChaos": (_DURATION,),
}
"""The ``additionalPrinterColumns`` of each custom kind's definition, as Chaos Mesh's CRDs declare
them; PodChaos declares none, nor does remedlab's FunctionalChaos."""

_DEFAULT_CUSTOM_COLUMNS = (
    CustomResourceColumnDefinition.model_validate(
        {
            "name": "Age",
            "type": "date",
            "jsonPath": ".metadata.creationTimestamp",
            "description": "Time since the object was created.",
        }
    ),
)
"""What kube-apiserver serves for a custom resource whose definition declares no printer columns."""


def _json_path_value(obj: Obj, path: str) -> Any:
    """The value at a simple JSONPath (``.spec.duration``); None when any step is missing."""
    value: Any = obj
    for step in path.strip().removeprefix("{").removesuffix("}").strip(".").split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(step)
    return value


def _json_text(value: Any) -> str:
    """A value as a JSONPath template prints it."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, int | float):
        return str(value)
    return json.dumps(value, separators=(",", ":"))


def _custom_cell(column_type: str, value: Any, now: float) -> Any:
    """A custom column's cell, typed as the column declares (None when the value is missing or of another type)."""
    if value is None:
        return None
    if column_type == "string":
        return _json_text(value)
    if column_type == "integer" and isinstance(value, int | float) and not isinstance(value, bool):
        return int(value)
    if column_type == "number" and isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if column_type == "boolean" and isinstance(value, bool):
        return value
    if column_type == "date" and isinstance(value, str):
        return age(value, now) if parse_timestamp(value) is not None else "<invalid>"
    return None


def custom_resource_printer(printer_columns: Sequence[CustomResourceColumnDefinition]) -> Printer:
    """The printer of a custom resource whose definition declares `printer_columns` (Name, then each
    declared column; Name and Age when none is declared)."""
    declared = tuple(printer_columns) or _DEFAULT_CUSTOM_COLUMNS
    columns = (
        NAME,
        *(
            column(
                c.name,
                c.description or f"Custom resource definition column (in JSONPath format): {c.json_path}",
                type_=c.type,
                priority=c.priority or 0,
                format_=c.format or "",
            )
            for c in declared
        ),
    )
    paths = tuple((c.type, c.json_path) for c in declared)

    def cells(obj: Obj, now: float) -> Cells:
        return [name_of(obj), *(_custom_cell(kind, _json_path_value(obj, path), now) for kind, path in paths)]

    return Printer(columns, cells)


# --------------------------------------------------------------------------- the printers


PRINTERS: dict[str, Printer] = {
    "Pod": Printer(POD_COLUMNS, pod_cells),
    "Service": Printer(SERVICE_COLUMNS, service_cells),
    "Deployment": Printer(DEPLOYMENT_COLUMNS, deployment_cells),
    "ReplicaSet": Printer(REPLICA_SET_COLUMNS, replica_set_cells),
    "StatefulSet": Printer(STATEFUL_SET_COLUMNS, stateful_set_cells),
    "DaemonSet": Printer(DAEMON_SET_COLUMNS, daemon_set_cells),
    "Job": Printer(JOB_COLUMNS, job_cells),
    "ControllerRevision": Printer(CONTROLLER_REVISION_COLUMNS, controller_revision_cells),
    "Endpoints": Printer(ENDPOINTS_COLUMNS, endpoints_cells),
    "ConfigMap": Printer(CONFIG_MAP_COLUMNS, config_map_cells),
    "Secret": Printer(SECRET_COLUMNS, secret_cells),
    "Event": Printer(EVENT_COLUMNS, event_cells),
    "PersistentVolumeClaim": Printer(PERSISTENT_VOLUME_CLAIM_COLUMNS, persistent_volume_claim_cells),
    "Namespace": Printer(NAMESPACE_COLUMNS, namespace_cells),
    "Node": Printer(NODE_COLUMNS, node_cells),
    "CustomResourceDefinition": Printer(CREATED_AT_COLUMNS, created_at_cells),
    "ServiceAccount": Printer(SERVICE_ACCOUNT_COLUMNS, service_account_cells),
    "Role": Printer(CREATED_AT_COLUMNS, created_at_cells),
    "ClusterRole": Printer(CREATED_AT_COLUMNS, created_at_cells),
    "RoleBinding": Printer(ROLE_BINDING_COLUMNS, role_binding_cells),
    "ClusterRoleBinding": Printer(ROLE_BINDING_COLUMNS, role_binding_cells),
    **{kind: custom_resource_printer(CUSTOM_RESOURCE_COLUMNS.get(kind, ())) for kind in sorted(CHAOS_KINDS)},
}

DEFAULT_PRINTER = Printer(DEFAULT_COLUMNS, default_cells)


def printer_for(info: KindInfo) -> Printer:
    """The printer of a kind; Name and Age for kinds without one."""
    return PRINTERS.get(info.kind, DEFAULT_PRINTER)


def table_of(
    info: KindInfo,
    objects: Sequence[Obj],
    include_object: IncludeObject = "Metadata",
    *,
    list_meta: ListMeta | None = None,
    now: datetime | None = None,
) -> Table:
    """The Table of `objects` (all of kind `info`), one row each, in order.

    `include_object` says what each row carries besides its cells: nothing (``None``), the
    object's metadata as a PartialObjectMetadata (``Metadata``, the default), or the whole object
    (``Object``). `list_meta` becomes the Table's metadata; without it, a table of one object
    carries that object's resourceVersion. Ages are computed as of `now` (default: the current time).
    """
    printer = PRINTERS.get(info.kind, DEFAULT_PRINTER)
    cells_of = printer.cells
    clock = (now if now is not None else datetime.now(UTC)).timestamp()
    construct = TableRow.model_construct
    if include_object == "Object":
        rows = [construct(cells=cells_of(obj, clock), object=obj) for obj in objects]
    elif include_object == "None":
        rows = [construct(cells=cells_of(obj, clock), object=None) for obj in objects]
    else:
        rows = [construct(cells=cells_of(obj, clock), object=partial_metadata(obj)) for obj in objects]
    if list_meta is None:
        version = _metadata(objects[0]).get("resourceVersion") if len(objects) == 1 else None
        list_meta = ListMeta(resource_version=version)
    return Table.model_construct(metadata=list_meta, column_definitions=list(printer.columns), rows=rows)
