"""The controllers, driven by watches, in one process without a kubelet: each reacts to the changes
it follows, waits on time with delayed retries, and turns a failed sync into a Warning Event."""

from __future__ import annotations

import asyncio
import time
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any

from remedlab.api.kinds import Obj
from remedlab.api.times import now_iso
from remedlab.cluster.apiserver.store import Store
from remedlab.cluster.controllers.deployment_controller import DeploymentController
from remedlab.cluster.controllers.endpoints_controller import EndpointsController
from remedlab.cluster.controllers.event_recorder import EventRecorder
from remedlab.cluster.controllers.garbage_collector import GarbageCollector
from remedlab.cluster.controllers.namespace_controller import NamespaceController
from remedlab.cluster.controllers.queue_controller import QueueController
from remedlab.cluster.controllers.replicaset_controller import ReplicaSetController
from remedlab.cluster.controllers.scheduler import Scheduler
from tests.unit.controller_lab import NODE, ControllerLab, running, until

NS = "shop"


class Cluster(ControllerLab):
    def __init__(self, home: Path, scheduler: bool) -> None:
        super().__init__(home, NS, {"disk": "hdd"})
        self.controllers = [
            ReplicaSetController(self.informers, self.store, self.api, self.events),
            DeploymentController(self.informers, self.store, self.events),
            EndpointsController(self.informers, self.store, self.events),
            GarbageCollector(self.informers, self.store, self.api, self.events),
            NamespaceController(self.informers, self.store, self.api, self.events),
        ]
        if scheduler:
            self.controllers.append(Scheduler(self.informers, self.store, self.events, NODE))

    def pods(self) -> list[Obj]:
        return self.store.list_objects("Pod", NS)

    def make_ready(self, pod: Obj, ip: str) -> None:
        pod = self.store.must_get("Pod", NS, pod["metadata"]["name"])
        pod["status"] = {
            "phase": "Running",
            "podIP": ip,
            "conditions": [{"type": "Ready", "status": "True", "lastTransitionTime": now_iso()}],
        }
        self.store.update(pod)


def cluster(home: Path, scheduler: bool = True) -> AbstractAsyncContextManager[Cluster]:
    return running(Cluster(home, scheduler))


def deployment(name: str, replicas: int, **spec: Any) -> Obj:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": NS},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "main", "image": "remedlab/busybox"}]},
            },
            **spec,
        },
    }


def test_a_deployment_gets_pods_and_a_deleted_pod_is_replaced_at_once(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with cluster(tmp_path) as c:
            c.api.create(deployment("web", 3))
            await until(lambda: len(c.pods()) == 3 and all(p["spec"].get("nodeName") for p in c.pods()), what="pods")
            victim = c.pods()[0]
            c.api.delete("pods", NS, victim["metadata"]["name"])  # graceful: marked, left to the kubelet
            took = await until(
                lambda: sum(1 for p in c.pods() if not p["metadata"].get("deletionTimestamp")) == 3, what="replacement"
            )
            assert took < 1.0
            assert "SuccessfulCreate" in c.reasons("ReplicaSet", c.pods()[0]["metadata"]["ownerReferences"][0]["name"])
            c.api.patch("deployments", NS, "web", "merge", {"spec": {"replicas": 1}})
            await until(
                lambda: sum(1 for p in c.pods() if not p["metadata"].get("deletionTimestamp")) == 1, what="scale down"
            )

    asyncio.run(scenario())


def test_readiness_fills_the_endpoints_and_the_deployment_status(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with cluster(tmp_path) as c:
            c.api.create(deployment("web", 2))
            c.api.create(
                {
                    "apiVersion": "v1",
                    "kind": "Service",
                    "metadata": {"name": "web", "namespace": NS},
                    "spec": {"selector": {"app": "web"}, "ports": [{"port": 80, "targetPort": 8080}]},
                }
            )
            await until(lambda: len(c.pods()) == 2, what="pods")
            for i, pod in enumerate(c.pods()):
                c.make_ready(pod, f"10.244.0.{i + 10}")

            def addresses() -> list[str]:
                ep = c.store.get("Endpoints", NS, "web")
                return [a["ip"] for s in (ep or {}).get("subsets") or [] for a in s.get("addresses") or []]

            await until(lambda: addresses() == ["10.244.0.10", "10.244.0.11"], what="endpoints")

            def available() -> int:
                return int((c.store.must_get("Deployment", NS, "web").get("status") or {}).get("availableReplicas", 0))

            await until(lambda: available() == 2, what="available deployment")
            c.api.delete("services", NS, "web")
            await until(lambda: c.store.get("Endpoints", NS, "web") is None, what="endpoints gone")

    asyncio.run(scenario())


def test_availability_waits_for_min_ready_seconds_without_other_changes(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with cluster(tmp_path) as c:
            c.api.create(deployment("web", 1, minReadySeconds=2))
            await until(lambda: len(c.pods()) == 1, what="pod")
            c.make_ready(c.pods()[0], "10.244.0.10")

            def status(kind: str, name: str | None = None) -> dict[str, Any]:
                objs = [o for o in c.store.list_objects(kind, NS) if name is None or o["metadata"]["name"] == name]
                return dict(objs[0].get("status") or {}) if objs else {}

            await until(lambda: status("ReplicaSet").get("readyReplicas") == 1, what="ready")
            assert status("ReplicaSet").get("availableReplicas") == 0
            took = await until(lambda: status("Deployment").get("availableReplicas") == 1, what="available", timeout=5)
            assert 0.9 < took < 4.0  # Ready's lastTransitionTime has whole seconds

    asyncio.run(scenario())


def test_a_stalled_rollout_exceeds_its_progress_deadline(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with cluster(tmp_path) as c:
            c.api.create(deployment("web", 1, progressDeadlineSeconds=1))

            def progressing() -> str:
                conditions = (c.store.must_get("Deployment", NS, "web").get("status") or {}).get("conditions") or []
                return next((x.get("reason", "") for x in conditions if x["type"] == "Progressing"), "")

            await until(lambda: progressing() == "ReplicaSetUpdated", what="progressing")
            await until(lambda: progressing() == "ProgressDeadlineExceeded", timeout=5, what="deadline")

    asyncio.run(scenario())


def test_an_unschedulable_pod_waits_and_is_bound_once_the_node_fits(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with cluster(tmp_path) as c:
            pod: Obj = {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {"name": "picky", "namespace": NS},
                "spec": {"nodeSelector": {"disk": "ssd"}, "containers": [{"name": "c", "image": "remedlab/busybox"}]},
            }
            c.api.create(pod)
            await until(lambda: "FailedScheduling" in c.reasons("Pod", "picky"), what="FailedScheduling")
            assert not c.store.must_get("Pod", NS, "picky")["spec"].get("nodeName")
            node = c.store.must_get("Node", None, NODE)
            node["metadata"]["labels"]["disk"] = "ssd"
            c.store.update(node)
            await until(lambda: c.store.must_get("Pod", NS, "picky")["spec"].get("nodeName") == NODE, what="bound")

    asyncio.run(scenario())


def test_dependents_go_with_their_owner_and_a_deleted_namespace_empties(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with cluster(tmp_path, scheduler=False) as c:  # unbound pods go at once
            c.api.create(deployment("web", 2))
            c.api.create(deployment("api", 1))
            c.api.create({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg", "namespace": NS}})
            await until(lambda: len(c.pods()) == 3, what="pods")
            c.store.delete("Deployment", NS, "api")
            await until(lambda: len(c.pods()) == 2 and len(c.store.list_objects("ReplicaSet", NS)) == 1, what="gc")
            c.api.delete("namespaces", None, NS)
            await until(lambda: c.store.get("Namespace", None, NS) is None, what="namespace gone")
            for kind in ("Deployment", "ReplicaSet", "Pod", "ConfigMap", "Event"):
                assert c.store.list_objects(kind, NS) == [], kind

    asyncio.run(scenario())


class Flaky(QueueController[str]):
    """Fails its first syncs of a key, then succeeds."""

    def __init__(self, store: Store, events: EventRecorder, failures: int) -> None:
        super().__init__("flaky-controller", events)
        self.store = store
        self.failures = failures
        self.attempts: list[float] = []

    def involved_object(self, key: str) -> Obj | None:
        return self.store.get("ConfigMap", NS, key)

    async def sync(self, key: str) -> None:
        self.attempts.append(time.monotonic())
        if len(self.attempts) <= self.failures:
            raise RuntimeError(f"attempt {len(self.attempts)}\nfailed")


def test_a_failed_sync_becomes_a_warning_event_and_is_retried_with_back_off(tmp_path: Path) -> None:
    async def scenario() -> None:
        store = Store(tmp_path / "cluster.db")
        events = EventRecorder(store, NODE)
        store.create({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg", "namespace": NS}})
        controller = Flaky(store, events, failures=4)
        controller.start()
        try:
            controller.queue.add("cfg")
            await until(lambda: len(controller.attempts) == 5, what="retries")
            gaps = [b - a for a, b in zip(controller.attempts, controller.attempts[1:], strict=False)]
            assert gaps[-1] > gaps[0] and gaps[-1] >= 0.04  # 5, 10, 20, 40 ms
            warnings = [e for e in store.list_objects("Event", NS) if e["reason"] == "FailedSync"]
            assert {e["type"] for e in warnings} == {"Warning"}
            assert {e["source"]["component"] for e in warnings} == {"flaky-controller"}
            assert all("\n" not in e["message"] for e in warnings)
            assert "RuntimeError: attempt 1 failed" in {e["message"] for e in warnings}
            assert controller.queue.retries("cfg") == 0  # forgotten once it succeeded
        finally:
            await controller.stop()
            store.close()

    asyncio.run(scenario())
