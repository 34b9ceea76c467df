"""The chaos controller follows a watch: it injects when a resource appears, recovers when `duration`
runs out (on a timer, nothing else changing), injects again into a pod instance whose fault was lost
when that pod changes, records a pod gone, and recovers on deletion; a failure shows as a Warning Event."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, cast

from remedlab.api.client import Backend
from remedlab.api.fault_runtime import FaultHandle, HttpParams, IoParams, NetworkParams, StressParams
from remedlab.api.kinds import CHAOS_KINDS, Obj
from remedlab.chaos.controller import FINALIZER, ChaosController, register_validators
from remedlab.cluster.apiserver.registry import ObjectAPI
from remedlab.cluster.apiserver.store import Store
from remedlab.cluster.controllers.event_recorder import EventRecorder
from remedlab.cluster.dataplane.ipam import AddressPool
from remedlab.cluster.local_backend import ObjectApiBackend

NS = "shop"


class StoreBackend(ObjectApiBackend):
    """The Backend operations the chaos controller uses, over a store (as the local backend does)."""

    def __init__(self, store: Store) -> None:
        super().__init__(store, ObjectAPI(store, EventRecorder(store, "node"), AddressPool("10.96.0.0/16")))

    def chaos_kinds(self) -> frozenset[str]:
        return CHAOS_KINDS


class FakeRuntime:
    """Records injections; a fault stays active until `lose` says otherwise."""

    def __init__(self) -> None:
        self.injected: list[tuple[str, str | None]] = []
        self.recovered: list[str] = []
        self.lost: set[str] = set()
        self._ids = itertools.count(1)

    async def stress(self, pod_uid: str, container: str | None, params: StressParams) -> FaultHandle:
        self.injected.append((pod_uid, container))
        return FaultHandle(f"stress-{next(self._ids)}", "stress", pod_uid, "full", "fake stressor")

    async def network(self, pod_uid: str, params: NetworkParams) -> FaultHandle:
        raise NotImplementedError

    async def http(self, pod_uid: str, params: HttpParams) -> FaultHandle:
        raise NotImplementedError

    async def io(self, pod_uid: str, container: str | None, params: IoParams) -> FaultHandle:
        raise NotImplementedError

    async def time_offset(self, pod_uid: str, container: str | None, offset_s: float) -> FaultHandle:
        raise NotImplementedError

    def kill_container(self, pod_uid: str, container: str | None) -> str:
        raise NotImplementedError

    def active(self, handle: FaultHandle) -> bool:
        return handle.id not in self.lost and handle.id not in self.recovered

    async def recover(self, handle: FaultHandle) -> None:
        self.recovered.append(handle.id)

    async def recover_all(self) -> None:
        pass


def _pod(name: str) -> Obj:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": NS, "labels": {"app": "web"}},
        "spec": {"nodeName": "node", "containers": [{"name": "web", "image": "remedlab/busybox"}]},
        "status": {
            "phase": "Running",
            "containerStatuses": [{"name": "web", "restartCount": 0, "state": {"running": {}}}],
        },
    }


def _stress(name: str, **spec: Any) -> Obj:
    return {
        "apiVersion": "chaos-mesh.org/v1alpha1",
        "kind": "StressChaos",
        "metadata": {"name": name, "namespace": NS},
        "spec": {"mode": "one", "selector": {"labelSelectors": {"app": "web"}}, "stressors": {"cpu": {"workers": 1}}}
        | spec,
    }


class ApiOnlyBackend(StoreBackend):
    """A cluster whose Chaos Mesh carries out its kinds: the server carries out its own kind only."""

    def chaos_kinds(self) -> frozenset[str]:
        return frozenset({"FunctionalChaos"})


def test_a_server_without_a_fault_runtime_carries_out_functional_chaos_alone(tmp_path: Path) -> None:
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": NS},
        "spec": {
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "web", "image": "busybox", "resources": {"limits": {"cpu": "1"}}}]},
            },
        },
    }
    chaos = {
        "apiVersion": "chaos.remedlab.io/v1alpha1",
        "kind": "FunctionalChaos",
        "metadata": {"name": "squeeze", "namespace": NS},
        "spec": {"action": "pod-config-error", "deployment": "web"},
    }

    def resources() -> dict[str, Any]:
        return dict(backend.get("deployments", NS, "web")["spec"]["template"]["spec"]["containers"][0]["resources"])

    async def scenario() -> None:
        controller = ChaosController(cast(Backend, backend), None)
        controller.start()
        try:
            backend.create(deployment)
            backend.create(_stress("burn"))  # Chaos Mesh's: not this server's to carry out
            backend.create(chaos)
            await until(lambda: resources().get("limits") == {"cpu": "2m", "memory": "200Mi"}, what="injection")
            backend.delete("functionalchaos", NS, "squeeze")
            await until(lambda: resources() == {"limits": {"cpu": "1"}}, what="recovery")
            await until(lambda: not backend.list_objects("functionalchaos", NS), what="deletion")
            assert not backend.get("stresschaos", NS, "burn").get("status")
        finally:
            await controller.stop()

    register_validators()
    store = Store(tmp_path / "cluster.db")
    backend = ApiOnlyBackend(store)
    backend.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}})
    try:
        asyncio.run(scenario())
    finally:
        store.close()


@asynccontextmanager
async def running(home: Path) -> AsyncIterator[tuple[StoreBackend, FakeRuntime]]:
    register_validators()
    store = Store(home / "cluster.db")
    backend = StoreBackend(store)
    backend.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}})
    runtime = FakeRuntime()
    controller = ChaosController(cast(Backend, backend), runtime)
    controller.start()
    try:
        yield backend, runtime
    finally:
        await controller.stop()
        store.close()


async def until(check: Callable[[], bool], timeout: float = 5, what: str = "") -> float:
    started = time.monotonic()
    while not check():
        assert time.monotonic() - started < timeout, f"timed out waiting for {what}"
        await asyncio.sleep(0.005)
    return time.monotonic() - started


def _experiment(backend: StoreBackend, name: str) -> dict[str, Any]:
    status = backend.get("stresschaos", NS, name).get("status") or {}
    return dict(status.get("experiment") or {})


def test_a_fault_is_injected_then_recovered_when_its_duration_ends(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running(tmp_path) as (backend, runtime):
            pod = backend.store.create(_pod("web-1"))
            backend.create(_stress("burn", duration="2s"))
            await until(lambda: _experiment(backend, "burn").get("desiredPhase") == "Run", what="injection")
            assert runtime.injected == [(pod["metadata"]["uid"], "web")]
            assert FINALIZER in backend.get("stresschaos", NS, "burn")["metadata"]["finalizers"]
            took = await until(lambda: _experiment(backend, "burn").get("desiredPhase") == "Stop", what="expiry")
            assert 0.9 < took < 3.0  # startTime has whole seconds
            assert runtime.recovered == ["stress-1"]
            records = _experiment(backend, "burn")["containerRecords"]
            assert [r["phase"] for r in records] == ["NotInjected"]

    asyncio.run(scenario())


def test_a_lost_fault_is_injected_again_when_its_pod_changes_and_a_gone_pod_is_recorded(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running(tmp_path) as (backend, runtime):
            pod = backend.store.create(_pod("web-1"))
            backend.create(_stress("burn"))
            await until(lambda: _experiment(backend, "burn").get("desiredPhase") == "Run", what="injection")
            runtime.lost.add("stress-1")  # e.g. the container restarted, and the stressor with it
            pod = backend.store.must_get("Pod", NS, "web-1")
            pod["status"]["containerStatuses"][0]["restartCount"] = 1
            backend.store.update(pod)
            await until(lambda: len(runtime.injected) == 2, what="re-injection")
            await until(
                lambda: _experiment(backend, "burn")["containerRecords"][0]["injectedCount"] == 2, what="record"
            )

            backend.store.delete("Pod", NS, "web-1")
            runtime.lost.add("stress-2")
            await until(
                lambda: _experiment(backend, "burn")["containerRecords"][0]["phase"] == "NotInjected", what="pod gone"
            )
            assert _experiment(backend, "burn")["containerRecords"][0]["message"] == "the pod instance is gone"

            backend.delete("stresschaos", NS, "burn")
            await until(lambda: not backend.list_objects("stresschaos", NS), what="deletion")

    asyncio.run(scenario())


def test_a_failed_injection_fails_the_resource_and_becomes_a_warning_event(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running(tmp_path) as (backend, runtime):
            backend.create(_stress("nothing-selected"))

            def failed() -> list[dict[str, Any]]:
                status = backend.get("stresschaos", NS, "nothing-selected").get("status") or {}
                return [c for c in status.get("conditions") or [] if c["type"] == "Failed"]

            await until(lambda: bool(failed()), what="Failed condition")
            assert failed()[0]["message"] == "no pod is selected by this experiment's selector"
            await until(
                lambda: any(e["reason"] == "FailedSync" for e in backend.list_objects("events", NS)), what="event"
            )
            event = next(e for e in backend.list_objects("events", NS) if e["reason"] == "FailedSync")
            assert event["type"] == "Warning" and event["involvedObject"]["name"] == "nothing-selected"
            assert runtime.injected == []

    asyncio.run(scenario())
