"""PersistentVolumeClaims: bound at once by the node's local provisioner, their data deleted with them.

Like a dynamic provisioner with `volumeBindingMode: Immediate` and
`reclaimPolicy: Delete`: a new claim gets a volume (`pvc-<uid>`, a directory
`$REMEDLAB_HOME/volumes/<namespace>/<claim>`) and the phase Bound; a deleted
claim keeps its `kubernetes.io/pvc-protection` finalizer while a pod still
names it, then its data goes and the claim with it. Deleting a namespace thus
deletes its volumes, and an app deployed again starts from fresh data.

Triggered by the claim's changes and by the deletion of a pod that names it.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
from pathlib import Path

from remedlab.api.errors import NotFound
from remedlab.api.kinds import Obj
from remedlab.cluster.apiserver.store import Store
from remedlab.cluster.controllers.change_feed import clone
from remedlab.cluster.controllers.event_recorder import EventRecorder
from remedlab.cluster.controllers.informer import EventHandler, InformerFactory, key_of
from remedlab.cluster.controllers.queue_controller import QueueController
from remedlab.mounts import mounts_under
from remedlab.volume_storage import claims_root

PROTECTION = "kubernetes.io/pvc-protection"
PROVISIONER = "remedlab.io/local-path"
MOUNT_RECHECK_SECONDS = 0.2
"""How soon a deleted claim whose data a pod's mount still holds is looked at again."""


def claim_dir(home: Path, namespace: str, claim: str) -> Path:
    """Where a claim's data lives on the host (see volume_storage)."""
    return claims_root(home) / namespace / claim


def _claims_of(pod: Obj) -> list[str]:
    return [
        str(volume["persistentVolumeClaim"].get("claimName"))
        for volume in pod["spec"].get("volumes") or []
        if volume.get("persistentVolumeClaim")
    ]


class VolumeController(QueueController[str]):
    def __init__(self, informers: InformerFactory, store: Store, events: EventRecorder, home: Path) -> None:
        super().__init__("persistentvolume-controller", events, workers=2)
        self.store = store
        self.home = home
        self.claims = informers.informer("PersistentVolumeClaim")
        self.pods = informers.informer("Pod")
        self.claims.add_handler(EventHandler(self._enqueue, lambda _old, new: self._enqueue(new)))
        self.pods.add_handler(EventHandler(on_delete=self._enqueue_claims_of))

    def _enqueue(self, claim: Obj) -> None:
        self.queue.add(key_of(claim))

    def _enqueue_claims_of(self, pod: Obj) -> None:
        for claim in _claims_of(pod):
            self.queue.add(f"{pod['metadata']['namespace']}/{claim}")

    def involved_object(self, key: str) -> Obj | None:
        return self.claims.get(key)

    async def sync(self, key: str) -> None:
        claim = self.claims.get(key)
        if claim is None:
            return
        if claim["metadata"].get("deletionTimestamp"):
            await self._release(key, claim)
        else:
            self._bind(claim)

    def _bind(self, claim: Obj) -> None:
        status = claim.get("status") or {}
        if status.get("phase") == "Bound" and PROTECTION in (claim["metadata"].get("finalizers") or []):
            return
        claim = clone(claim)
        meta, spec = claim["metadata"], claim["spec"]
        finalizers = list(meta.get("finalizers") or [])
        if PROTECTION not in finalizers:
            meta["finalizers"] = [*finalizers, PROTECTION]
        spec["volumeName"] = spec.get("volumeName") or f"pvc-{meta['uid']}"
        storage = ((spec.get("resources") or {}).get("requests") or {}).get("storage")
        claim["status"] = {
            "phase": "Bound",
            "accessModes": list(spec.get("accessModes") or ["ReadWriteOnce"]),
            **({"capacity": {"storage": storage}} if storage else {}),
        }
        annotations = meta.setdefault("annotations", {})
        newly = "pv.kubernetes.io/bind-completed" not in annotations
        annotations["pv.kubernetes.io/bind-completed"] = "yes"
        annotations["volume.kubernetes.io/storage-provisioner"] = PROVISIONER
        self.store.update(claim, check_rv=True)
        if newly:
            self.events.record(
                claim,
                "ProvisioningSucceeded",
                f"Successfully provisioned volume {spec['volumeName']}",
                "Normal",
                component=PROVISIONER,
            )

    async def _release(self, key: str, claim: Obj) -> None:
        meta = claim["metadata"]
        namespace, name = meta["namespace"], meta["name"]
        if any(name in _claims_of(pod) for pod in self.pods.objects(namespace)):
            return  # protected while a pod still uses it; the pod's deletion brings the claim back
        data = claim_dir(self.home, namespace, name)
        if data.exists():
            if mounts_under(data):
                self.queue.add_after(key, MOUNT_RECHECK_SECONDS)  # a pod's mount is still being torn down
                return
            # large trees take a while: off the event loop
            await asyncio.to_thread(shutil.rmtree, data, True)
            if data.exists():
                raise OSError(f"could not remove the data of claim {name} at {data}")
        current = self.claims.get(key)
        if current is None:
            return
        claim = current
        remaining = [f for f in claim["metadata"].get("finalizers") or [] if f != PROTECTION]
        if remaining:
            claim = clone(claim)
            claim["metadata"]["finalizers"] = remaining
            self.store.update(claim, check_rv=True)
        else:
            with contextlib.suppress(NotFound):
                self.store.delete("PersistentVolumeClaim", namespace, name)
