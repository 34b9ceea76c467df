"""Pod resource samples over time from a cluster's ``metrics.k8s.io`` API: the API answers the latest
usage only, so the history the harness reads (``Backend.pod_metrics``) is kept here by polling it,
with each pod's restart count from its status."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from remedlab.api.errors import ClusterError
from remedlab.api.quantity import cpu_millicores, memory_bytes
from remedlab.kube.api_client import KubeApi

log = logging.getLogger(__name__)

METRICS_PATH = "/apis/metrics.k8s.io/v1beta1"
HISTORY_SECONDS = 900


@dataclass(frozen=True)
class ContainerUsage:
    name: str
    cpu_millicores: float
    memory_bytes: int


@dataclass(frozen=True)
class PodUsage:
    namespace: str
    name: str
    t: float
    containers: tuple[ContainerUsage, ...]
    restarts: int = 0

    @property
    def cpu_millicores(self) -> float:
        return sum(c.cpu_millicores for c in self.containers)

    @property
    def memory_bytes(self) -> int:
        return sum(c.memory_bytes for c in self.containers)

    def top_item(self) -> dict[str, Any]:
        """The form of ``Backend.top_pods``' items."""
        return {
            "namespace": self.namespace,
            "name": self.name,
            "cpuMillicores": round(self.cpu_millicores, 1),
            "memoryBytes": self.memory_bytes,
            "containers": [
                {"name": c.name, "cpuMillicores": round(c.cpu_millicores, 1), "memoryBytes": c.memory_bytes}
                for c in self.containers
            ],
        }

    def sample(self) -> dict[str, float | int]:
        """The form of ``Backend.pod_metrics``' samples (the API reports no IO: none is given)."""
        return {
            "t": round(self.t, 3),
            "cpuMillicores": round(self.cpu_millicores, 1),
            "memoryBytes": self.memory_bytes,
            "restarts": self.restarts,
        }


def usage_of(item: dict[str, Any], t: float) -> PodUsage:
    """A PodMetrics object as a sample."""
    containers = tuple(
        ContainerUsage(
            str(c.get("name")),
            float(cpu_millicores((c.get("usage") or {}).get("cpu", "0"))),
            memory_bytes((c.get("usage") or {}).get("memory", "0")),
        )
        for c in item.get("containers") or []
    )
    meta = item.get("metadata") or {}
    return PodUsage(str(meta.get("namespace")), str(meta.get("name")), t, containers)


def pod_metrics_path(namespace: str | None) -> str:
    return f"{METRICS_PATH}/namespaces/{namespace}/pods" if namespace else f"{METRICS_PATH}/pods"


def current_usage(api: KubeApi, namespace: str | None) -> list[PodUsage]:
    now = time.time()
    items = api.request("GET", pod_metrics_path(namespace)).get("items") or []
    return [usage_of(item, now) for item in items]


@dataclass
class MetricsHistory:
    """Samples of every pod, polled every ``interval`` seconds while running."""

    api: KubeApi
    interval: float = 2.0
    series: dict[tuple[str, str], deque[PodUsage]] = field(default_factory=dict)
    _task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="metrics-history")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while True:
            try:
                await asyncio.to_thread(self.poll)
            except ClusterError as exc:
                log.debug("no pod metrics this time: %s", exc.message)
            except ValueError as exc:  # a quantity or an answer this client cannot read: keep polling
                log.warning("unreadable pod metrics: %s", exc)
            await asyncio.sleep(self.interval)

    def poll(self) -> None:
        usage = current_usage(self.api, None)
        restarts: dict[tuple[str, str], int] = {}
        for pod in self.api.request("GET", "/api/v1/pods").get("items") or []:
            meta = pod["metadata"]
            statuses = (pod.get("status") or {}).get("containerStatuses") or []
            restarts[(meta["namespace"], meta["name"])] = sum(int(s.get("restartCount", 0)) for s in statuses)
        keep = int(HISTORY_SECONDS / self.interval)
        for sample in usage:
            key = (sample.namespace, sample.name)
            with_restarts = PodUsage(sample.namespace, sample.name, sample.t, sample.containers, restarts.get(key, 0))
            self.series.setdefault(key, deque(maxlen=keep)).append(with_restarts)
        for key in [k for k in self.series if k not in restarts]:
            del self.series[key]  # the pod is gone

    def history(self, namespace: str | None, name: str | None, seconds: float) -> list[dict[str, Any]]:
        cutoff = time.time() - seconds
        return [
            {"namespace": ns, "name": pod, "samples": [s.sample() for s in samples if s.t >= cutoff]}
            for (ns, pod), samples in sorted(self.series.items())
            if (namespace is None or ns == namespace) and (name is None or pod == name)
        ]
