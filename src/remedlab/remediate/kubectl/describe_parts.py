"""Building blocks of `kubectl describe` output: the indented, tab-aligned writer and the
sections several kinds share (labels, containers, volumes, pod templates, events)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from remedlab.remediate.kubectl.fields import (
    JsonObject,
    dig,
    get_bool,
    get_dict,
    get_dicts,
    get_int,
    get_list,
    get_str,
    str_map,
)
from remedlab.remediate.kubectl.humanize import age, format_rfc1123z, parse_timestamp
from remedlab.remediate.kubectl.tabwriter import align_describe

LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
MAX_ANNOTATION_LENGTH = 140
_INDENT = "  "


class DescribeWriter:
    """Collects text written at indentation levels; `render` aligns the tab-separated cells."""

    def __init__(self) -> None:
        self._blocks: list[list[str]] = [[]]

    def write(self, level: int, text: str) -> None:
        self._blocks[-1].append(_INDENT * level + text)

    def write_if(self, level: int, title: str, value: str) -> None:
        """Write a `title:\tvalue` line, unless `value` is empty."""
        if value:
            self.write(level, f"{title}:\t{value}\n")

    def line(self, text: str = "") -> None:
        self._blocks[-1].append(text + "\n")

    def flush(self) -> None:
        """End an alignment block: what follows is aligned on its own."""
        self._blocks.append([])

    def render(self) -> str:
        return "".join(align_describe("".join(block)) for block in self._blocks)


def bool_text(value: bool) -> str:
    return "True" if value else "False"


def lower_bool_text(value: bool) -> str:
    """`true` or `false`, as kubectl shows optional and read-only settings."""
    return "true" if value else "false"


def number_text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


# ---------------------------------------------------------------------- metadata


def write_labels(w: DescribeWriter, title: str, labels: Mapping[str, str], indent: str = "") -> None:
    w.write(0, f"{indent}{title}:\t")
    if not labels:
        w.line("<none>")
        return
    for index, key in enumerate(sorted(labels)):
        if index:
            w.write(0, f"{indent}\t")
        w.write(0, f"{key}={labels[key]}\n")


def write_annotations(w: DescribeWriter, title: str, annotations: Mapping[str, str]) -> None:
    w.write(0, f"{title}:\t")
    keys = sorted(k for k in annotations if k != LAST_APPLIED)
    if not keys:
        w.line("<none>")
        return
    for index, key in enumerate(keys):
        if index:
            w.write(0, "\t")
        value = annotations[key].removesuffix("\n")
        if len(value) + len(key) + 2 > MAX_ANNOTATION_LENGTH or "\n" in value:
            w.write(0, f"{key}:\n")
            for part in value.split("\n"):
                w.write(0, f"\t  {_shorten(part, MAX_ANNOTATION_LENGTH - 2)}\n")
        else:
            w.write(0, f"{key}: {value}\n")


def _shorten(text: str, limit: int) -> str:
    return text[:limit] + "..." if len(text) > limit else text


def write_tolerations(w: DescribeWriter, title: str, tolerations: Sequence[JsonObject], indent: str = "") -> None:
    w.write(0, f"{indent}{title}:\t")
    if not tolerations:
        w.line("<none>")
        return
    for index, toleration in enumerate(sorted(tolerations, key=lambda t: get_str(t, "key"))):
        if index:
            w.write(0, f"{indent}\t")
        text = get_str(toleration, "key")
        if get_str(toleration, "value"):
            text += "=" + get_str(toleration, "value")
        if get_str(toleration, "effect"):
            text += ":" + get_str(toleration, "effect")
        if get_str(toleration, "operator") == "Exists" and not get_str(toleration, "value"):
            text += " op=Exists" if text else "op=Exists"
        if dig(toleration, "tolerationSeconds") is not None:
            text += f" for {get_int(toleration, 'tolerationSeconds')}s"
        w.write(0, text + "\n")


def controller_of(obj: JsonObject) -> str:
    for ref in get_dicts(obj, "metadata", "ownerReferences"):
        if dig(ref, "controller") is True:
            return f"{get_str(ref, 'kind')}/{get_str(ref, 'name')}"
    return ""


# ---------------------------------------------------------------------- containers


def _ports(ports: Sequence[JsonObject], key: str) -> str:
    return ", ".join(f"{get_int(p, key)}/{get_str(p, 'protocol') or 'TCP'}" for p in ports)


def describe_probe(probe: JsonObject) -> str:
    attrs = (
        f"delay={number_text(dig(probe, 'initialDelaySeconds') or 0)}s "
        f"timeout={number_text(dig(probe, 'timeoutSeconds') or 1)}s "
        f"period={number_text(dig(probe, 'periodSeconds') or 10)}s "
        f"#success={get_int(probe, 'successThreshold', default=1)} "
        f"#failure={get_int(probe, 'failureThreshold', default=3)}"
    )
    if dig(probe, "exec") is not None:
        command = " ".join(str(c) for c in get_list(probe, "exec", "command"))
        return f"exec [{command}] {attrs}"
    http_get = get_dict(probe, "httpGet")
    if http_get:
        scheme = (get_str(http_get, "scheme") or "HTTP").lower()
        host = get_str(http_get, "host")
        port = get_str(http_get, "port")
        if ":" in host:
            host = f"[{host}]"
        path = get_str(http_get, "path")
        return f"http-get {scheme}://{host}:{port}{path} {attrs}"
    tcp = get_dict(probe, "tcpSocket")
    if tcp:
        return f"tcp-socket {get_str(tcp, 'host')}:{get_str(tcp, 'port')} {attrs}"
    grpc = get_dict(probe, "grpc")
    if grpc:
        return f"grpc <pod>:{get_int(grpc, 'port')} {get_str(grpc, 'service')} {attrs}"
    return f"unknown {attrs}"


def _write_state(w: DescribeWriter, title: str, state: JsonObject) -> None:
    running = dig(state, "running")
    waiting = dig(state, "waiting")
    terminated = dig(state, "terminated")
    if running is not None:
        w.write(2, f"{title}:\tRunning\n")
        w.write(3, f"Started:\t{format_rfc1123z(dig(running, 'startedAt'))}\n")
    elif waiting is not None:
        w.write(2, f"{title}:\tWaiting\n")
        w.write_if(3, "Reason", get_str(waiting, "reason"))
    elif terminated is not None:
        w.write(2, f"{title}:\tTerminated\n")
        w.write_if(3, "Reason", get_str(terminated, "reason"))
        w.write_if(3, "Message", get_str(terminated, "message"))
        w.write(3, f"Exit Code:\t{get_int(terminated, 'exitCode')}\n")
        if get_int(terminated, "signal") > 0:
            w.write(3, f"Signal:\t{get_int(terminated, 'signal')}\n")
        w.write(3, f"Started:\t{format_rfc1123z(dig(terminated, 'startedAt'))}\n")
        w.write(3, f"Finished:\t{format_rfc1123z(dig(terminated, 'finishedAt'))}\n")
    else:
        w.write(2, f"{title}:\tWaiting\n")


def _env_line(env: JsonObject) -> list[str]:
    name = get_str(env, "name")
    source = get_dict(env, "valueFrom")
    if not source:
        parts = get_str(env, "value").split("\n")
        return [f"{name}:\t{parts[0]}\n"] + [f"\t{part}\n" for part in parts[1:]]
    if get_dict(source, "fieldRef"):
        ref = get_dict(source, "fieldRef")
        return [f"{name}:\t ({get_str(ref, 'apiVersion') or 'v1'}:{get_str(ref, 'fieldPath')})\n"]
    if get_dict(source, "resourceFieldRef"):
        return [f"{name}:\t ({get_str(source, 'resourceFieldRef', 'resource')})\n"]
    for key, holder in (("secretKeyRef", "in secret"), ("configMapKeyRef", "of config map")):
        ref = get_dict(source, key)
        if ref:
            return [
                f"{name}:\t<set to the key '{get_str(ref, 'key')}' {holder} '{get_str(ref, 'name')}'>"
                f"\tOptional: {_optional(ref)}\n"
            ]
    return [f"{name}:\t\n"]


def _optional(ref: JsonObject) -> str:
    return lower_bool_text(get_bool(ref, "optional"))


def write_containers(
    w: DescribeWriter,
    label: str,
    containers: Sequence[JsonObject],
    statuses: Sequence[JsonObject] | None,
    space: str = "",
) -> None:
    by_name = {get_str(s, "name"): s for s in statuses or []}
    w.write(0, f"{space}{label}:\n")
    if not containers:
        w.write(1, "<none>\n")
    for container in containers:
        name = get_str(container, "name")
        status = by_name.get(name)
        w.write(1, f"{' ' if space else ''}{name}:\n")
        if status is not None:
            w.write(2, f"Container ID:\t{get_str(status, 'containerID')}\n")
        w.write(2, f"Image:\t{get_str(container, 'image')}\n")
        if status is not None:
            w.write(2, f"Image ID:\t{get_str(status, 'imageID')}\n")
        ports = get_dicts(container, "ports")
        port_text = _ports(ports, "containerPort")
        host_text = _ports(ports, "hostPort")
        w.write(2, f"Ports:\t{port_text}\n" if "," in port_text else f"Port:\t{port_text or '<none>'}\n")
        w.write(2, f"Host Ports:\t{host_text}\n" if "," in host_text else f"Host Port:\t{host_text or '<none>'}\n")
        for title, key in (("Command", "command"), ("Args", "args")):
            values = get_list(container, key)
            if values:
                w.write(2, f"{title}:\n")
                for value in values:
                    for part in str(value).split("\n"):
                        w.write(3, f"{part}\n")
        if status is not None:
            _write_state(w, "State", get_dict(status, "state"))
            if dig(status, "lastState", "terminated") is not None:
                _write_state(w, "Last State", get_dict(status, "lastState"))
            w.write(2, f"Ready:\t{bool_text(get_bool(status, 'ready'))}\n")
            w.write(2, f"Restart Count:\t{get_int(status, 'restartCount')}\n")
        for title, key in (("Limits", "limits"), ("Requests", "requests")):
            values_map = str_map(container, "resources", key)
            if values_map:
                w.write(2, f"{title}:\n")
                for resource in sorted(values_map):
                    w.write(3, f"{resource}:\t{values_map[resource]}\n")
        for title, key in (("Liveness", "livenessProbe"), ("Readiness", "readinessProbe"), ("Startup", "startupProbe")):
            probe = get_dict(container, key)
            if probe:
                w.write(2, f"{title}:\t{describe_probe(probe)}\n")
        env_from = get_dicts(container, "envFrom")
        if env_from:
            w.write(2, "Environment Variables from:\n")
            for source in env_from:
                if get_dict(source, "configMapRef"):
                    kind, ref = "ConfigMap", get_dict(source, "configMapRef")
                else:
                    kind, ref = "Secret", get_dict(source, "secretRef")
                prefix = get_str(source, "prefix")
                described = f"{kind} with prefix '{prefix}'" if prefix else kind
                w.write(3, f"{get_str(ref, 'name')}\t{described}\tOptional: {_optional(ref)}\n")
        env = get_dicts(container, "env")
        w.write(2, "Environment:\n" if env else "Environment:\t<none>\n")
        for item in env:
            for text in _env_line(item):
                w.write(3, text)
        mounts = sorted(get_dicts(container, "volumeMounts"), key=lambda m: get_str(m, "mountPath"))
        w.write(2, "Mounts:\n" if mounts else "Mounts:\t<none>\n")
        for mount in mounts:
            flags = ["ro" if get_bool(mount, "readOnly") else "rw"]
            if get_str(mount, "subPath"):
                flags.append(f'path="{get_str(mount, "subPath")}"')
            w.write(3, f"{get_str(mount, 'mountPath')} from {get_str(mount, 'name')} ({','.join(flags)})\n")


def write_volumes(w: DescribeWriter, volumes: Sequence[JsonObject], space: str = "") -> None:
    if not volumes:
        w.write(0, f"{space}Volumes:\t<none>\n")
        return
    w.write(0, f"{space}Volumes:\n")
    for volume in volumes:
        w.write(1, f"{' ' if space else ''}{get_str(volume, 'name')}:\n")
        if get_dict(volume, "hostPath"):
            source = get_dict(volume, "hostPath")
            w.write(2, "Type:\tHostPath (bare host directory volume)\n")
            w.write(2, f"Path:\t{get_str(source, 'path')}\n")
            w.write(2, f"HostPathType:\t{get_str(source, 'type') or '<none>'}\n")
        elif "emptyDir" in volume:
            source = get_dict(volume, "emptyDir")
            w.write(2, "Type:\tEmptyDir (a temporary directory that shares a pod's lifetime)\n")
            w.write(2, f"Medium:\t{get_str(source, 'medium')}\n")
            w.write(2, f"SizeLimit:\t{get_str(source, 'sizeLimit') or '<unset>'}\n")
        elif get_dict(volume, "secret"):
            source = get_dict(volume, "secret")
            w.write(2, "Type:\tSecret (a volume populated by a Secret)\n")
            w.write(2, f"SecretName:\t{get_str(source, 'secretName')}\n")
            w.write(2, f"Optional:\t{_optional(source)}\n")
        elif get_dict(volume, "configMap"):
            source = get_dict(volume, "configMap")
            w.write(2, "Type:\tConfigMap (a volume populated by a ConfigMap)\n")
            w.write(2, f"Name:\t{get_str(source, 'name')}\n")
            w.write(2, f"Optional:\t{_optional(source)}\n")
        elif get_dict(volume, "persistentVolumeClaim"):
            source = get_dict(volume, "persistentVolumeClaim")
            w.write(
                2,
                "Type:\tPersistentVolumeClaim (a reference to a PersistentVolumeClaim in the same namespace)\n",
            )
            w.write(2, f"ClaimName:\t{get_str(source, 'claimName')}\n")
            w.write(2, f"ReadOnly:\t{lower_bool_text(get_bool(source, 'readOnly'))}\n")
        else:
            w.write(1, "<unknown>\n")


def write_pod_template(w: DescribeWriter, template: JsonObject) -> None:
    w.write(0, "Pod Template:\n")
    if not template:
        w.write(1, "<unset>")
        return
    spec = get_dict(template, "spec")
    write_labels(w, "  Labels", str_map(template, "metadata", "labels"))
    annotations = str_map(template, "metadata", "annotations")
    if annotations:
        write_annotations(w, "  Annotations", annotations)
    w.write_if(1, "Service Account", get_str(spec, "serviceAccountName"))
    if get_dicts(spec, "initContainers"):
        write_containers(w, "Init Containers", get_dicts(spec, "initContainers"), None, "  ")
    write_containers(w, "Containers", get_dicts(spec, "containers"), None, "  ")
    write_volumes(w, get_dicts(spec, "volumes"), "  ")
    w.write_if(1, "Priority Class Name", get_str(spec, "priorityClassName"))
    write_labels(w, "  Node-Selectors", str_map(spec, "nodeSelector"))
    write_tolerations(w, "  Tolerations", get_dicts(spec, "tolerations"))


# ---------------------------------------------------------------------- events


def _event_sort_key(event: JsonObject) -> float:
    for key in ("lastTimestamp", "eventTime", "firstTimestamp"):
        parsed = parse_timestamp(dig(event, key))
        if parsed is not None:
            return parsed.timestamp()
    return 0.0


def sort_events(events: Sequence[JsonObject]) -> list[JsonObject]:
    return sorted(events, key=_event_sort_key)


def write_events(w: DescribeWriter, events: Sequence[JsonObject] | None, now: float) -> None:
    if events is None:
        return
    if not events:
        w.write(0, "Events:\t<none>\n")
        return
    w.flush()
    w.write(0, "Events:\n  Type\tReason\tAge\tFrom\tMessage\n")
    w.write(1, "----\t------\t----\t----\t-------\n")
    for event in sort_events(events):
        first = age(dig(event, "eventTime") or dig(event, "firstTimestamp"), now)
        count = get_int(event, "count")
        series = get_dict(event, "series")
        if series:
            interval = f"{age(dig(series, 'lastObservedTime'), now)} (x{get_int(series, 'count')} over {first})"
        elif count > 1:
            interval = f"{age(dig(event, 'lastTimestamp'), now)} (x{count} over {first})"
        else:
            interval = first
        source = get_str(event, "source", "component") or get_str(event, "reportingController")
        message = get_str(event, "message").strip()
        w.write(1, f"{get_str(event, 'type')}\t{get_str(event, 'reason')}\t{interval}\t{source}\t{message}\n")
