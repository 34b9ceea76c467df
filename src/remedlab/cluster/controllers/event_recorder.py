"""Records Kubernetes Events, folding repeats into a count as the kubelet does."""

from __future__ import annotations

import hashlib
import socket
from typing import Any, Literal

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
        type_: Literal["Normal", "Warning"] = "Normal",
        component: str = "kubelet",
        field_path: str | None = None,
    ) -> None:
        meta = obj["metadata"]
        namespace = meta.get("namespace") or "default"
        key = f"{obj['kind']}/{meta['name']}/{meta.get('uid')}/{reason}/{message}/{field_path}"
        digest = hashlib.sha1(key.encode()).hexdigest()[:16]
        name = f"{meta['name']}.{digest}"
        now = now_iso()
        existing = self.store.get("Event", namespace, name)
        if existing is not None:
            existing["count"] = int(existing.get("count", 1)) + 1
            existing["lastTimestamp"] = now
            self.store.update(existing)
            return
        involved: dict[str, Any] = {
            "kind": obj["kind"],
            "name": meta["name"],
            "namespace": namespace,
            "uid": meta.get("uid"),
            "apiVersion": obj.get("apiVersion"),
        }
        if field_path:
            involved["fieldPath"] = field_path
        event: Obj = {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {"name": name, "namespace": namespace},
            "involvedObject": involved,
            "reason": reason,
            "message": message,
            "type": type_,
            "count": 1,
            "firstTimestamp": now,
            "lastTimestamp": now,
            "source": {"component": component, "host": self.host},
        }
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
