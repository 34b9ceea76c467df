"""The node-level fault operations a backend offers to the chaos controller.

The embedded cluster injects faults itself (processes in a pod's cgroup, hooks
on the dataplane, FUSE mounts over volumes). A backend without such a runtime
(Kubernetes with Chaos Mesh) leaves the chaos resources to Chaos Mesh.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

Fidelity = Literal["full", "degraded", "none"]


@dataclass
class FaultHandle:
    """One fault injected into one pod instance."""

    id: str
    mechanism: str
    pod_uid: str
    level: Fidelity = "full"
    detail: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class StressParams:
    cpu_workers: int = 0
    cpu_load: int = 100
    memory_workers: int = 0
    memory_bytes: int = 0
    stressng: str | None = None


@dataclass(frozen=True)
class NetworkParams:
    action: str
    direction: Literal["to", "from", "both"] = "to"
    latency_s: float = 0.0
    jitter_s: float = 0.0
    correlation: float = 0.0
    percent: float = 0.0
    rate_bytes_per_s: float = 0.0
    limit_bytes: int = 0
    buffer_bytes: int = 0
    peers: frozenset[str] = frozenset()
    seed: int | None = None


@dataclass(frozen=True)
class HttpParams:
    port: int
    target: Literal["Request", "Response"] = "Request"
    path: str = "*"
    method: str | None = None
    abort: bool = False
    delay_s: float = 0.0
    seed: int | None = None


@dataclass(frozen=True)
class IoParams:
    volume_path: str
    faults: tuple[dict[str, Any], ...]


class FaultRuntime(Protocol):
    async def stress(self, pod_uid: str, container: str | None, params: StressParams) -> FaultHandle: ...
    async def network(self, pod_uid: str, params: NetworkParams) -> FaultHandle: ...
    async def http(self, pod_uid: str, params: HttpParams) -> FaultHandle: ...
    async def io(self, pod_uid: str, container: str | None, params: IoParams) -> FaultHandle: ...
    async def time_offset(self, pod_uid: str, container: str | None, offset_s: float) -> FaultHandle: ...
    def kill_container(self, pod_uid: str, container: str | None) -> str: ...
    def active(self, handle: FaultHandle) -> bool: ...
    async def recover(self, handle: FaultHandle) -> None: ...
    async def recover_all(self) -> None: ...
