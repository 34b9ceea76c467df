"""Binds pending pods to the node, or leaves them Pending with FailedScheduling.

Triggered by every change of a pod not bound yet, and by the node's changes (new
labels may make room for a pod that did not fit). A pod that does not fit is
tried again every RETRY_SECONDS, each try counted on its FailedScheduling Event.
"""

from __future__ import annotations

import time

from remedlab.api.kinds import Obj
from remedlab.api.times import now_iso
from remedlab.cluster.apiserver.store import Store
from remedlab.cluster.controllers.change_feed import clone
from remedlab.cluster.controllers.event_recorder import EventRecorder
from remedlab.cluster.controllers.informer import EventHandler, InformerFactory, key_of
from remedlab.cluster.controllers.queue_controller import QueueController

RETRY_SECONDS = 10.0

UNSCHEDULABLE = (
    "0/1 nodes are available: 1 node(s) didn't match Pod's node affinity/selector. "
    "preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling."
)


def _pending(pod: Obj) -> bool:
    return not pod["spec"].get("nodeName") and not pod["metadata"].get("deletionTimestamp")


class Scheduler(QueueController[str]):
    def __init__(self, informers: InformerFactory, store: Store, events: EventRecorder, node_name: str) -> None:
        super().__init__("default-scheduler", events)
        self.store = store
        self.node_name = node_name
        self.pods = informers.informer("Pod")
        self.nodes = informers.informer("Node")
        self._last_attempt: dict[str, float] = {}
        self.pods.add_handler(EventHandler(self._enqueue, lambda _old, new: self._enqueue(new), self._forget))
        self.nodes.add_handler(EventHandler.each(self._enqueue_all_pending))

    def _enqueue(self, pod: Obj) -> None:
        if _pending(pod):
            self.queue.add(key_of(pod))

    def _forget(self, pod: Obj) -> None:
        self._last_attempt.pop(pod["metadata"]["uid"], None)

    def _enqueue_all_pending(self, _node: Obj) -> None:
        for pod in self.pods.objects():
            self._enqueue(pod)

    def involved_object(self, key: str) -> Obj | None:
        return self.pods.get(key)

    async def sync(self, key: str) -> None:
        pod = self.pods.get(key)
        if pod is None or not _pending(pod):
            return
        node = self.nodes.get(self.node_name)
        labels = (node or {}).get("metadata", {}).get("labels") or {}
        uid = pod["metadata"]["uid"]
        selector = pod["spec"].get("nodeSelector") or {}
        fits = all(labels.get(k) == v for k, v in selector.items())
        now = now_iso()
        conditions = [c for c in pod.get("status", {}).get("conditions") or [] if c.get("type") != "PodScheduled"]
        if fits:
            bound = clone(pod)
            bound["spec"]["nodeName"] = self.node_name
            bound.setdefault("status", {})["conditions"] = [
                {"type": "PodScheduled", "status": "True", "lastTransitionTime": now},
                *conditions,
            ]
            self.store.update(bound, check_rv=True)
            self.events.record(
                pod,
                "Scheduled",
                f"Successfully assigned {pod['metadata']['namespace']}/{pod['metadata']['name']} to {self.node_name}",
                component=self.name,
            )
            self._last_attempt.pop(uid, None)
            return
        last = self._last_attempt.get(uid)
        if last is not None and time.monotonic() - last < RETRY_SECONDS:
            self.queue.add_after(key, RETRY_SECONDS - (time.monotonic() - last))
            return
        self._last_attempt[uid] = time.monotonic()
        unschedulable = clone(pod)
        status = unschedulable.setdefault("status", {})
        status["phase"] = "Pending"
        status["conditions"] = [
            {
                "type": "PodScheduled",
                "status": "False",
                "reason": "Unschedulable",
                "message": UNSCHEDULABLE,
                "lastTransitionTime": now,
            },
            *conditions,
        ]
        self.store.update(unschedulable, check_rv=True)
        self.events.record(pod, "FailedScheduling", UNSCHEDULABLE, "Warning", component=self.name)
        self.queue.add_after(key, RETRY_SECONDS)
