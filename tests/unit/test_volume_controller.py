"""Claims are bound at once, protected while a pod uses them, and deleted with their data."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from remedlab.cluster.apiserver.store import Store
from remedlab.cluster.controllers.event_recorder import EventRecorder
from remedlab.cluster.controllers.informer import InformerFactory
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


async def _until(check: Callable[[], bool], timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.01)


async def _claims_bind_then_go(home: Path) -> None:
    store = Store(home / "cluster.db")
    informers = InformerFactory(store)
    controller = VolumeController(informers, store, EventRecorder(store, "node"), home)
    informers.start()
    controller.start()
    try:
        store.create(_claim("data-db"))
        store.create(_pod("db-0", "data-db"))
        await _until(lambda: (store.must_get("PersistentVolumeClaim", NS, "data-db").get("status") or {}) != {})
        claim = store.must_get("PersistentVolumeClaim", NS, "data-db")
        assert claim["status"] == {"phase": "Bound", "accessModes": ["ReadWriteOnce"], "capacity": {"storage": "1Gi"}}
        assert claim["spec"]["volumeName"] == f"pvc-{claim['metadata']['uid']}"
        assert PROTECTION in claim["metadata"]["finalizers"]
        assert any(e["reason"] == "ProvisioningSucceeded" for e in store.list_objects("Event", NS))
        rv = claim["metadata"]["resourceVersion"]
        await asyncio.sleep(0.1)
        assert store.must_get("PersistentVolumeClaim", NS, "data-db")["metadata"]["resourceVersion"] == rv  # no churn

        data = claim_dir(home, NS, "data-db")
        (data / "base").mkdir(parents=True)
        (data / "base" / "table").write_text("rows")
        claim["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z"
        store.update(claim)
        await asyncio.sleep(0.1)
        assert store.get("PersistentVolumeClaim", NS, "data-db") is not None and data.exists()  # a pod still uses it

        store.delete("Pod", NS, "db-0")  # its deletion brings the claim back: the data goes, then the claim
        await _until(lambda: store.get("PersistentVolumeClaim", NS, "data-db") is None)
        assert not data.exists()
    finally:
        await controller.stop()
        informers.stop()
        store.close()


def test_claims_bind_then_go_with_their_data_once_no_pod_uses_them(tmp_path: Path) -> None:
    asyncio.run(_claims_bind_then_go(tmp_path))
