"""What the kubelet knows of one container of a pod (its spec, log, sandbox, process, state and
restarts), and what a pod's containers ask of the node: their cgroup limits and QoS class."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from remedlab.api.quantity import cpu_millicores, memory_bytes
from remedlab.cluster.node.container_logs import ContainerLog
from remedlab.cluster.node.container_process import ContainerProcess
from remedlab.cluster.node.isolation.limits import ContainerLimits
from remedlab.cluster.node.isolation.sandbox import ContainerSandbox


def container_limits(container: dict[str, Any]) -> ContainerLimits:
    resources = container.get("resources") or {}
    limits = resources.get("limits") or {}
    cpu = limits.get("cpu")
    mem = limits.get("memory")
    # as on Kubernetes, a container with a CPU limit and no request is given a request equal to its limit
    request = (resources.get("requests") or {}).get("cpu", cpu)
    return ContainerLimits(
        cpu_millicores=cpu_millicores(cpu) if cpu is not None else None,
        memory_bytes=memory_bytes(mem) if mem is not None else None,
        cpu_request_millicores=cpu_millicores(request) if request is not None else None,
    )


def qos_class(containers: list[dict[str, Any]]) -> str:
    any_set = False
    guaranteed = True
    for c in containers:
        res = c.get("resources") or {}
        limits, requests = res.get("limits") or {}, res.get("requests") or {}
        if limits or requests:
            any_set = True
        for key in ("cpu", "memory"):
            if key not in limits or requests.get(key, limits[key]) != limits[key]:
                guaranteed = False
    if guaranteed and any_set:
        return "Guaranteed"
    return "Burstable" if any_set else "BestEffort"


@dataclass
class ContainerRuntime:
    """What the kubelet knows of one container of a pod."""

    spec: dict[str, Any]
    log: ContainerLog
    init: bool = False
    sandbox: ContainerSandbox | None = None
    process: ContainerProcess | None = None
    restart_count: int = 0
    state: dict[str, Any] = field(default_factory=lambda: {"waiting": {"reason": "ContainerCreating"}})
    last_state: dict[str, Any] = field(default_factory=dict)
    ready: bool = False
    started: bool = False
    probe_tasks: list[asyncio.Task[None]] = field(default_factory=list)
    run_started: float = 0.0
    backoff: float = 0.0

    @property
    def name(self) -> str:
        return str(self.spec["name"])

    def is_running(self) -> bool:
        """Whether this container's process runs now (its last instance may have ended meanwhile)."""
        return self.process is not None and self.process.proc is not None and self.process.proc.returncode is None

    def status(self) -> dict[str, Any]:
        image = self.spec["image"]
        out: dict[str, Any] = {
            "name": self.name,
            "image": image,
            "imageID": f"remedlab://{image}",
            "ready": self.ready,
            "started": self.started,
            "restartCount": self.restart_count,
            "state": self.state,
            "lastState": self.last_state,
        }
        if self.process is not None and self.process.proc is not None:
            out["containerID"] = f"remedlab://{self.process.proc.pid}"
        return out
