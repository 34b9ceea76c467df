"""Binds pending pods to the node, or leaves them Pending with FailedScheduling."""

from __future__ import annotations

import time

from remedlab.api.kinds import Obj
from remedlab.api.times import now_iso
from remedlab.cluster.apiserver.store import Store
from remedlab.cluster.controllers.event_recorder import EventRecorder

RETRY_SECONDS = 10.0


class Scheduler:
    def __init__(self, store: Store, events: EventRecorder, node_name: str) -> None:
        self.store = store
        self.events = events
        self.node_name = node_name
        self._last_attempt: dict[str, float] = {}

    def reconcile(self) -> None:
        node = self.store.get("Node", None, self.node_name)
        labels = (node or {}).get("metadata", {}).get("labels") or {}
        for pod in self.store.list_objects("Pod"):
            if pod["spec"].get("nodeName") or pod["metadata"].get("deletionTimestamp"):
                continue
            self._schedule(pod, labels)

    def _schedule(self, pod: Obj, node_labels: dict[str, str]) -> None:
        uid = pod["metadata"]["uid"]
        selector = pod["spec"].get("nodeSelector") or {}
        fits = all(node_labels.get(k) == v for k, v in selector.items())
        now = now_iso()
        conditions = [c for c in pod.get("status", {}).get("conditions") or [] if c.get("type") != "PodScheduled"]
        if fits:
            pod["spec"]["nodeName"] = self.node_name
            pod.setdefault("status", {})["conditions"] = [
                {"type": "PodScheduled", "status": "True", "lastTransitionTime": now},
                *conditions,
            ]
            self.store.update(pod)
            self.events.record(
                pod,
                "Scheduled",
                f"Successfully assigned {pod['metadata']['namespace']}/{pod['metadata']['name']} to {self.node_name}",
                component="default-scheduler",
            )
            self._last_attempt.pop(uid, None)
            return
        last = self._last_attempt.get(uid)
        if last is not None and time.monotonic() - last < RETRY_SECONDS:
            return
        self._last_attempt[uid] = time.monotonic()
        message = (
            "0/1 nodes are available: 1 node(s) didn't match Pod's node affinity/selector. "
            "preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling."
        )
        status = pod.setdefault("status", {})
        status["phase"] = "Pending"
        status["conditions"] = [
            {
                "type": "PodScheduled",
                "status": "False",
                "reason": "Unschedulable",
                "message": message,
                "lastTransitionTime": now,
            },
            *conditions,
        ]
        self.store.update(pod)
        self.events.record(pod, "FailedScheduling", message, "Warning", component="default-scheduler")
