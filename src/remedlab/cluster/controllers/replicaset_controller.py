"""Keeps each ReplicaSet's number of pods at spec.replicas."""

from __future__ import annotations

import copy
import secrets

from remedlab.api.conditions import is_active, is_available, is_ready
from remedlab.api.kinds import Obj
from remedlab.cluster.apiserver.registry import ObjectAPI
from remedlab.cluster.apiserver.store import Store
from remedlab.cluster.controllers.event_recorder import EventRecorder
from remedlab.cluster.controllers.revisions import owned_by, owner_reference

_SUFFIX_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"


def _pod_suffix() -> str:
    return "".join(secrets.choice(_SUFFIX_ALPHABET) for _ in range(5))


def _deletion_rank(pod: Obj) -> tuple[int, int, str]:
    """Pods deleted first: unscheduled, then not ready, then the newest."""
    scheduled = 1 if pod["spec"].get("nodeName") else 0
    ready = 1 if is_ready(pod) else 0
    created = pod["metadata"].get("creationTimestamp") or ""
    inverted = "".join(chr(0x10FFFF - ord(c)) for c in created)
    return (scheduled, ready, inverted)


class ReplicaSetController:
    def __init__(self, store: Store, api: ObjectAPI, events: EventRecorder) -> None:
        self.store = store
        self.api = api
        self.events = events

    def reconcile(self) -> None:
        pods_by_ns: dict[str, list[Obj]] = {}
        for rs in self.store.list_objects("ReplicaSet"):
            ns = rs["metadata"]["namespace"]
            if ns not in pods_by_ns:
                pods_by_ns[ns] = self.store.list_objects("Pod", ns)
            self._sync(rs, pods_by_ns[ns])

    def _sync(self, rs: Obj, namespace_pods: list[Obj]) -> None:
        owned = [p for p in namespace_pods if owned_by(p, rs)]
        active = [p for p in owned if is_active(p)]
        want = int(rs["spec"].get("replicas", 1))
        if len(active) < want:
            for _ in range(want - len(active)):
                pod = self._new_pod(rs)
                created = self.store.create(pod)
                active.append(created)
                self.events.record(
                    rs,
                    "SuccessfulCreate",
                    f"Created pod: {created['metadata']['name']}",
                    component="replicaset-controller",
                )
        elif len(active) > want:
            victims = sorted(active, key=_deletion_rank)[: len(active) - want]
            for pod in victims:
                self.api.delete_pod(pod)
                active.remove(pod)
                self.events.record(
                    rs,
                    "SuccessfulDelete",
                    f"Deleted pod: {pod['metadata']['name']}",
                    component="replicaset-controller",
                )
        min_ready = int(rs["spec"].get("minReadySeconds", 0))
        status = {
            "replicas": len(active),
            "fullyLabeledReplicas": len(active),
            "readyReplicas": sum(1 for p in active if is_ready(p)),
            "availableReplicas": sum(1 for p in active if is_available(p, min_ready)),
            "observedGeneration": rs["metadata"].get("generation", 1),
        }
        if rs.get("status") != status:
            fresh = self.store.get("ReplicaSet", rs["metadata"]["namespace"], rs["metadata"]["name"])
            if fresh is not None:
                fresh["status"] = status
                self.store.update(fresh)

    @staticmethod
    def _new_pod(rs: Obj) -> Obj:
        template = copy.deepcopy(rs["spec"]["template"])
        meta = template.get("metadata") or {}
        return {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {
                "name": f"{rs['metadata']['name']}-{_pod_suffix()}",
                "namespace": rs["metadata"]["namespace"],
                "labels": dict(meta.get("labels") or {}),
                "annotations": dict(meta.get("annotations") or {}),
                "ownerReferences": [owner_reference(rs)],
            },
            "spec": template["spec"],
            "status": {"phase": "Pending"},
        }
