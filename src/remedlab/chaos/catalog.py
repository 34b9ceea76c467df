"""The fault catalog (catalog.yaml): named faults → chaos resources aimed at a target service."""

from __future__ import annotations

import copy
import secrets
from dataclasses import dataclass
from importlib import resources
from typing import Any

import yaml

from remedlab.api.client import Backend
from remedlab.api.errors import BadRequest, NotFound
from remedlab.api.kinds import BY_KIND


@dataclass(frozen=True)
class CatalogFault:
    name: str
    category: str
    kind: str
    spec: dict[str, Any]
    truth: dict[str, str]
    volume: str | None = None
    """IOChaos: the mount path aimed at when the target mounts a volume there (else its first volume)."""


def load_catalog() -> dict[str, CatalogFault]:
    text = resources.files("remedlab.chaos").joinpath("catalog.yaml").read_text()
    data = yaml.safe_load(text) or {}
    return {
        name: CatalogFault(
            name,
            str(entry["category"]),
            str(entry["kind"]),
            dict(entry["spec"]),
            dict(entry["truth"]),
            str(entry["volume"]) if entry.get("volume") else None,
        )
        for name, entry in (data.get("faults") or {}).items()
    }


def fault_names() -> list[str]:
    return sorted(load_catalog())


def get_fault(name: str) -> CatalogFault:
    catalog = load_catalog()
    if name not in catalog:
        raise BadRequest(f'unknown fault type "{name}": choose one of {", ".join(sorted(catalog))}')
    return catalog[name]


def parse_override(text: str) -> tuple[list[str], Any]:
    """`a.b.c=value` → (["a", "b", "c"], value parsed as a YAML scalar)."""
    if "=" not in text:
        raise BadRequest(f'--set "{text}": use key=value, e.g. stressors.cpu.workers=4 or delay.latency=200ms')
    key, raw = text.split("=", 1)
    path = [p for p in key.strip().split(".") if p]
    if not path:
        raise BadRequest(f'--set "{text}": the key is empty')
    try:
        value = yaml.safe_load(raw) if raw.strip() else ""
    except yaml.YAMLError:
        value = raw
    return path, value


def apply_overrides(spec: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    out = copy.deepcopy(spec)
    for text in overrides:
        path, value = parse_override(text)
        if path[0] == "spec":
            path = path[1:]
        node = out
        for part in path[:-1]:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise BadRequest(f'--set "{text}": {part} is not a map')
            node = child
        node[path[-1]] = value
    return out


def _target_workload(backend: Backend, namespace: str, target: str) -> tuple[dict[str, str], dict[str, Any] | None]:
    """The labels that select the target's pods, and its Deployment (or StatefulSet) when it has one."""
    for kind in ("deployments", "statefulsets"):
        try:
            workload = backend.get(kind, namespace, target)
        except NotFound:
            continue
        return dict(workload["spec"]["selector"].get("matchLabels") or {}), workload
    try:
        service = backend.get("services", namespace, target)
    except NotFound:
        raise BadRequest(
            f'unknown target "{target}" in namespace {namespace}: name a deployment or service there'
        ) from None
    selector = dict(service["spec"].get("selector") or {})
    if not selector:
        raise BadRequest(f'target service "{target}" has no selector, so no pods to inject into')
    return selector, None


def build_chaos(
    backend: Backend,
    fault_name: str,
    target: str,
    namespace: str,
    overrides: list[str] | None = None,
    name: str | None = None,
) -> dict[str, Any]:
    """The chaos resource for `fault_name` aimed at `target`'s pods (validated later, on create)."""
    fault = get_fault(fault_name)
    labels, deployment = _target_workload(backend, namespace, target)
    spec = copy.deepcopy(fault.spec)
    spec["selector"] = {"namespaces": [namespace], "labelSelectors": labels}
    template = (deployment or {}).get("spec", {}).get("template", {}).get("spec", {})
    containers = template.get("containers") or []
    if fault.kind == "IOChaos" and "volumePath" not in spec:
        mounts = [str(m["mountPath"]) for c in containers for m in c.get("volumeMounts") or []]
        if mounts:
            spec["volumePath"] = fault.volume if fault.volume in mounts else mounts[0]
    if fault.kind == "HTTPChaos" and "port" not in spec:
        ports = [p["containerPort"] for c in containers for p in c.get("ports") or []]
        if ports:
            spec["port"] = ports[0]
    if fault.kind == "PodChaos" and spec.get("action") == "container-kill" and "containerNames" not in spec:
        spec["containerNames"] = [containers[0]["name"]] if containers else [target]
    if fault.kind == "FunctionalChaos":
        spec.setdefault("deployment", target)
    spec = apply_overrides(spec, overrides or [])
    if fault.kind == "IOChaos" and "volumePath" not in spec:
        raise BadRequest(f'target "{target}" mounts no volume: give one with --set volumePath=/path')
    info = BY_KIND[fault.kind]
    return {
        "apiVersion": info.api_version,
        "kind": fault.kind,
        "metadata": {
            "name": name or f"{fault_name}-{target}-{secrets.token_hex(3)}"[:63],
            "namespace": namespace,
            "labels": {"chaos.remedlab.io/fault": fault_name, "chaos.remedlab.io/target": target},
            "annotations": {
                "chaos.remedlab.io/category": fault.category,
                "chaos.remedlab.io/system-level": fault.truth.get("system_level", ""),
                "chaos.remedlab.io/fault-type": fault.truth.get("fault_type", ""),
            },
        },
        "spec": spec,
    }
