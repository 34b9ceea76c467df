"""Deletes what lost its owner, and empties namespaces being deleted."""

from __future__ import annotations

from remedlab.api.kinds import STORED_KINDS
from remedlab.cluster.apiserver.registry import ObjectAPI
from remedlab.cluster.apiserver.store import Store

_OWNED_KINDS = ("ReplicaSet", "Pod")


class GarbageCollector:
    def __init__(self, store: Store, api: ObjectAPI) -> None:
        self.store = store
        self.api = api

    def reconcile(self) -> None:
        self._orphans()
        self._namespaces()

    def _orphans(self) -> None:
        for kind in _OWNED_KINDS:
            for obj in self.store.list_objects(kind):
                refs = [r for r in obj["metadata"].get("ownerReferences") or [] if r.get("controller")]
                if not refs:
                    continue
                ref = refs[0]
                owner = self.store.get(ref["kind"], obj["metadata"]["namespace"], ref["name"])
                if owner is not None and owner["metadata"]["uid"] == ref["uid"]:
                    continue
                if kind == "Pod":
                    if not obj["metadata"].get("deletionTimestamp"):
                        self.api.delete_pod(obj)
                else:
                    self.store.delete(kind, obj["metadata"]["namespace"], obj["metadata"]["name"])

    def _namespaces(self) -> None:
        for ns in self.store.list_objects("Namespace"):
            if not ns["metadata"].get("deletionTimestamp"):
                continue
            name = ns["metadata"]["name"]
            remaining = 0
            for info in STORED_KINDS:
                if not info.namespaced:
                    continue
                for obj in self.store.list_objects(info.kind, name):
                    if info.kind == "Pod":
                        remaining += 1
                        if not obj["metadata"].get("deletionTimestamp"):
                            self.api.delete_pod(obj)
                    elif info.kind != "Event":
                        if obj["metadata"].get("finalizers"):
                            remaining += 1  # its controller finishes the deletion (a volume, a fault)
                        self.api.delete(info.plural, name, obj["metadata"]["name"])
            if remaining == 0:
                for event in self.store.list_objects("Event", name):
                    self.store.delete("Event", name, event["metadata"]["name"])
                self.store.delete("Namespace", None, name)
