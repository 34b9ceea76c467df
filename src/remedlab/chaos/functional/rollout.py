"""Template changes that replace a deployment's pods at once, as AIOpsLab's delete-and-apply does,
yet keep the rollout history, so that ``kubectl rollout undo`` repairs them as it would any bad
rollout: the change sets the ``Recreate`` strategy with it, and recovery puts the original strategy
back (a strategy is not part of the pod template: restoring it starts no rollout)."""

from __future__ import annotations

import copy
from typing import Any

from remedlab.api.client import Backend
from remedlab.chaos.functional.targets import get_or_none

Obj = dict[str, Any]

RECREATE: Obj = {"type": "Recreate"}


def patch_template_at_once(backend: Backend, deployment: Obj, template_spec: Obj) -> Obj:
    """Patch the pod template's spec (strategic merge) with the Recreate strategy; the original strategy."""
    original = copy.deepcopy(deployment["spec"].get("strategy") or {})
    patch = {"spec": {"strategy": {"type": "Recreate", "rollingUpdate": None}, "template": {"spec": template_spec}}}
    meta = deployment["metadata"]
    backend.patch("deployments", meta["namespace"], meta["name"], "strategic", patch)
    return original


def restore_strategy(backend: Backend, deployment: Obj, original: Obj) -> None:
    """Put the original strategy back, unless someone changed the strategy since."""
    current = deployment["spec"].get("strategy") or {}
    if current != RECREATE or original.get("type") == "Recreate":
        return
    meta = deployment["metadata"]
    op = {"op": "add", "path": "/spec/strategy", "value": original or {"type": "RollingUpdate"}}
    backend.patch("deployments", meta["namespace"], meta["name"], "json", [op])


def container_path(index: int, field: str) -> str:
    return f"/spec/template/spec/containers/{index}/{field}"


def set_or_remove(path: str, value: Any) -> Obj:
    """A JSON patch operation that sets ``path`` to ``value``, or removes it for ``None``."""
    return {"op": "remove", "path": path} if value is None else {"op": "add", "path": path, "value": value}


def restore_container_field(
    backend: Backend, namespace: str, record: Obj, field: str, faulty: Any, original: Any
) -> None:
    """Recover a fault that set one field of a Deployment's container: its rollout strategy back, and the
    field back to ``original`` while it still holds ``faulty``; a field repaired (rollout undo, set image)
    or changed since is left alone."""
    live = get_or_none(backend, "deployments", namespace, record["deployment"])
    if live is None:
        return
    restore_strategy(backend, live, record.get("originalStrategy") or {})
    for index, container in enumerate(live["spec"]["template"]["spec"]["containers"]):
        if container["name"] == record["container"] and container.get(field) == faulty:
            op = set_or_remove(container_path(index, field), original)
            backend.patch("deployments", namespace, record["deployment"], "json", [op])
            return
