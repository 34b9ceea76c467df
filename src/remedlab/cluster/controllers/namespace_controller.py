"""Empties a namespace being deleted, then deletes it.

Every object in it is deleted (pods gracefully); the namespace goes once nothing
is left but its Events, which go with it. An object with finalizers stays until
its controller finishes (a claim's data is removed, a fault is recovered).

Triggered by the namespace's changes, and by each deletion of an object in a
namespace being deleted (what remains may now be nothing).
"""

from __future__ import annotations

import contextlib

from remedlab.api.errors import NotFound
from remedlab.api.kinds import STORED_KINDS, Obj
from remedlab.cluster.apiserver.registry import ObjectAPI
from remedlab.cluster.apiserver.store import Change, Store
from remedlab.cluster.controllers.event_recorder import EventRecorder
from remedlab.cluster.controllers.informer import EventHandler, InformerFactory, key_of
from remedlab.cluster.controllers.queue_controller import QueueController


class NamespaceController(QueueController[str]):
    def __init__(self, informers: InformerFactory, store: Store, api: ObjectAPI, events: EventRecorder) -> None:
        super().__init__("namespace-controller", events)
        self.store = store
        self.api = api
        self.namespaces = informers.informer("Namespace")
        self.namespaces.add_handler(EventHandler(self._enqueue, lambda _old, new: self._enqueue(new)))
        informers.on_change(self._on_change)

    def _enqueue(self, namespace: Obj) -> None:
        if namespace["metadata"].get("deletionTimestamp"):
            self.queue.add(key_of(namespace))

    def _on_change(self, change: Change) -> None:
        if change.type != "DELETED" or not change.namespace:
            return
        namespace = self.namespaces.get(change.namespace)
        if namespace is not None:
            self._enqueue(namespace)

    def involved_object(self, key: str) -> Obj | None:
        return self.namespaces.get(key)

    async def sync(self, key: str) -> None:
        namespace = self.namespaces.get(key)
        if namespace is None or not namespace["metadata"].get("deletionTimestamp"):
            return
        remaining = 0
        for info in STORED_KINDS:
            if not info.namespaced or info.kind == "Event":
                continue
            for obj in self.store.list_objects(info.kind, key):
                if info.kind == "Pod":
                    remaining += 1
                    if not obj["metadata"].get("deletionTimestamp"):
                        self.api.delete_pod(obj)
                    continue
                if obj["metadata"].get("finalizers"):
                    remaining += 1  # its controller finishes the deletion (a volume, a fault)
                with contextlib.suppress(NotFound):
                    self.api.delete(info.plural, key, obj["metadata"]["name"])
        if remaining == 0:
            for event in self.store.list_objects("Event", key):
                with contextlib.suppress(NotFound):
                    self.store.delete("Event", key, event["metadata"]["name"])
            with contextlib.suppress(NotFound):
                self.store.delete("Namespace", None, key)
