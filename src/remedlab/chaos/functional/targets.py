"""What the functional actions share: the objects an experiment names, and its records."""

from __future__ import annotations

import time
from typing import Any

from remedlab.api.client import Backend
from remedlab.api.errors import BadRequest, NotFound

Obj = dict[str, Any]


def namespace_of(chaos: Obj) -> str:
    return str(chaos["metadata"]["namespace"])


def deployment_of(backend: Backend, chaos: Obj) -> Obj:
    """The deployment ``spec.deployment`` names, in the experiment's namespace."""
    name = (chaos.get("spec") or {}).get("deployment")
    if not name:
        raise BadRequest("spec.deployment names no deployment: give the deployment to change")
    return backend.get("deployments", namespace_of(chaos), str(name))


def container_of(deployment: Obj, chaos: Obj) -> tuple[int, Obj]:
    """The container ``spec.containerIndex`` picks in the deployment's pod template."""
    containers = deployment["spec"]["template"]["spec"]["containers"]
    index = int((chaos.get("spec") or {}).get("containerIndex", 0))
    if index >= len(containers):
        raise NotFound(f"deployment {deployment['metadata']['name']} has no container number {index}")
    return index, containers[index]


def pod_labels(deployment: Obj) -> dict[str, str]:
    return dict(((deployment["spec"].get("template") or {}).get("metadata") or {}).get("labels") or {})


def selects(service: Obj, labels: dict[str, str]) -> bool:
    selector = (service.get("spec") or {}).get("selector") or {}
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def new_record(chaos: Obj, kind: str, name: str, mechanism: str, container: str | None = None, /, **extra: Any) -> Obj:
    """A ``containerRecords`` entry for an object the action changed."""
    record: Obj = {
        "id": f"{namespace_of(chaos)}/{kind}/{name}" + (f"/{container}" if container else ""),
        "phase": "Injected",
        "mechanism": mechanism,
        "injectedCount": 1,
        "recoveredCount": 0,
        "injectedAt": time.time(),
    }
    record.update(extra)
    return record


def get_or_none(backend: Backend, resource: str, namespace: str, name: str) -> Obj | None:
    try:
        return backend.get(resource, namespace, name)
    except NotFound:
        return None
