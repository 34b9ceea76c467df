"""The embedded cluster: store, controllers, kubelet, dataplane and sampler in one asyncio loop."""

from __future__ import annotations

import asyncio
import contextlib
import os
import platform
import socket
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import psutil

from remedlab import __version__
from remedlab.api.kinds import Obj
from remedlab.api.times import now_iso
from remedlab.cluster.apiserver.registry import ObjectAPI
from remedlab.cluster.apiserver.store import Change, Store
from remedlab.cluster.controllers.deployment_controller import DeploymentController
from remedlab.cluster.controllers.endpoints_controller import EndpointsController
from remedlab.cluster.controllers.event_recorder import EventRecorder
from remedlab.cluster.controllers.garbage_collector import GarbageCollector
from remedlab.cluster.controllers.replicaset_controller import ReplicaSetController
from remedlab.cluster.controllers.scheduler import Scheduler
from remedlab.cluster.controllers.volume_controller import VolumeController
from remedlab.cluster.dataplane.dataplane import Dataplane, Endpoint, ServicePortMap
from remedlab.cluster.dataplane.ipam import AddressPool, cluster_ranges, node_address
from remedlab.cluster.node.images import ImageRegistry
from remedlab.cluster.node.isolation.sandbox import Isolation
from remedlab.cluster.node.kubelet import Kubelet, KubeletConfig
from remedlab.cluster.node.metrics_sampler import MetricsSampler

KUBERNETES_VERSION = "v1.30.0-remedlab"


class Reconciler(Protocol):
    def reconcile(self) -> None: ...


RESYNC_SECONDS = 1.0


@dataclass
class ClusterConfig:
    home: Path
    node_name: str = field(default_factory=socket.gethostname)
    kubelet: KubeletConfig = field(default_factory=KubeletConfig)
    images_file: Path | None = None
    prefer_fallback_isolation: bool = False


class EmbeddedCluster:
    def __init__(self, config: ClusterConfig) -> None:
        self.config = config
        self.home = config.home
        self.home.mkdir(parents=True, exist_ok=True)
        self.store = Store(self.home / "cluster.db")
        cluster_id = self.store.get_meta("cluster_id")
        if cluster_id is None:
            cluster_id = os.urandom(4).hex()
            self.store.set_meta("cluster_id", cluster_id)
        self.cluster_id = cluster_id
        service_cidr, pod_cidr = cluster_ranges(self.store)
        self.service_cidr, self.pod_cidr = service_cidr, pod_cidr
        self.events = EventRecorder(self.store, config.node_name)
        self.api = ObjectAPI(self.store, self.events, AddressPool(service_cidr))
        self.pod_ips = AddressPool(pod_cidr)
        # the node's own address (pods' status.hostIP), never handed to a pod
        self.node_ip = node_address(pod_cidr)
        self.pod_ips.reserve([self.node_ip])
        self.isolation = Isolation.detect(
            cluster_id, prefer_fallback=config.prefer_fallback_isolation, state_dir=str(self.home)
        )
        self.dataplane = Dataplane()
        self.images = ImageRegistry.load(config.images_file)
        self.kubelet = Kubelet(
            self.store,
            self.events,
            config.node_name,
            self.home,
            self.images,
            self.isolation,
            self.dataplane,
            self.pod_ips,
            config.kubelet,
            host_ip=self.node_ip,
        )
        self.sampler = MetricsSampler(self.kubelet)
        self.controllers: list[Reconciler] = [
            Scheduler(self.store, self.events, config.node_name),
            DeploymentController(self.store, self.events),
            ReplicaSetController(self.store, self.api, self.events),
            GarbageCollector(self.store, self.api),
            EndpointsController(self.store),
            VolumeController(self.store, self.events, self.home),
        ]
        self._dirty = asyncio.Event()
        self._loop_task: asyncio.Task[None] | None = None
        self._services: dict[str, tuple[str, list[ServicePortMap]]] = {}
        self.started_at = time.time()
        self.errors: list[str] = []
        self.store.subscribe(self._on_change)

    # ------------------------------------------------------------------ lifecycle

    def _on_change(self, change: Change) -> None:
        if change.kind != "Event":
            self._dirty.set()

    async def start(self) -> None:
        self._dirty = asyncio.Event()
        self._register_node()
        for ns in ("default", "kube-system"):
            if self.store.get("Namespace", None, ns) is None:
                self.api.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
        await self.dataplane.start()
        self.kubelet.sweep_leftovers()
        self.sampler.start()
        self._loop_task = asyncio.create_task(self._control_loop())
        self._dirty.set()

    async def stop(self) -> None:
        if self._loop_task is not None:
            self._loop_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._loop_task
        await self.sampler.stop()
        await self.kubelet.shutdown()
        with contextlib.suppress(Exception):
            self.isolation.cleanup_cluster()
        await self.dataplane.stop()
        self.store.close()

    def _register_node(self) -> None:
        memory = psutil.virtual_memory().total
        cpus = psutil.cpu_count() or 1
        name = self.config.node_name
        node: Obj = {
            "apiVersion": "v1",
            "kind": "Node",
            "metadata": {
                "name": name,
                "labels": {
                    "kubernetes.io/hostname": name,
                    "kubernetes.io/os": "linux",
                    "kubernetes.io/arch": {"x86_64": "amd64", "aarch64": "arm64"}.get(
                        platform.machine(), platform.machine()
                    ),
                    "beta.kubernetes.io/os": "linux",
                    "node-role.kubernetes.io/control-plane": "",
                    "node.remedlab.io/embedded": "true",
                },
            },
            "spec": {},
            "status": {
                "capacity": {"cpu": str(cpus), "memory": f"{memory // 1024}Ki", "pods": "250"},
                "allocatable": {"cpu": str(cpus), "memory": f"{memory // 1024}Ki", "pods": "250"},
                "conditions": [
                    {
                        "type": "Ready",
                        "status": "True",
                        "reason": "KubeletReady",
                        "message": "kubelet is posting ready status",
                        "lastHeartbeatTime": now_iso(),
                        "lastTransitionTime": now_iso(),
                    }
                ],
                "addresses": [
                    {"type": "InternalIP", "address": self.node_ip},
                    {"type": "Hostname", "address": name},
                ],
                "nodeInfo": {
                    "kubeletVersion": KUBERNETES_VERSION,
                    "kubeProxyVersion": KUBERNETES_VERSION,
                    "containerRuntimeVersion": f"remedlab://{__version__}",
                    "operatingSystem": "linux",
                    "architecture": platform.machine(),
                    "kernelVersion": platform.release(),
                    "osImage": _os_image(),
                },
            },
        }
        existing = self.store.get("Node", None, name)
        if existing is None:
            self.store.create(node)
        else:
            existing["metadata"]["labels"] = {
                **node["metadata"]["labels"],
                **existing["metadata"].get("labels", {}),
            }
            existing["status"] = node["status"]
            self.store.update(existing)

    # ------------------------------------------------------------------ reconciling

    async def _control_loop(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._dirty.wait(), RESYNC_SECONDS)
            self._dirty.clear()
            self.reconcile_once()
            try:
                await self._sync_dataplane()
            except Exception as exc:  # keep the loop alive; report it
                self._error(f"dataplane: {type(exc).__name__}: {exc}")
            await asyncio.sleep(0)

    def reconcile_once(self) -> None:
        for controller in self.controllers:
            try:
                controller.reconcile()
            except Exception as exc:
                self._error(f"{type(controller).__name__}: {type(exc).__name__}: {exc}")
        try:
            self.kubelet.reconcile()
        except Exception as exc:
            self._error(f"Kubelet: {type(exc).__name__}: {exc}")

    def _error(self, message: str) -> None:
        self.errors.append(message)
        del self.errors[:-100]

    async def _sync_dataplane(self) -> None:
        wanted: dict[str, tuple[str, list[ServicePortMap]]] = {}
        endpoints = {
            (e["metadata"]["namespace"], e["metadata"]["name"]): e for e in self.store.list_objects("Endpoints")
        }
        for svc in self.store.list_objects("Service"):
            ip = svc["spec"].get("clusterIP")
            if not ip or ip == "None":
                continue
            key = f"{svc['metadata']['namespace']}/{svc['metadata']['name']}"
            ep = endpoints.get((svc["metadata"]["namespace"], svc["metadata"]["name"]))
            ports = []
            for sp in svc["spec"].get("ports") or []:
                members: list[Endpoint] = []
                for subset in (ep or {}).get("subsets") or []:
                    port = _subset_port(subset, sp.get("name"))
                    if port is None:
                        continue
                    for address in subset.get("addresses") or []:
                        uid = (address.get("targetRef") or {}).get("uid", "")
                        members.append(Endpoint(uid, address["ip"], port))
                ports.append(ServicePortMap(int(sp["port"]), tuple(members)))
            wanted[key] = (ip, ports)
        for key in list(self._services):
            if key not in wanted:
                await self.dataplane.remove_service(key)
                del self._services[key]
        for key, value in wanted.items():
            if self._services.get(key) != value:
                await self.dataplane.set_service(key, value[0], value[1])
                self._services[key] = value

    # ------------------------------------------------------------------ waiting

    def namespace_ready(self, namespace: str) -> tuple[int, int]:
        """(ready pods, expected pods) of a namespace's deployments."""
        expected = sum(int(d["spec"].get("replicas", 1)) for d in self.store.list_objects("Deployment", namespace))
        ready = 0
        for d in self.store.list_objects("Deployment", namespace):
            status = d.get("status") or {}
            if status.get("observedGeneration") == d["metadata"].get("generation"):
                ready += min(int(status.get("readyReplicas", 0)), int(status.get("updatedReplicas", 0)))
        return ready, expected

    async def wait_namespace_ready(self, namespace: str, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            ready, expected = self.namespace_ready(namespace)
            if ready >= expected and self._rollouts_done(namespace):
                return True
            await asyncio.sleep(0.05)
        return False

    def _rollouts_done(self, namespace: str) -> bool:
        for d in self.store.list_objects("Deployment", namespace):
            status: dict[str, Any] = d.get("status") or {}
            want = int(d["spec"].get("replicas", 1))
            if status.get("observedGeneration") != d["metadata"].get("generation"):
                return False
            if int(status.get("updatedReplicas", 0)) != want or int(status.get("replicas", 0)) != want:
                return False
            if int(status.get("availableReplicas", 0)) < want:
                return False
        return True


def _subset_port(subset: dict[str, Any], name: str | None) -> int | None:
    for port in subset.get("ports") or []:
        if port.get("name") == name or (name is None and len(subset.get("ports") or []) == 1):
            return int(port["port"])
    return None


def _os_image() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/etc/os-release").read_text().splitlines():
            if line.startswith("PRETTY_NAME="):
                return line.split("=", 1)[1].strip('"')
    return platform.platform()
