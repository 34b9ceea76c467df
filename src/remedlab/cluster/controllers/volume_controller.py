"""PersistentVolumeClaims: bound at once by the node's local provisioner, their data deleted with them.

Like a dynamic provisioner with `volumeBindingMode: Immediate` and
`reclaimPolicy: Delete`: a new claim gets a volume (`pvc-<uid>`, a directory
`$REMEDLAB_HOME/volumes/<namespace>/<claim>`) and the phase Bound; a deleted
claim keeps its `kubernetes.io/pvc-protection` finalizer while a pod still
names it, then its data goes and the claim with it. Deleting a namespace thus
deletes its volumes, and an app deployed again starts from fresh data.
"""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

from remedlab.api.kinds import Obj
from remedlab.cluster.apiserver.store import Store
from remedlab.cluster.controllers.event_recorder import EventRecorder
from remedlab.cluster.node.volume_mounts import mounts_under

PROTECTION = "kubernetes.io/pvc-protection"
PROVISIONER = "remedlab.io/local-path"


def claim_dir(home: Path, namespace: str, claim: str) -> Path:
    """Where a claim's data lives on the host."""
    return home / "volumes" / namespace / claim


def _claims_in_use(store: Store, namespace: str) -> set[str]:
    used: set[str] = set()
    for pod in store.list_objects("Pod", namespace):
        for volume in pod["spec"].get("volumes") or []:
            source = volume.get("persistentVolumeClaim")
            if source:
                used.add(str(source.get("claimName")))
    return used


class VolumeController:
    def __init__(self, store: Store, events: EventRecorder, home: Path) -> None:
        self.store = store
        self.events = events
        self.home = home
        self._deleting: set[Path] = set()
        self._lock = threading.Lock()

    def _delete_in_background(self, data: Path) -> None:
        """Remove a volume's files off the control loop (large trees take a while); the claim goes after."""

        def remove() -> None:
            try:
                shutil.rmtree(data, ignore_errors=True)
            finally:
                with self._lock:
                    self._deleting.discard(data)

        with self._lock:
            self._deleting.add(data)
        threading.Thread(target=remove, name=f"delete-volume-{data.name}", daemon=True).start()

    def reconcile(self) -> None:
        for claim in self.store.list_objects("PersistentVolumeClaim"):
            if claim["metadata"].get("deletionTimestamp"):
                self._release(claim)
            else:
                self._bind(claim)

    def _bind(self, claim: Obj) -> None:
        meta, spec = claim["metadata"], claim["spec"]
        status = claim.get("status") or {}
        finalizers = list(meta.get("finalizers") or [])
        if status.get("phase") == "Bound" and PROTECTION in finalizers:
            return
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
        self.store.update(claim)
        if newly:
            self.events.record(
                claim,
                "ProvisioningSucceeded",
                f"Successfully provisioned volume {spec['volumeName']}",
                "Normal",
                component=PROVISIONER,
            )

    def _release(self, claim: Obj) -> None:
        meta = claim["metadata"]
        namespace, name = meta["namespace"], meta["name"]
        if name in _claims_in_use(self.store, namespace):
            return  # protected while a pod still uses it
        data = claim_dir(self.home, namespace, name)
        with self._lock:
            if data in self._deleting:
                return
        if data.exists():
            if mounts_under(data):
                return  # a pod's mount is still being torn down
            self._delete_in_background(data)
            return
        remaining = [f for f in meta.get("finalizers") or [] if f != PROTECTION]
        if remaining:
            meta["finalizers"] = remaining
            self.store.update(claim)
        else:
            self.store.delete("PersistentVolumeClaim", namespace, name)
