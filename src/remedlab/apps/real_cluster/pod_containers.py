"""The containers of a manifest document: a Pod's, or those of a workload's pod template."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

CONTAINER_LISTS = ("initContainers", "containers")


def pod_spec(doc: dict[str, Any]) -> dict[str, Any] | None:
    """The pod spec a document holds: a Pod's own, a workload's template's, a CronJob's job's; else None."""
    kind = doc.get("kind")
    spec = doc.get("spec")
    if not isinstance(spec, dict):
        return None
    if kind == "Pod":
        return spec
    if kind == "CronJob":
        spec = (spec.get("jobTemplate") or {}).get("spec") or {}
    template = spec.get("template")
    if isinstance(template, dict) and isinstance(template.get("spec"), dict):
        result: dict[str, Any] = template["spec"]
        return result
    return None


def containers(doc: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every container (init containers first) of the document's pods, as mutable parts of `doc`."""
    spec = pod_spec(doc)
    if spec is None:
        return
    for key in CONTAINER_LISTS:
        for container in spec.get(key) or []:
            if isinstance(container, dict):
                yield container
