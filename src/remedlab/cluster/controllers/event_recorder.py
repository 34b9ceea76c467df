"""Records Kubernetes Events, folding repeats into a count as the kubelet does."""

from __future__ import annotations

import socket

from remedlab.api.events import EventType, event_key, new_event, repeated
from remedlab.api.kinds import Obj
from remedlab.api.times import now_iso
from remedlab.cluster.apiserver.store import Store

MAX_EVENTS_PER_NAMESPACE = 1000
TRIM_EVERY = 100  # new events between two trims of a namespace


class EventRecorder:
    def __init__(self, store: Store, node_name: str | None = None) -> None:
        self.store = store
        self.host = node_name or socket.gethostname()
        self._created: dict[str, int] = {}

    def record(
        self,
        obj: Obj,
        reason: str,
        message: str,
        type_: EventType = "Normal",
        component: str = "kubelet",
        field_path: str | None = None,
    ) -> None:
        namespace, name = event_key(obj, reason, message, field_path)
        now = now_iso()
        existing = self.store.get("Event", namespace, name)
        if existing is not None:
            self.store.update(repeated(existing, now))
            return
        event = new_event(obj, reason, message, type_, {"component": component, "host": self.host}, now, field_path)
        self.store.create(event)
        self._created[namespace] = self._created.get(namespace, 0) + 1
        if self._created[namespace] % TRIM_EVERY == 0:
            self._trim(namespace)

    def _trim(self, namespace: str) -> None:
        events = self.store.list_objects("Event", namespace)
        if len(events) <= MAX_EVENTS_PER_NAMESPACE:
            return
        events.sort(key=lambda e: e.get("lastTimestamp") or "")
        for old in events[: len(events) - MAX_EVENTS_PER_NAMESPACE]:
            self.store.delete("Event", namespace, old["metadata"]["name"])
