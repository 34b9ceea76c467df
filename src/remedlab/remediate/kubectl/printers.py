"""The tables of `kubectl get`: columns and cells for every kind."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from remedlab.api.kinds import KindInfo
from remedlab.remediate.kubectl.fields import (
    JsonObject,
    dig,
    get_dict,
    get_dicts,
    get_int,
    get_list,
    get_str,
    name_of,
    namespace_of,
    str_map,
)
from remedlab.remediate.kubectl.humanize import age
from remedlab.remediate.kubectl.pod_status import summarize_pod
from remedlab.remediate.kubectl.selectors import format_label_selector, format_labels
from remedlab.remediate.kubectl.tabwriter import rows_to_table

RowBuilder = Callable[[JsonObject, float, bool], list[str]]

_ACCESS_MODES = {
    "ReadWriteOnce": "RWO",
    "ReadOnlyMany": "ROX",
    "ReadWriteMany": "RWX",
    "ReadWriteOncePod": "RWOP",
}


@dataclass(frozen=True)
class TableLayout:
    columns: tuple[str, ...]
    wide_columns: tuple[str, ...]
    row: RowBuilder

    def headers(self, wide: bool) -> list[str]:
        return list(self.columns) + (list(self.wide_columns) if wide else [])


def _or_none(text: str) -> str:
    return text if text else "<none>"


def creation_age(obj: JsonObject, now: float) -> str:
    """How long ago `obj` was created, as the AGE column shows it."""
    return age(dig(obj, "metadata", "creationTimestamp"), now)


# ---------------------------------------------------------------------- pods


def _pod_row(pod: JsonObject, now: float, wide: bool) -> list[str]:
    summary = summarize_pod(pod)
    cells = [
        name_of(pod),
        summary.ready_cell,
        summary.status,
        summary.restarts_cell(now),
        creation_age(pod, now),
    ]
    if wide:
        pod_ips = get_dicts(pod, "status", "podIPs")
        ip = get_str(pod_ips[0], "ip") if pod_ips else get_str(pod, "status", "podIP")
        gates = get_dicts(pod, "spec", "readinessGates")
        cells += [
            _or_none(ip),
            _or_none(get_str(pod, "spec", "nodeName")),
            _or_none(get_str(pod, "status", "nominatedNodeName")),
            _readiness_gates(pod, gates),
        ]
    return cells


def _readiness_gates(pod: JsonObject, gates: list[JsonObject]) -> str:
    if not gates:
        return "<none>"
    conditions = {get_str(c, "type"): get_str(c, "status") for c in get_dicts(pod, "status", "conditions")}
    ready = sum(1 for g in gates if conditions.get(get_str(g, "conditionType")) == "True")
    return f"{ready}/{len(gates)}"


# ---------------------------------------------------------------------- workloads


def _workload_wide_cells(obj: JsonObject) -> list[str]:
    """The CONTAINERS, IMAGES and SELECTOR cells of a deployment or replica set."""
    containers = get_dicts(obj, "spec", "template", "spec", "containers")
    return [
        ",".join(get_str(c, "name") for c in containers),
        ",".join(get_str(c, "image") for c in containers),
        format_label_selector(get_dict(obj, "spec", "selector")),
    ]


def _deployment_row(obj: JsonObject, now: float, wide: bool) -> list[str]:
    desired = get_int(obj, "spec", "replicas", default=1)
    cells = [
        name_of(obj),
        f"{get_int(obj, 'status', 'readyReplicas')}/{desired}",
        str(get_int(obj, "status", "updatedReplicas")),
        str(get_int(obj, "status", "availableReplicas")),
        creation_age(obj, now),
    ]
    if wide:
        cells += _workload_wide_cells(obj)
    return cells


def _replicaset_row(obj: JsonObject, now: float, wide: bool) -> list[str]:
    cells = [
        name_of(obj),
        str(get_int(obj, "spec", "replicas", default=1)),
        str(get_int(obj, "status", "replicas")),
        str(get_int(obj, "status", "readyReplicas")),
        creation_age(obj, now),
    ]
    if wide:
        cells += _workload_wide_cells(obj)
    return cells


# ---------------------------------------------------------------------- networking


def service_ports(service: JsonObject) -> str:
    parts = []
    for port in get_dicts(service, "spec", "ports"):
        protocol = get_str(port, "protocol") or "TCP"
        node_port = get_int(port, "nodePort")
        if node_port:
            parts.append(f"{get_int(port, 'port')}:{node_port}/{protocol}")
        else:
            parts.append(f"{get_int(port, 'port')}/{protocol}")
    return ",".join(parts) if parts else "<none>"


def _external_ip(service: JsonObject) -> str:
    service_type = get_str(service, "spec", "type") or "ClusterIP"
    external_ips = [str(ip) for ip in get_list(service, "spec", "externalIPs")]
    if service_type in ("ClusterIP", "NodePort"):
        return ",".join(external_ips) if external_ips else "<none>"
    if service_type == "LoadBalancer":
        ingress = [
            get_str(i, "ip") or get_str(i, "hostname") for i in get_dicts(service, "status", "loadBalancer", "ingress")
        ]
        found = [ip for ip in ingress + external_ips if ip]
        return ",".join(found) if found else "<pending>"
    if service_type == "ExternalName":
        return get_str(service, "spec", "externalName")
    return "<unknown>"


def _service_row(obj: JsonObject, now: float, wide: bool) -> list[str]:
    cells = [
        name_of(obj),
        get_str(obj, "spec", "type") or "ClusterIP",
        _or_none(get_str(obj, "spec", "clusterIP")),
        _external_ip(obj),
        service_ports(obj),
        creation_age(obj, now),
    ]
    if wide:
        cells.append(format_labels(str_map(obj, "spec", "selector")))
    return cells


def format_endpoints(endpoints: JsonObject, port_name: str | None = None, limit: int = 3) -> str:
    """`10.0.0.1:5000,10.0.0.2:5000 + 2 more...`, `<none>` when there are no ready addresses."""
    subsets = get_dicts(endpoints, "subsets")
    listed: list[str] = []
    count = 0
    more = False
    for subset in subsets:
        addresses = [get_str(a, "ip") for a in get_dicts(subset, "addresses")]
        ports = get_dicts(subset, "ports")
        if not ports:
            count += len(addresses)
            for ip in addresses:
                if len(listed) == limit:
                    more = True
                    break
                listed.append(ip)
            continue
        for port in ports:
            if port_name is not None and get_str(port, "name") != port_name:
                continue
            count += len(addresses)
            for ip in addresses:
                if len(listed) == limit:
                    more = True
                    break
                host = f"[{ip}]" if ":" in ip else ip
                listed.append(f"{host}:{get_int(port, 'port')}")
    text = ",".join(listed)
    if more:
        return f"{text} + {count - limit} more..."
    return text or "<none>"


def _endpoints_row(obj: JsonObject, now: float, wide: bool) -> list[str]:
    return [name_of(obj), format_endpoints(obj), creation_age(obj, now)]


# ---------------------------------------------------------------------- config and storage


def _configmap_row(obj: JsonObject, now: float, wide: bool) -> list[str]:
    count = len(get_dict(obj, "data")) + len(get_dict(obj, "binaryData"))
    return [name_of(obj), str(count), creation_age(obj, now)]


def _secret_row(obj: JsonObject, now: float, wide: bool) -> list[str]:
    count = len(get_dict(obj, "data")) + len(get_dict(obj, "stringData"))
    return [
        name_of(obj),
        get_str(obj, "type") or "Opaque",
        str(count),
        creation_age(obj, now),
    ]


def _pvc_row(obj: JsonObject, now: float, wide: bool) -> list[str]:
    phase = get_str(obj, "status", "phase") or "Pending"
    if dig(obj, "metadata", "deletionTimestamp") is not None:
        phase = "Terminating"
    modes = [str(m) for m in get_list(obj, "status", "accessModes") or get_list(obj, "spec", "accessModes")]
    capacity = get_str(obj, "status", "capacity", "storage")
    cells = [
        name_of(obj),
        phase,
        get_str(obj, "spec", "volumeName"),
        capacity,
        ",".join(_ACCESS_MODES.get(m, m) for m in modes),
        get_str(obj, "spec", "storageClassName"),
        get_str(obj, "spec", "volumeAttributesClassName") or "<unset>",
        creation_age(obj, now),
    ]
    if wide:
        cells.append(get_str(obj, "spec", "volumeMode") or "Filesystem")
    return cells


# ---------------------------------------------------------------------- cluster


def _namespace_row(obj: JsonObject, now: float, wide: bool) -> list[str]:
    return [
        name_of(obj),
        get_str(obj, "status", "phase") or "Active",
        creation_age(obj, now),
    ]


def node_status(node: JsonObject) -> str:
    status = "Unknown"
    for condition in get_dicts(node, "status", "conditions"):
        if get_str(condition, "type") == "Ready":
            value = get_str(condition, "status")
            status = "Ready" if value == "True" else ("NotReady" if value == "False" else "Unknown")
    if dig(node, "spec", "unschedulable") is True:
        status += ",SchedulingDisabled"
    return status


def node_roles(node: JsonObject) -> list[str]:
    roles: set[str] = set()
    for key, value in str_map(node, "metadata", "labels").items():
        if key.startswith("node-role.kubernetes.io/"):
            role = key.removeprefix("node-role.kubernetes.io/")
            if role:
                roles.add(role)
        elif key == "kubernetes.io/role" and value:
            roles.add(value)
    return sorted(roles)


def _node_address(node: JsonObject, address_type: str) -> str:
    for address in get_dicts(node, "status", "addresses"):
        if get_str(address, "type") == address_type:
            return get_str(address, "address")
    return "<none>"


def _node_row(obj: JsonObject, now: float, wide: bool) -> list[str]:
    cells = [
        name_of(obj),
        node_status(obj),
        ",".join(node_roles(obj)) or "<none>",
        creation_age(obj, now),
        get_str(obj, "status", "nodeInfo", "kubeletVersion"),
    ]
    if wide:
        info = get_dict(obj, "status", "nodeInfo")
        cells += [
            _node_address(obj, "InternalIP"),
            _node_address(obj, "ExternalIP"),
            get_str(info, "osImage") or "<unknown>",
            get_str(info, "kernelVersion") or "<unknown>",
            get_str(info, "containerRuntimeVersion") or "<unknown>",
        ]
    return cells


# ---------------------------------------------------------------------- events


def event_times(event: JsonObject, now: float) -> tuple[str, str, int]:
    """(last seen, first seen, count) of an event as kubectl shows them."""
    first = age(dig(event, "firstTimestamp") or dig(event, "eventTime"), now)
    last_raw = dig(event, "lastTimestamp")
    last = age(last_raw, now) if last_raw else first
    count = get_int(event, "count") or 1
    series = get_dict(event, "series")
    if series:
        last = age(dig(series, "lastObservedTime"), now)
        count = get_int(series, "count") or count
    return last, first, count


def event_object(event: JsonObject) -> str:
    kind = get_str(event, "involvedObject", "kind").lower()
    name = get_str(event, "involvedObject", "name")
    return f"{kind}/{name}" if name else kind


def _event_source(event: JsonObject) -> str:
    component = get_str(event, "source", "component") or get_str(event, "reportingComponent")
    host = get_str(event, "source", "host") or get_str(event, "reportingInstance")
    return f"{component}, {host}" if host else component


def _event_row(obj: JsonObject, now: float, wide: bool) -> list[str]:
    last, first, count = event_times(obj, now)
    message = get_str(obj, "message").strip()
    if wide:
        return [
            last,
            get_str(obj, "type"),
            get_str(obj, "reason"),
            event_object(obj),
            get_str(obj, "involvedObject", "fieldPath"),
            _event_source(obj),
            message,
            first,
            str(count),
            name_of(obj),
        ]
    return [last, get_str(obj, "type"), get_str(obj, "reason"), event_object(obj), message]


def _default_row(obj: JsonObject, now: float, wide: bool) -> list[str]:
    return [name_of(obj), creation_age(obj, now)]


LAYOUTS: dict[str, TableLayout] = {
    "Pod": TableLayout(
        ("NAME", "READY", "STATUS", "RESTARTS", "AGE"),
        ("IP", "NODE", "NOMINATED NODE", "READINESS GATES"),
        _pod_row,
    ),
    "Deployment": TableLayout(
        ("NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"), ("CONTAINERS", "IMAGES", "SELECTOR"), _deployment_row
    ),
    "ReplicaSet": TableLayout(
        ("NAME", "DESIRED", "CURRENT", "READY", "AGE"), ("CONTAINERS", "IMAGES", "SELECTOR"), _replicaset_row
    ),
    "Service": TableLayout(
        ("NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE"), ("SELECTOR",), _service_row
    ),
    "Endpoints": TableLayout(("NAME", "ENDPOINTS", "AGE"), (), _endpoints_row),
    "ConfigMap": TableLayout(("NAME", "DATA", "AGE"), (), _configmap_row),
    "Secret": TableLayout(("NAME", "TYPE", "DATA", "AGE"), (), _secret_row),
    "PersistentVolumeClaim": TableLayout(
        ("NAME", "STATUS", "VOLUME", "CAPACITY", "ACCESS MODES", "STORAGECLASS", "VOLUMEATTRIBUTESCLASS", "AGE"),
        ("VOLUMEMODE",),
        _pvc_row,
    ),
    "Namespace": TableLayout(("NAME", "STATUS", "AGE"), (), _namespace_row),
    "Node": TableLayout(
        ("NAME", "STATUS", "ROLES", "AGE", "VERSION"),
        ("INTERNAL-IP", "EXTERNAL-IP", "OS-IMAGE", "KERNEL-VERSION", "CONTAINER-RUNTIME"),
        _node_row,
    ),
    "Event": TableLayout(
        ("LAST SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"),
        ("LAST SEEN", "TYPE", "REASON", "OBJECT", "SUBOBJECT", "SOURCE", "MESSAGE", "FIRST SEEN", "COUNT", "NAME"),
        _event_row,
    ),
}
_DEFAULT_LAYOUT = TableLayout(("NAME", "AGE"), (), _default_row)


@dataclass(frozen=True)
class TableOptions:
    wide: bool = False
    with_namespace: bool = False
    with_kind: bool = False
    show_labels: bool = False
    label_columns: tuple[str, ...] = ()
    no_headers: bool = False


def layout_for(info: KindInfo) -> TableLayout:
    return LAYOUTS.get(info.kind, _DEFAULT_LAYOUT)


def table_rows(info: KindInfo, objects: Sequence[JsonObject], options: TableOptions, now: float) -> list[list[str]]:
    """Header (unless suppressed) and one row per object, with the optional extra columns."""
    layout = layout_for(info)
    # The wide event table repeats every column in a new order rather than appending.
    replaces = info.kind == "Event" and options.wide
    headers = list(layout.wide_columns) if replaces else layout.headers(options.wide)
    extra_labels = [key.strip() for key in options.label_columns if key.strip()]
    headers += [key.rsplit("/", 1)[-1].upper() for key in extra_labels]
    if options.show_labels:
        headers.append("LABELS")
    if options.with_namespace:
        headers.insert(0, "NAMESPACE")
    rows: list[list[str]] = [] if options.no_headers else [headers]
    for obj in objects:
        cells = layout.row(obj, now, options.wide)
        if options.with_kind and info.kind != "Event":
            cells[0] = f"{info.qualified}/{cells[0]}"
        labels = str_map(obj, "metadata", "labels")
        cells += [labels.get(key, "") for key in extra_labels]
        if options.show_labels:
            cells.append(format_labels(labels))
        if options.with_namespace:
            cells.insert(0, namespace_of(obj))
        rows.append(cells)
    return rows


def render_table(info: KindInfo, objects: Sequence[JsonObject], options: TableOptions, now: float) -> str:
    return rows_to_table(table_rows(info, objects, options, now))
