"""Keeps each ReplicaSet's number of pods at spec.replicas.

Triggered by its ReplicaSet's changes and by every change of a pod it controls
(a pod deleted or terminating is replaced at once). A pod that is Ready but not
yet Ready for minReadySeconds brings the ReplicaSet back when it becomes
available, so status.availableReplicas follows the clock.
"""

from __future__ import annotations

import secrets

from remedlab.api.conditions import is_active, is_available, is_ready, until_available
from remedlab.api.kinds import Obj
from remedlab.cluster.apiserver.registry import ObjectAPI
from remedlab.cluster.apiserver.store import Store
from remedlab.cluster.controllers.change_feed import clone
from remedlab.cluster.controllers.event_recorder import EventRecorder
from remedlab.cluster.controllers.informer import EventHandler, InformerFactory, key_of, split_key
from remedlab.cluster.controllers.queue_controller import QueueController
from remedlab.cluster.controllers.revisions import controller_ref, owned_by, owner_reference

_SUFFIX_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"


def pod_suffix() -> str:
    return "".join(secrets.choice(_SUFFIX_ALPHABET) for _ in range(5))


def _deletion_rank(pod: Obj) -> tuple[int, int, str]:
    """Pods deleted first: unscheduled, then not ready, then the newest."""
    scheduled = 1 if pod["spec"].get("nodeName") else 0
    ready = 1 if is_ready(pod) else 0
    created = pod["metadata"].get("creationTimestamp") or ""
    inverted = "".join(chr(0x10FFFF - ord(c)) for c in created)
    return (scheduled, ready, inverted)


class ReplicaSetController(QueueController[str]):
    def __init__(self, informers: InformerFactory, store: Store, api: ObjectAPI, events: EventRecorder) -> None:
        super().__init__("replicaset-controller", events)
        self.store = store
        self.api = api
        self.replicasets = informers.informer("ReplicaSet")
        self.pods = informers.informer("Pod")
        self.replicasets.add_handler(EventHandler(self._enqueue, lambda _old, new: self._enqueue(new)))
        self.pods.add_handler(EventHandler.each(self._enqueue_owner))

    def _enqueue(self, rs: Obj) -> None:
        self.queue.add(key_of(rs))

    def _enqueue_owner(self, pod: Obj) -> None:
        ref = controller_ref(pod)
        if ref is not None and ref.get("kind") == "ReplicaSet":
            self.queue.add(f"{pod['metadata']['namespace']}/{ref['name']}")

    def involved_object(self, key: str) -> Obj | None:
        return self.replicasets.get(key)

    async def sync(self, key: str) -> None:
        rs = self.replicasets.get(key)
        if rs is None:
            return  # its pods go with it (garbage collector)
        namespace, _name = split_key(key)
        active = [p for p in self.pods.objects(namespace) if owned_by(p, rs) and is_active(p)]
        want = int(rs["spec"].get("replicas", 1))
        if len(active) < want:
            for _ in range(want - len(active)):
                created = self.store.create(self._new_pod(rs))
                active.append(created)
                self.events.record(
                    rs,
                    "SuccessfulCreate",
                    f"Created pod: {created['metadata']['name']}",
                    component=self.name,
                )
        elif len(active) > want:
            victims = sorted(active, key=_deletion_rank)[: len(active) - want]
            for pod in victims:
                self.api.delete_pod(clone(pod))
                active.remove(pod)
                self.events.record(
                    rs,
                    "SuccessfulDelete",
                    f"Deleted pod: {pod['metadata']['name']}",
                    component=self.name,
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
            updated = clone(rs)
            updated["status"] = status
            self.store.update(updated, check_rv=True)
        if min_ready > 0:
            waits = [
                wait
                for p in active
                if not is_available(p, min_ready) and (wait := until_available(p, min_ready)) is not None
            ]
            if waits:
                self.queue.add_after(key, min(waits) + 0.05)

    @staticmethod
    def _new_pod(rs: Obj) -> Obj:
        template = clone(rs["spec"]["template"])
        meta = template.get("metadata") or {}
        return {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {
                "name": f"{rs['metadata']['name']}-{pod_suffix()}",
                "namespace": rs["metadata"]["namespace"],
                "labels": dict(meta.get("labels") or {}),
                "annotations": dict(meta.get("annotations") or {}),
                "ownerReferences": [owner_reference(rs)],
            },
            "spec": template["spec"],
            "status": {"phase": "Pending"},
        }
