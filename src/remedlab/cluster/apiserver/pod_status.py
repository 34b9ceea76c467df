"""The READY, STATUS and RESTARTS of a pod, computed from its spec and status as kube-apiserver's
pod printer computes them.

STATUS is the most telling reason among the pod's phase, its init containers (``Init:0/2``,
``Init:CrashLoopBackOff``, ``Init:ExitCode:1``) and its containers (``CrashLoopBackOff``,
``OOMKilled``, ``Completed``, ``ExitCode:2``, ``Signal:9``), overridden by ``Terminating`` (or
``Unknown`` on a lost node) while the pod is being deleted. RESTARTS sums the restart counts and
says how long ago the last container restarted (``3 (45s ago)``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from remedlab.cluster.apiserver.humanize import human_duration, parse_timestamp

Obj = dict[str, Any]

_TERMINAL_PHASES = ("Succeeded", "Failed")
_NODE_LOST = "NodeLost"
"""The status reason the node lifecycle controller gives pods of an unreachable node."""


@dataclass(frozen=True, slots=True)
class PodSummary:
    ready: int
    total: int
    status: str
    restarts: int
    last_restart: datetime | None

    @property
    def ready_cell(self) -> str:
        """``ready/total`` containers, sidecars (restartable init containers) included."""
        return f"{self.ready}/{self.total}"

    def restarts_cell(self, now: float) -> str:
        """``3`` or, once a container has restarted, ``3 (45s ago)``."""
        if self.restarts != 0 and self.last_restart is not None:
            return f"{self.restarts} ({human_duration(now - self.last_restart.timestamp())} ago)"
        return str(self.restarts)


def _later(current: datetime | None, state: Any) -> datetime | None:
    """The later of `current` and the finish time of a container's last termination."""
    if not isinstance(state, dict):
        return current
    terminated = state.get("terminated")
    if not isinstance(terminated, dict):
        return current
    finished = parse_timestamp(terminated.get("finishedAt"))
    if finished is None or (current is not None and finished <= current):
        return current
    return finished


def _terminated_reason(terminated: Obj, prefix: str) -> str:
    reason = terminated.get("reason")
    if reason:
        return prefix + str(reason)
    signal = terminated.get("signal") or 0
    if signal:
        return f"{prefix}Signal:{signal}"
    return f"{prefix}ExitCode:{terminated.get('exitCode') or 0}"


def summarize_pod(pod: Obj) -> PodSummary:
    """READY, STATUS and RESTARTS of `pod` (a Pod as JSON)."""
    spec = pod.get("spec") or {}
    status = pod.get("status") or {}
    conditions = status.get("conditions") or ()
    init_specs = spec.get("initContainers") or ()
    sidecars = {c.get("name") for c in init_specs if c.get("restartPolicy") == "Always"}
    total = len(spec.get("containers") or ()) + len(sidecars)

    phase = status.get("phase") or "Pending"  # the phase the API gives a pod on creation
    reason = status.get("reason") or phase
    for condition in conditions:
        if condition.get("type") == "PodScheduled" and condition.get("reason") == "SchedulingGated":
            reason = "SchedulingGated"

    restarts = 0
    ready = 0
    last_restart: datetime | None = None
    sidecar_restarts = 0
    sidecar_last_restart: datetime | None = None

    initializing = False
    for index, container in enumerate(status.get("initContainerStatuses") or ()):
        count = container.get("restartCount") or 0
        restarts += count
        last_state = container.get("lastState")
        last_restart = _later(last_restart, last_state)
        is_sidecar = container.get("name") in sidecars
        if is_sidecar:
            sidecar_restarts += count
            sidecar_last_restart = _later(sidecar_last_restart, last_state)
        state = container.get("state") or {}
        terminated = state.get("terminated")
        waiting = state.get("waiting")
        waiting_reason = waiting.get("reason") if isinstance(waiting, dict) else None
        if isinstance(terminated, dict) and not terminated.get("exitCode"):
            continue
        if is_sidecar and container.get("started") is True:
            if container.get("ready") is True:
                ready += 1
            continue
        if isinstance(terminated, dict):
            reason = _terminated_reason(terminated, "Init:")
        elif waiting_reason and waiting_reason != "PodInitializing":
            reason = f"Init:{waiting_reason}"
        else:
            reason = f"Init:{index}/{len(init_specs)}"
        initializing = True
        break

    initialized = any(c.get("type") == "Initialized" and c.get("status") == "True" for c in conditions)
    if not initializing or initialized:
        restarts = sidecar_restarts
        last_restart = sidecar_last_restart
        has_running = False
        for container in reversed(status.get("containerStatuses") or ()):
            restarts += container.get("restartCount") or 0
            last_restart = _later(last_restart, container.get("lastState"))
            state = container.get("state") or {}
            waiting = state.get("waiting")
            terminated = state.get("terminated")
            if isinstance(waiting, dict) and waiting.get("reason"):
                reason = str(waiting["reason"])
            elif isinstance(terminated, dict):
                reason = _terminated_reason(terminated, "")
            elif container.get("ready") is True and state.get("running") is not None:
                has_running = True
                ready += 1
        # A container still running turns a "Completed" pod back to Running (or NotReady).
        if reason == "Completed" and has_running:
            pod_ready = any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)
            reason = "Running" if pod_ready else "NotReady"

    if (pod.get("metadata") or {}).get("deletionTimestamp") is not None:
        if status.get("reason") == _NODE_LOST:
            reason = "Unknown"
        elif phase not in _TERMINAL_PHASES:
            reason = "Terminating"

    return PodSummary(ready, total, reason, restarts, last_restart)
