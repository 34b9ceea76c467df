"""Per-pod resource samples (CPU, memory working set, IO, restarts) every second.

Kept in a bounded in-memory time series per pod; `kubectl top` reads the
latest sample and observers read a window.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from dataclasses import dataclass, field

import psutil

from remedlab.cluster.node.kubelet import Kubelet

HISTORY_SECONDS = 900


@dataclass
class ContainerSample:
    cpu_millicores: float
    memory_bytes: int
    io_read_bytes: int
    io_write_bytes: int


@dataclass
class PodSample:
    t: float
    containers: dict[str, ContainerSample]
    restarts: int

    @property
    def cpu_millicores(self) -> float:
        return sum(c.cpu_millicores for c in self.containers.values())

    @property
    def memory_bytes(self) -> int:
        return sum(c.memory_bytes for c in self.containers.values())

    def to_dict(self) -> dict[str, float | int]:
        return {
            "t": round(self.t, 3),
            "cpuMillicores": round(self.cpu_millicores, 1),
            "memoryBytes": self.memory_bytes,
            "ioReadBytes": sum(c.io_read_bytes for c in self.containers.values()),
            "ioWriteBytes": sum(c.io_write_bytes for c in self.containers.values()),
            "restarts": self.restarts,
        }


@dataclass
class PodSeries:
    namespace: str
    name: str
    samples: deque[PodSample] = field(default_factory=lambda: deque(maxlen=HISTORY_SECONDS))


class MetricsSampler:
    def __init__(self, kubelet: Kubelet, interval: float = 1.0) -> None:
        self.kubelet = kubelet
        self.interval = interval
        self.series: dict[str, PodSeries] = {}
        self._last_cpu: dict[tuple[str, str], tuple[float, float]] = {}
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        while True:
            with contextlib.suppress(Exception):
                self.sample()
            await asyncio.sleep(self.interval)

    def sample(self) -> None:
        now = time.time()
        by_pod: dict[str, PodSample] = {}
        live: set[str] = set()
        for worker, c in self.kubelet.running_containers():
            assert c.sandbox is not None
            usage = c.sandbox.usage()
            key = (worker.uid, c.name)
            previous = self._last_cpu.get(key)
            self._last_cpu[key] = (now, usage.cpu_seconds)
            millicores = 0.0
            if previous is not None and now > previous[0]:
                millicores = max(0.0, (usage.cpu_seconds - previous[1]) / (now - previous[0]) * 1000)
            sample = by_pod.setdefault(
                worker.uid,
                PodSample(now, {}, sum(x.restart_count for x in worker.containers.values())),
            )
            sample.containers[c.name] = ContainerSample(
                millicores, usage.memory_bytes, usage.io_read_bytes, usage.io_write_bytes
            )
            live.add(worker.uid)
            if worker.uid not in self.series:
                self.series[worker.uid] = PodSeries(worker.namespace, worker.name)
        for uid, sample in by_pod.items():
            self.series[uid].samples.append(sample)
        for uid in list(self.series):
            if uid not in self.kubelet.workers:
                del self.series[uid]
        for key in list(self._last_cpu):
            if key[0] not in live:
                del self._last_cpu[key]

    def latest(self, namespace: str | None = None) -> list[PodSeries]:
        return [s for s in self.series.values() if s.samples and (namespace is None or s.namespace == namespace)]

    @staticmethod
    def node_usage() -> tuple[float, int, int, int]:
        """(cpu millicores used, cpu capacity millicores, memory used, memory total) of the host."""
        cpus = psutil.cpu_count() or 1
        used = psutil.cpu_percent(interval=None) / 100 * cpus * 1000
        memory = psutil.virtual_memory()
        return used, cpus * 1000, int(memory.total - memory.available), int(memory.total)
