"""A container's environment: service links, env/envFrom, downward API, mounts."""

from __future__ import annotations

import base64
import json
import re
from typing import Any

from remedlab.api.image_map import CONTAINER_PATH
from remedlab.api.kinds import Obj
from remedlab.api.quantity import cpu_millicores, memory_bytes
from remedlab.cluster.apiserver.store import Store
from remedlab.cluster.node.pod_dns import pod_hostname

BASE_ENV = {
    "PATH": CONTAINER_PATH,
    "LANG": "C.UTF-8",
    "PYTHONUNBUFFERED": "1",
    "PYTHONDONTWRITEBYTECODE": "1",
}


class ConfigError(Exception):
    """CreateContainerConfigError: a referenced ConfigMap, Secret or key is missing."""


def _env_name(service: str) -> str:
    return re.sub(r"[^A-Z0-9_]", "_", service.upper())


def service_links(store: Store, namespace: str) -> dict[str, str]:
    """Kubernetes' service environment variables for every Service of the namespace."""
    env: dict[str, str] = {}
    for svc in store.list_objects("Service", namespace):
        ip = svc["spec"].get("clusterIP")
        ports = svc["spec"].get("ports") or []
        if not ip or ip == "None" or not ports:
            continue
        prefix = _env_name(svc["metadata"]["name"])
        env[f"{prefix}_SERVICE_HOST"] = ip
        env[f"{prefix}_SERVICE_PORT"] = str(ports[0]["port"])
        env[f"{prefix}_PORT"] = f"tcp://{ip}:{ports[0]['port']}"
        for port in ports:
            proto = port.get("protocol", "TCP")
            if port.get("name"):
                env[f"{prefix}_SERVICE_PORT_{_env_name(port['name'])}"] = str(port["port"])
            base = f"{prefix}_PORT_{port['port']}_{proto}"
            env[base] = f"{proto.lower()}://{ip}:{port['port']}"
            env[f"{base}_PROTO"] = proto.lower()
            env[f"{base}_PORT"] = str(port["port"])
            env[f"{base}_ADDR"] = ip
    return env


def _lookup(store: Store, namespace: str, kind: str, ref: dict[str, Any]) -> str | None:
    obj = store.get(kind, namespace, ref["name"])
    label = "configmap" if kind == "ConfigMap" else "secret"
    if obj is None:
        if ref.get("optional"):
            return None
        raise ConfigError(f'{label} "{ref["name"]}" not found')
    if kind == "Secret":
        value = (obj.get("stringData") or {}).get(ref["key"])
        if value is None and ref["key"] in (obj.get("data") or {}):
            value = base64.b64decode(obj["data"][ref["key"]]).decode()
    else:
        value = (obj.get("data") or {}).get(ref["key"])
    if value is None and not ref.get("optional"):
        raise ConfigError(f"couldn't find key {ref['key']} in {label} {namespace}/{ref['name']}")
    return value


def _field_ref(pod: Obj, path: str) -> str:
    meta = pod["metadata"]
    values = {
        "metadata.name": meta["name"],
        "metadata.namespace": meta["namespace"],
        "metadata.uid": meta.get("uid", ""),
        "spec.nodeName": pod["spec"].get("nodeName", ""),
        "spec.serviceAccountName": pod["spec"].get("serviceAccountName", "default"),
        "status.podIP": pod.get("status", {}).get("podIP", ""),
        "status.hostIP": pod.get("status", {}).get("hostIP", ""),
    }
    match = re.match(r"metadata\.(labels|annotations)\['(.+)'\]", path)
    if match:
        return str((meta.get(match.group(1)) or {}).get(match.group(2), ""))
    return str(values.get(path, ""))


def _resource_ref(container: dict[str, Any], ref: dict[str, Any]) -> str:
    resource = ref["resource"]
    kind, _, name = resource.partition(".")
    raw = (container.get("resources") or {}).get(kind, {}).get(name)
    if raw is None:
        return "0"
    if name == "cpu":
        return str(max(1, -(-cpu_millicores(raw) // 1000)))
    return str(memory_bytes(raw))


def expand(text: str, env: dict[str, str]) -> str:
    """`$(VAR)` references, as Kubernetes expands them in env, command and args."""
    return re.sub(
        r"\$\$|\$\(([A-Za-z_][A-Za-z0-9_]*)\)",
        lambda m: env.get(m.group(1), m.group(0)) if m.group(1) else "$",
        text,
    )


def container_env(
    store: Store,
    pod: Obj,
    container: dict[str, Any],
    mounts: dict[str, str] | None,
    home: str,
) -> dict[str, str]:
    """A container's environment; `mounts` (container path -> host path) is passed in REMEDLAB_MOUNTS
    when the pod has no mount namespace of its own (None: it has, and container paths are real)."""
    namespace = pod["metadata"]["namespace"]
    env = dict(BASE_ENV)
    env["HOME"] = home
    env["HOSTNAME"] = pod_hostname(pod["metadata"]["name"], pod["spec"])
    if pod["spec"].get("enableServiceLinks", True) is not False:
        env.update(service_links(store, namespace))
    for source in container.get("envFrom") or []:
        prefix = source.get("prefix") or ""
        for kind, key in (("ConfigMap", "configMapRef"), ("Secret", "secretRef")):
            ref = source.get(key)
            if not ref:
                continue
            obj = store.get(kind, namespace, ref["name"])
            if obj is None:
                if ref.get("optional"):
                    continue
                raise ConfigError(f'{kind.lower()} "{ref["name"]}" not found')
            data = dict(obj.get("data") or {})
            if kind == "Secret":
                data = {k: base64.b64decode(v).decode() for k, v in data.items()}
                data.update(obj.get("stringData") or {})
            for k, v in data.items():
                env[prefix + k] = v
    for var in container.get("env") or []:
        value: str | None
        if "valueFrom" in var:
            source = var["valueFrom"]
            if "configMapKeyRef" in source:
                value = _lookup(store, namespace, "ConfigMap", source["configMapKeyRef"])
            elif "secretKeyRef" in source:
                value = _lookup(store, namespace, "Secret", source["secretKeyRef"])
            elif "fieldRef" in source:
                value = _field_ref(pod, source["fieldRef"]["fieldPath"])
            elif "resourceFieldRef" in source:
                value = _resource_ref(container, source["resourceFieldRef"])
            else:
                value = None
        else:
            value = expand(str(var.get("value", "")), env)
        if value is not None:
            env[var["name"]] = value
    pod_ip = pod.get("status", {}).get("podIP")
    if pod_ip:
        env["REMEDLAB_POD_IP"] = pod_ip
    env["REMEDLAB_POD_NAME"] = pod["metadata"]["name"]
    env["REMEDLAB_POD_NAMESPACE"] = namespace
    if mounts is not None:
        env["REMEDLAB_MOUNTS"] = json.dumps(mounts, sort_keys=True)
    return env
