"""assign-non-existent-node (AIOpsLab): a deployment's pod template gets a nodeSelector no node
matches (AIOpsLab: ``kubernetes.io/hostname: extra-node``). Its pods are replaced at once (see
`rollout.py`) and the new ones stay Pending, with FailedScheduling Events. Removing the nodeSelector
(or ``kubectl rollout undo``) repairs it."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from remedlab.api.client import Backend
from remedlab.chaos.functional.rollout import patch_template_at_once, restore_strategy, set_or_remove
from remedlab.chaos.functional.targets import deployment_of, get_or_none, namespace_of, new_record, pod_labels

Obj = dict[str, Any]


class NodeParameters(BaseModel):
    model_config = ConfigDict(extra="forbid")

    key: str = Field(default="kubernetes.io/hostname", description="The node label the nodeSelector requires.")
    node: str = Field(default="extra-node", description="Its value, which no node has.")


def _matching_nodes(backend: Backend, selector: dict[str, str]) -> list[str]:
    nodes = backend.list_objects("nodes")
    return [
        n["metadata"]["name"]
        for n in nodes
        if all((n["metadata"].get("labels") or {}).get(k) == v for k, v in selector.items())
    ]


class AssignNonExistentNode:
    name: ClassVar[str] = "assign-non-existent-node"
    parameters: ClassVar[type[BaseModel] | None] = NodeParameters

    async def inject(self, backend: Backend, chaos: Obj) -> Obj:
        params = NodeParameters.model_validate(chaos["spec"].get("parameters") or {})
        deployment = deployment_of(backend, chaos)
        name = deployment["metadata"]["name"]
        original = deployment["spec"]["template"]["spec"].get("nodeSelector")
        faulty = {**(original or {}), params.key: params.node}
        strategy = patch_template_at_once(backend, deployment, {"nodeSelector": faulty})
        return new_record(
            chaos,
            "deployment",
            name,
            self.name,
            deployment=name,
            originalNodeSelector=original,
            faultyNodeSelector=faulty,
            originalStrategy=strategy,
        )

    async def recover(self, backend: Backend, chaos: Obj, record: Obj) -> None:
        deployment = get_or_none(backend, "deployments", namespace_of(chaos), record["deployment"])
        if deployment is None:
            return
        restore_strategy(backend, deployment, record.get("originalStrategy") or {})
        if deployment["spec"]["template"]["spec"].get("nodeSelector") != record["faultyNodeSelector"]:
            return  # removed (or rolled back) or changed since: left alone
        op = set_or_remove("/spec/template/spec/nodeSelector", record.get("originalNodeSelector"))
        backend.patch("deployments", namespace_of(chaos), record["deployment"], "json", [op])

    def observable(self, backend: Backend, chaos: Obj, record: Obj) -> tuple[bool, str]:
        namespace = namespace_of(chaos)
        deployment = get_or_none(backend, "deployments", namespace, record["deployment"])
        if deployment is None:
            return False, "the deployment is gone"
        labels = deployment["spec"]["selector"].get("matchLabels") or pod_labels(deployment)
        selector = ",".join(f"{k}={v}" for k, v in labels.items())
        pending = [
            p["metadata"]["name"]
            for p in backend.list_objects("pods", namespace, selector or None)
            if not p["metadata"].get("deletionTimestamp")
            and not p["spec"].get("nodeName")
            and any(
                c.get("type") == "PodScheduled" and c.get("status") == "False"
                for c in (p.get("status") or {}).get("conditions") or []
            )
        ]
        if pending:
            return True, f"pods {', '.join(sorted(pending))} cannot be scheduled"
        node_selector = deployment["spec"]["template"]["spec"].get("nodeSelector") or {}
        if node_selector == record["faultyNodeSelector"] and not _matching_nodes(backend, node_selector):
            return True, "the nodeSelector matches no node"
        return False, "its pods can be scheduled"
