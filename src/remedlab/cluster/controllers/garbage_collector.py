"""Deletes what lost its owner: ReplicaSets whose Deployment is gone, pods whose ReplicaSet, StatefulSet,
DaemonSet or Job is gone, ControllerRevisions and claims whose StatefulSet or DaemonSet is gone.

Triggered by every change of an owned object (its owner may be gone already) and
by an owner's deletion (each of its dependents is looked at). A key is the
dependent's kind and its `namespace/name`.
"""

from __future__ import annotations

import contextlib

from remedlab.api.errors import NotFound
from remedlab.api.kinds import BY_KIND, Obj
from remedlab.cluster.apiserver.registry import ObjectAPI
from remedlab.cluster.apiserver.store import Store
from remedlab.cluster.controllers.change_feed import clone
from remedlab.cluster.controllers.event_recorder import EventRecorder
from remedlab.cluster.controllers.informer import EventHandler, Informer, InformerFactory, key_of, split_key
from remedlab.cluster.controllers.queue_controller import QueueController
from remedlab.cluster.controllers.revisions import controller_ref, controller_uid

OWNERS: dict[str, tuple[str, ...]] = {
    "Pod": ("ReplicaSet", "StatefulSet", "DaemonSet", "Job"),
    "ReplicaSet": ("Deployment",),
    "ControllerRevision": ("StatefulSet", "DaemonSet"),
    "PersistentVolumeClaim": ("StatefulSet",),
}
"""Each dependent kind the collector looks after, and the kinds of its owners."""

DependentKey = tuple[str, str]
"""(kind, namespace/name) of a dependent object."""


class GarbageCollector(QueueController[DependentKey]):
    def __init__(self, informers: InformerFactory, store: Store, api: ObjectAPI, events: EventRecorder) -> None:
        super().__init__("garbage-collector", events)
        self.store = store
        self.api = api
        self.informers: dict[str, Informer] = {}
        owner_kinds = {kind for kinds in OWNERS.values() for kind in kinds}
        for kind in sorted({*OWNERS, *owner_kinds}):
            self.informers[kind] = informers.informer(kind)
        for dependent_kind in OWNERS:
            self.informers[dependent_kind].add_handler(
                EventHandler(self._enqueue, lambda _old, new: self._enqueue(new))
            )
        for owner_kind in sorted(owner_kinds):
            self.informers[owner_kind].add_handler(EventHandler(on_delete=self._enqueue_dependents))

    def _enqueue(self, obj: Obj) -> None:
        if controller_ref(obj) is not None:
            self.queue.add((obj["kind"], key_of(obj)))

    def _enqueue_dependents(self, owner: Obj) -> None:
        uid = owner["metadata"]["uid"]
        for dependent_kind, owner_kinds in OWNERS.items():
            if owner["kind"] not in owner_kinds:
                continue
            for obj in self.informers[dependent_kind].objects(owner["metadata"].get("namespace")):
                if controller_uid(obj) == uid:
                    self.queue.add((dependent_kind, key_of(obj)))

    def involved_object(self, key: DependentKey) -> Obj | None:
        kind, name = key
        return self.informers[kind].get(name)

    async def sync(self, key: DependentKey) -> None:
        kind, object_key = key
        obj = self.informers[kind].get(object_key)
        if obj is None:
            return
        ref = controller_ref(obj)
        if ref is None:
            return
        namespace, name = split_key(object_key)
        owners = self.informers.get(str(ref["kind"]))
        owner = (
            owners.get_object(namespace, ref["name"])
            if owners is not None
            else self.store.get(str(ref["kind"]), namespace, ref["name"])
        )
        if owner is not None and owner["metadata"]["uid"] == ref["uid"]:
            return
        if kind == "Pod":
            if not obj["metadata"].get("deletionTimestamp"):
                self.api.delete_pod(clone(obj))
        else:
            with contextlib.suppress(NotFound):  # gone already; a finalizer (a claim's protection) may hold it
                self.api.delete(BY_KIND[kind].plural, namespace, name)
