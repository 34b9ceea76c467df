"""Claims are bound at once, protected while a pod uses them, and deleted with their data."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from remedlab.cluster.apiserver.store import Store
from remedlab.cluster.controllers.event_recorder import EventRecorder
from remedlab.cluster.controllers.volume_controller import PROTECTION, VolumeController, claim_dir

NS = "shop"


def _claim(name: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": name, "namespace": NS},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}},
    }


def _pod(name: str, claim: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": NS},
        "spec": {
            "containers": [{"name": "db", "image": "remedlab/postgres:15"}],
            "volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": claim}}],
        },
    }


def test_claims_bind_then_go_with_their_data_once_no_pod_uses_them(tmp_path: Path) -> None:
    store = Store(tmp_path / "cluster.db")
    controller = VolumeController(store, EventRecorder(store, "node"), tmp_path)
    store.create(_claim("data-db"))
    store.create(_pod("db-0", "data-db"))
    controller.reconcile()
    claim = store.must_get("PersistentVolumeClaim", NS, "data-db")
    assert claim["status"] == {"phase": "Bound", "accessModes": ["ReadWriteOnce"], "capacity": {"storage": "1Gi"}}
    assert claim["spec"]["volumeName"] == f"pvc-{claim['metadata']['uid']}"
    assert PROTECTION in claim["metadata"]["finalizers"]
    assert any(e["reason"] == "ProvisioningSucceeded" for e in store.list_objects("Event", NS))
    rv = claim["metadata"]["resourceVersion"]
    controller.reconcile()
    assert store.must_get("PersistentVolumeClaim", NS, "data-db")["metadata"]["resourceVersion"] == rv  # no churn

    data = claim_dir(tmp_path, NS, "data-db")
    (data / "base").mkdir(parents=True)
    (data / "base" / "table").write_text("rows")
    claim["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    store.update(claim)
    controller.reconcile()
    assert store.get("PersistentVolumeClaim", NS, "data-db") is not None and data.exists()  # a pod still uses it

    store.delete("Pod", NS, "db-0")
    deadline = time.monotonic() + 10
    while store.get("PersistentVolumeClaim", NS, "data-db") is not None and time.monotonic() < deadline:
        controller.reconcile()  # the data goes in the background, then the claim
        time.sleep(0.01)
    assert store.get("PersistentVolumeClaim", NS, "data-db") is None and not data.exists()
