"""scale-pod-zero (AIOpsLab): a deployment scaled to 0 replicas; its Service has no endpoints and
its callers fail. ``kubectl scale --replicas=1`` (or more) repairs it."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel

from remedlab.api.client import Backend
from remedlab.chaos.functional.targets import deployment_of, get_or_none, namespace_of, new_record

Obj = dict[str, Any]


class ScalePodZero:
    name: ClassVar[str] = "scale-pod-zero"
    parameters: ClassVar[type[BaseModel] | None] = None

    async def inject(self, backend: Backend, chaos: Obj) -> Obj:
        deployment = deployment_of(backend, chaos)
        name = deployment["metadata"]["name"]
        original = int(deployment["spec"].get("replicas", 1))
        backend.patch("deployments", namespace_of(chaos), name, "merge", {"spec": {"replicas": 0}})
        return new_record(chaos, "deployment", name, self.name, deployment=name, originalReplicas=original)

    async def recover(self, backend: Backend, chaos: Obj, record: Obj) -> None:
        deployment = get_or_none(backend, "deployments", namespace_of(chaos), record["deployment"])
        if deployment is None or int(deployment["spec"].get("replicas", 1)) != 0:
            return  # scaled up again by someone: left alone
        patch = {"spec": {"replicas": int(record.get("originalReplicas") or 1)}}
        backend.patch("deployments", namespace_of(chaos), record["deployment"], "merge", patch)

    def observable(self, backend: Backend, chaos: Obj, record: Obj) -> tuple[bool, str]:
        deployment = get_or_none(backend, "deployments", namespace_of(chaos), record["deployment"])
        if deployment is None:
            return False, "the deployment is gone"
        want = int(deployment["spec"].get("replicas", 1))
        if want == 0:
            return True, "the deployment is scaled to 0 replicas"
        available = int((deployment.get("status") or {}).get("availableReplicas") or 0)
        if available == 0:
            return True, f"none of its {want} replicas is available yet"
        return False, f"{available}/{want} replicas available"
