"""The `local` backend: the embedded, container-free cluster in this process."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path
from typing import Any

from remedlab.api.client import PatchType, WatchEvent
from remedlab.api.errors import BadRequest
from remedlab.api.fault_runtime import StressParams
from remedlab.api.fidelity_check import FidelityCheck
from remedlab.api.kinds import CHAOS_KINDS
from remedlab.api.labels import matches_selector_string
from remedlab.api.pod_log_options import LogOptions
from remedlab.cluster.apiserver.registry import ObjectAPI, kind_of
from remedlab.cluster.apiserver.store import Change, Store
from remedlab.cluster.controllers.change_feed import ChangeFeed, copied
from remedlab.cluster.embedded import ClusterConfig, EmbeddedCluster
from remedlab.cluster.fault_runtime import LocalFaultRuntime, stress_argv
from remedlab.cluster.node.isolation.fidelity import cluster_dns_check, fuse_check, network_fault_check
from remedlab.cluster.node.isolation.sandbox import Isolation
from remedlab.volume_storage import storage_check

Obj = dict[str, Any]


class StoreWatch:
    """A watch of the embedded cluster's store (see Backend.watch): the objects there are as ADDED
    events, then each change, in resourceVersion order."""

    def __init__(self, store: Store, kinds: frozenset[str], namespace: str | None) -> None:
        self.kinds = kinds
        self.namespace = namespace
        self._events: asyncio.Queue[WatchEvent | None] = asyncio.Queue()
        self._closed = False
        self._feed = ChangeFeed(store, self._on_change, self._select)
        with store.lock:
            for kind in sorted(kinds):
                for obj in store.list_objects(kind, namespace):
                    self._events.put_nowait(WatchEvent("ADDED", obj))
            self._feed.start()

    def _select(self, change: Change) -> Change | None:
        if change.kind not in self.kinds or (self.namespace and change.namespace != self.namespace):
            return None
        return copied(change)

    def _on_change(self, change: Change) -> None:
        self._events.put_nowait(WatchEvent(change.type, change.obj))

    def __aiter__(self) -> AsyncIterator[WatchEvent]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[WatchEvent]:
        while not self._closed:
            event = await self._events.get()
            if event is None:
                return
            yield event

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._feed.stop()
            self._events.put_nowait(None)


class ObjectApiBackend:
    """The objects part of a Backend over an embedded cluster's store and object API (the local backend's,
    and any that runs only a store)."""

    def __init__(self, store: Store, api: ObjectAPI) -> None:
        self.store = store
        self.api = api

    # ------------------------------------------------------------------ objects

    def list_objects(
        self,
        resource: str,
        namespace: str | None = None,
        label_selector: str | None = None,
        field_selector: str | None = None,
    ) -> list[Obj]:
        return self.api.list_objects(resource, namespace, label_selector, field_selector)

    def get(self, resource: str, namespace: str | None, name: str) -> Obj:
        return self.api.get(resource, namespace, name)

    def create(self, obj: Obj, namespace: str | None = None) -> Obj:
        return self.api.create(obj, namespace)

    def replace(self, obj: Obj, namespace: str | None = None) -> Obj:
        return self.api.replace(obj, namespace)

    def apply(self, objects: list[Any], namespace: str | None = None, dry_run: bool = False) -> list[dict[str, str]]:
        return self.api.apply(objects, namespace, dry_run)

    def patch(self, resource: str, namespace: str | None, name: str, patch_type: PatchType, patch: Any) -> Obj:
        return self.api.patch(resource, namespace, name, patch_type, patch)

    def delete(self, resource: str, namespace: str | None, name: str, grace_seconds: int | None = None) -> Obj:
        return self.api.delete(resource, namespace, name, grace_seconds)

    def update_status(self, resource: str, namespace: str | None, name: str, status: dict[str, Any]) -> Obj:
        return self.api.update_status(resource, namespace, name, status)

    def watch(self, resources: Sequence[str], namespace: str | None = None) -> StoreWatch:
        return StoreWatch(self.store, frozenset(kind_of(r).kind for r in resources), namespace)


class LocalBackend(ObjectApiBackend):
    name = "local"

    def __init__(self, config: ClusterConfig) -> None:
        self.cluster = EmbeddedCluster(config)
        super().__init__(self.cluster.store, self.cluster.api)
        self.faults = LocalFaultRuntime(self.cluster)

    def fault_runtime(self) -> LocalFaultRuntime:
        return self.faults

    def chaos_kinds(self) -> frozenset[str]:
        return CHAOS_KINDS

    async def start(self) -> None:
        await self.cluster.start()

    async def stop(self) -> None:
        await self.cluster.stop()

    # ------------------------------------------------------------------ pods

    def logs(self, namespace: str, name: str, options: LogOptions) -> str:
        # the kubelet raises the API's errors (NotFound, BadRequest) with kube-apiserver's messages
        return self.cluster.kubelet.pod_logs.logs(namespace, name, options)

    async def exec(
        self, namespace: str, name: str, container: str | None, command: list[str], timeout: float
    ) -> tuple[str, str, int]:
        return await self.cluster.kubelet.exec(namespace, name, container, command, timeout)

    # ------------------------------------------------------------------ metrics

    def top_pods(self, namespace: str | None = None, label_selector: str | None = None) -> list[dict[str, Any]]:
        items = []
        for series in self.cluster.sampler.latest(namespace):
            if label_selector:
                pod = self.cluster.store.get("Pod", series.namespace, series.name)
                if pod is None or not matches_selector_string(label_selector, pod["metadata"].get("labels") or {}):
                    continue
            sample = series.samples[-1]
            items.append(
                {
                    "namespace": series.namespace,
                    "name": series.name,
                    "cpuMillicores": round(sample.cpu_millicores, 1),
                    "memoryBytes": sample.memory_bytes,
                    "containers": [
                        {
                            "name": n,
                            "cpuMillicores": round(c.cpu_millicores, 1),
                            "memoryBytes": c.memory_bytes,
                        }
                        for n, c in sample.containers.items()
                    ],
                }
            )
        return sorted(items, key=lambda i: (i["namespace"], i["name"]))

    def pod_metrics(self, namespace: str | None, name: str | None, seconds: float) -> list[dict[str, Any]]:
        cutoff = time.time() - seconds
        out = []
        for series in self.cluster.sampler.latest(namespace):
            if name and series.name != name:
                continue
            out.append(
                {
                    "namespace": series.namespace,
                    "name": series.name,
                    "samples": [s.to_dict() for s in series.samples if s.t >= cutoff],
                }
            )
        return out

    # ------------------------------------------------------------------ health

    def action_user(self) -> tuple[int, int] | None:
        """The (uid, gid) agents' commands run as: the pods' unprivileged user when the server is root."""
        return self.cluster.isolation.run_as()

    def action_preexec(self) -> Callable[[], None] | None:
        """The pre-exec step agents' commands need to reach the runtime as that user (see Isolation)."""
        return self.cluster.isolation.action_preexec()

    def doctor(self) -> list[dict[str, str]]:
        kubelet = self.cluster.kubelet
        dns = kubelet.cluster_dns
        note = kubelet.cluster_dns_note if dns is None else kubelet.clock_shim_note
        return host_checks(
            self.cluster.isolation,
            kubelet.bind_mounts,
            kubelet.clock_shim,
            kubelet.clock_shim_note,
            cluster_dns_check(kubelet.dns_mode.value, dns.address if dns else None, note),
            kubelet.mount_namespace_check(),
            storage_check(self.cluster.home),
        )

    async def wait_namespace_ready(self, namespace: str, timeout: float) -> bool:
        return await self.cluster.wait_namespace_ready(namespace, timeout)

    def namespace_ready(self, namespace: str) -> tuple[int, int]:
        return self.cluster.namespace_ready(namespace)

    async def service_address(self, namespace: str, service: str, port: int) -> tuple[str, int]:
        """The Service's cluster IP: the node serves it on loopback."""
        ip = str((self.get("services", namespace, service).get("spec") or {}).get("clusterIP") or "None")
        if ip == "None":
            raise BadRequest(f'service "{service}" has no cluster IP (a headless Service): name one that has')
        return ip, port


def host_checks(
    isolation: Isolation,
    bind_mounts: bool,
    clock_shim: Path | None,
    clock_shim_note: str,
    cluster_dns: FidelityCheck,
    mount_namespace: FidelityCheck,
    volume_storage: FidelityCheck,
) -> list[dict[str, str]]:
    """Every mechanism the embedded cluster relies on, with the fidelity this host gives it."""
    checks = [
        *isolation.report(), mount_namespace, fuse_check(), network_fault_check(), cluster_dns, volume_storage,
    ]  # fmt: skip
    out = [c.as_dict() for c in checks]
    out.append(
        {"mechanism": "io fault scope", "level": "full", "detail": "per-pod bind mounts: an IO fault binds to a pod"}
        if bind_mounts
        else {
            "mechanism": "io fault scope",
            "level": "degraded",
            "detail": "no bind mounts (not root): an IO fault binds to the volume, so a new pod on it inherits it",
        }
    )
    _argv, tool = stress_argv(StressParams(cpu_workers=1))
    out.append({"mechanism": "stress faults", "level": "full" if tool == "stress-ng" else "degraded", "detail": tool})
    out.append(
        {"mechanism": "time faults", "level": "full", "detail": f"clock shim {clock_shim} (CLOCK_REALTIME)"}
        if clock_shim is not None
        else {"mechanism": "time faults", "level": "none", "detail": clock_shim_note}
    )
    user = isolation.run_as()
    out.append(
        {
            "mechanism": "agent actions",
            "level": "full",
            "detail": f"probes and playbooks run as uid {user[0]} in their own directory, no shell, time-limited",
        }
        if user is not None
        else {
            "mechanism": "agent actions",
            "level": "degraded",
            "detail": "probes and playbooks run as the server's own user (not root: no user to switch to); "
            "the allowlist still applies",
        }
    )
    return out
