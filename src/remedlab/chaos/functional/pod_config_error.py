"""pod-config-error (MicroRemed): a deployment's container gets resources it cannot run well with
(``spec.requests`` and ``spec.limits``), so its new revision's pods starve. Recovery puts the
original resources back, unless they changed since (a rollout undo, an agent's own values)."""

from __future__ import annotations

import copy
from typing import Any, ClassVar

from pydantic import BaseModel

from remedlab.api.client import Backend
from remedlab.chaos.functional.targets import container_of, deployment_of, get_or_none, namespace_of, new_record
from remedlab.cluster.controllers.revisions import REVISION_ANNOTATION as REVISION

Obj = dict[str, Any]


def _wanted(spec: Obj) -> Obj:
    return {
        "requests": {k: v for k, v in (spec.get("requests") or {}).items() if v is not None},
        "limits": {k: v for k, v in (spec.get("limits") or {}).items() if v is not None},
    }


def new_revision_available(backend: Backend, deployment: Obj) -> tuple[bool, str]:
    """Whether the deployment's newest revision has all its pods available, and how many it has."""
    namespace = deployment["metadata"]["namespace"]
    revision = (deployment["metadata"].get("annotations") or {}).get(REVISION)
    want = int(deployment["spec"].get("replicas", 1))
    for rs in backend.list_objects("replicasets", namespace):
        owners = [o["uid"] for o in rs["metadata"].get("ownerReferences") or []]
        rs_revision = (rs["metadata"].get("annotations") or {}).get(REVISION)
        if deployment["metadata"]["uid"] in owners and rs_revision == revision:
            available = int((rs.get("status") or {}).get("availableReplicas", 0))
            return available >= want, f"the new revision has {available}/{want} pods available"
    return False, "the new revision has no replica set yet"


class PodConfigError:
    name: ClassVar[str] = "pod-config-error"
    parameters: ClassVar[type[BaseModel] | None] = None

    async def inject(self, backend: Backend, chaos: Obj) -> Obj:
        deployment = deployment_of(backend, chaos)
        _, container = container_of(deployment, chaos)
        wanted = _wanted(chaos["spec"])
        patch = {"spec": {"template": {"spec": {"containers": [{"name": container["name"], "resources": wanted}]}}}}
        name = deployment["metadata"]["name"]
        backend.patch("deployments", namespace_of(chaos), name, "strategic", patch)
        return new_record(
            chaos,
            "deployment",
            name,
            self.name,
            container["name"],
            deployment=name,
            container=container["name"],
            originalResources=copy.deepcopy(container.get("resources") or {}),
            faultyResources=wanted,
        )

    async def recover(self, backend: Backend, chaos: Obj, record: Obj) -> None:
        namespace = namespace_of(chaos)
        deployment = get_or_none(backend, "deployments", namespace, record["deployment"])
        if deployment is None:
            return
        for index, container in enumerate(deployment["spec"]["template"]["spec"]["containers"]):
            if container["name"] != record["container"]:
                continue
            current = container.get("resources") or {}
            if current == record["originalResources"] or current != record["faultyResources"]:
                return  # already repaired (e.g. rollout undo), or changed since by someone else: leave it
            op = {
                "op": "add",
                "path": f"/spec/template/spec/containers/{index}/resources",
                "value": record["originalResources"] or {},
            }
            backend.patch("deployments", namespace, record["deployment"], "json", [op])
            return

    def observable(self, backend: Backend, chaos: Obj, record: Obj) -> tuple[bool, str]:
        deployment = get_or_none(backend, "deployments", namespace_of(chaos), record["deployment"])
        if deployment is None:
            return False, "the deployment is gone"
        available, detail = new_revision_available(backend, deployment)
        if detail.endswith("no replica set yet"):
            return False, detail
        return not available, detail if not available else "the new revision's pods are available"
