"""The embedded cluster: store, controllers, kubelet, dataplane and sampler in one asyncio loop.

The controllers, the kubelet's pod sync and the service proxy each sync one key
at a time off their work queue, fed by informers that follow the store's
changes (controllers/informer.py); nothing lists the whole store on a timer.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import platform
import socket
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

from remedlab import __version__
from remedlab.api.image_map import ImageRegistry
from remedlab.api.kinds import Obj
from remedlab.api.node_runtime import REMEDLAB_RUNTIME
from remedlab.api.rollout_readiness import READY_KINDS, app_ready, ready_counts
from remedlab.api.times import now_iso
from remedlab.cluster.apiserver.discovery import KUBERNETES_VERSION
from remedlab.cluster.apiserver.registry import ObjectAPI
from remedlab.cluster.apiserver.store import Change, Store
from remedlab.cluster.controllers.change_feed import ChangeFeed
from remedlab.cluster.controllers.daemonset_controller import DaemonSetController
from remedlab.cluster.controllers.deployment_controller import DeploymentController
from remedlab.cluster.controllers.endpoints_controller import EndpointsController
from remedlab.cluster.controllers.event_recorder import EventRecorder
from remedlab.cluster.controllers.garbage_collector import GarbageCollector
from remedlab.cluster.controllers.informer import InformerFactory
from remedlab.cluster.controllers.job_controller import JobController
from remedlab.cluster.controllers.namespace_controller import NamespaceController
from remedlab.cluster.controllers.queue_controller import QueueController
from remedlab.cluster.controllers.replicaset_controller import ReplicaSetController
from remedlab.cluster.controllers.scheduler import Scheduler
from remedlab.cluster.controllers.service_account_controller import ServiceAccountController
from remedlab.cluster.controllers.service_proxy import ServiceProxy
from remedlab.cluster.controllers.statefulset_controller import StatefulSetController
from remedlab.cluster.controllers.volume_controller import VolumeController
from remedlab.cluster.dataplane.dataplane import Dataplane
from remedlab.cluster.dataplane.ipam import AddressPool, cluster_ranges, node_address
from remedlab.cluster.dns.kube_dns import ensure_dns_service
from remedlab.cluster.dns.records import ClusterRecords
from remedlab.cluster.dns.server import DnsServer
from remedlab.cluster.dns.sources import InformerObjects
from remedlab.cluster.dns.zone import DNS_PORT, DNS_SERVICE_KEY
from remedlab.cluster.node.isolation.sandbox import Isolation
from remedlab.cluster.node.kubelet import Kubelet, KubeletConfig
from remedlab.cluster.node.metrics_sampler import MetricsSampler
from remedlab.cluster.node.pod_dns import ClusterDns
from remedlab.cluster.node.pod_sync import PodSync
from remedlab.volume_storage import forget_orphans, place_claims

SAFETY_RESYNC_SECONDS = 60.0
"""Every cached object is handed to the controllers again this often, as informers' resync does: a
safety net, not the way they work. Each sync that waits on time or on the host (a pod's availability, a
progress deadline, a volume's mount) asks to be retried itself; this only bounds how long a sync that
hit something unforeseen stays stale."""

"""The workloads a namespace waits for to be rolled out and available before it counts as ready."""


@dataclass
class ClusterConfig:
    home: Path
    node_name: str = field(default_factory=socket.gethostname)
    kubelet: KubeletConfig = field(default_factory=KubeletConfig)
    images_file: Path | None = None
    prefer_fallback_isolation: bool = False
    dns_ports: tuple[int, ...] = (DNS_PORT, 0)
    """Where the cluster DNS listens on kube-dns's cluster IP: the first port of these it can bind (0: any
    free port; port 53 needs root)."""


class EmbeddedCluster:
    def __init__(self, config: ClusterConfig) -> None:
        self.config = config
        self.home = config.home
        self.home.mkdir(parents=True, exist_ok=True)
        place_claims(self.home)
        threading.Thread(target=forget_orphans, name="forget-orphan-volumes", daemon=True).start()
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
        self.informers = InformerFactory(self.store, SAFETY_RESYNC_SECONDS)
        # the ReplicaSet controller first: it replaces a deleted pod before anything else hears of it
        self.controllers: list[QueueController[Any]] = [
            ReplicaSetController(self.informers, self.store, self.api, self.events),
            DeploymentController(self.informers, self.store, self.events),
            StatefulSetController(self.informers, self.store, self.api, self.events),
            DaemonSetController(self.informers, self.store, self.api, self.events),
            JobController(self.informers, self.store, self.api, self.events),
            Scheduler(self.informers, self.store, self.events, config.node_name),
            PodSync(self.informers, self.kubelet, self.events),
            EndpointsController(self.informers, self.store, self.events),
            ServiceProxy(self.informers, self.dataplane, self.events, frozenset({DNS_SERVICE_KEY})),
            GarbageCollector(self.informers, self.store, self.api, self.events),
            NamespaceController(self.informers, self.store, self.api, self.events),
            ServiceAccountController(self.informers, self.api, self.events),
            VolumeController(self.informers, self.store, self.events, self.home),
        ]
        self.dns_records = ClusterRecords(InformerObjects(self.informers))
        self.dns: DnsServer | None = None
        self.started_at = time.time()

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        self._register_node()
        for ns in ("default", "kube-system"):
            if self.store.get("Namespace", None, ns) is None:
                self.api.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
        await self.dataplane.start()
        await self._start_dns()
        self.kubelet.sweep_leftovers()
        self.sampler.start()
        self.informers.start()
        for controller in self.controllers:
            controller.start()

    async def _start_dns(self) -> None:
        """Serve the cluster DNS on kube-dns's cluster IP; pods get no cluster DNS when it cannot bind."""
        ip = ensure_dns_service(self.api, self.store, self.service_cidr)
        server = DnsServer(self.dns_records, ip, self.config.dns_ports)
        try:
            await server.start()
        except OSError as exc:
            logging.getLogger(__name__).warning("cluster DNS unavailable: cannot listen on %s: %s", ip, exc)
            self.kubelet.cluster_dns_note = f"cannot listen on {ip}: {exc.strerror or exc}"
            return
        self.dns = server
        self.kubelet.cluster_dns = ClusterDns(ip, server.port)

    async def stop(self) -> None:
        for controller in self.controllers:
            await controller.stop()
        if self.dns is not None:
            await self.dns.stop()
        self.informers.stop()
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
                    "containerRuntimeVersion": f"{REMEDLAB_RUNTIME}{__version__}",
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

    # ------------------------------------------------------------------ waiting

    def namespace_ready(self, namespace: str) -> tuple[int, int]:
        """(ready pods, expected pods) of a namespace's Deployments and StatefulSets."""
        return ready_counts(self._workloads(namespace))

    def _workloads(self, namespace: str) -> list[Obj]:
        return [w for kind in READY_KINDS for w in self.store.list_objects(kind, namespace)]

    async def wait_namespace_ready(self, namespace: str, timeout: float) -> bool:
        """Wait until every Deployment and StatefulSet of ``namespace`` rolled out and is available, at most ``timeout``
        seconds; looked at again on each change of one of them."""
        changed = asyncio.Event()

        def on_change(change: Change) -> None:
            if change.namespace == namespace:
                changed.set()

        feed = ChangeFeed(self.store, on_change, lambda c: c if c.kind in READY_KINDS else None)
        feed.start()
        try:
            deadline = time.monotonic() + timeout
            while True:
                changed.clear()
                if app_ready(self._workloads(namespace)):
                    return True
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(changed.wait(), remaining)
        finally:
            feed.stop()


def _os_image() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/etc/os-release").read_text().splitlines():
            if line.startswith("PRETTY_NAME="):
                return line.split("=", 1)[1].strip('"')
    return platform.platform()
