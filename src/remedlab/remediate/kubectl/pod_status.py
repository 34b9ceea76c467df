"""The READY, STATUS and RESTARTS cells of a pod, computed as kubectl computes them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from remedlab.remediate.kubectl.fields import JsonObject, dig, get_dicts, get_int, get_str
from remedlab.remediate.kubectl.humanize import human_duration, parse_timestamp

_TERMINAL_PHASES = ("Succeeded", "Failed")


@dataclass(frozen=True)
class PodSummary:
    ready: int
    total: int
    status: str
    restarts: int
    last_restart: datetime | None

    @property
    def ready_cell(self) -> str:
        return f"{self.ready}/{self.total}"

    def restarts_cell(self, now: float) -> str:
        if self.restarts != 0 and self.last_restart is not None:
            return f"{self.restarts} ({human_duration(now - self.last_restart.timestamp())} ago)"
        return str(self.restarts)


def _is_restartable_init(container: JsonObject | None) -> bool:
    return container is not None and get_str(container, "restartPolicy") == "Always"


def _condition_true(pod: JsonObject, condition_type: str) -> bool:
    for condition in get_dicts(pod, "status", "conditions"):
        if get_str(condition, "type") == condition_type:
            return get_str(condition, "status") == "True"
    return False


def _has_condition(pod: JsonObject, condition_type: str) -> bool:
    return any(get_str(c, "type") == condition_type for c in get_dicts(pod, "status", "conditions"))


def _later(current: datetime | None, candidate: object) -> datetime | None:
    parsed = parse_timestamp(candidate)
    if parsed is None:
        return current
    if current is None or parsed > current:
        return parsed
    return current


def summarize_pod(pod: JsonObject) -> PodSummary:
    spec_containers = get_dicts(pod, "spec", "containers")
    init_specs = {get_str(c, "name"): c for c in get_dicts(pod, "spec", "initContainers")}
    total = len(spec_containers) + sum(1 for c in init_specs.values() if _is_restartable_init(c))
    phase = get_str(pod, "status", "phase") or "Pending"
    reason = get_str(pod, "status", "reason") or phase
    for condition in get_dicts(pod, "status", "conditions"):
        if get_str(condition, "type") == "PodScheduled" and get_str(condition, "reason") == "SchedulingGated":
            reason = "SchedulingGated"

    restarts = 0
    ready = 0
    last_restart: datetime | None = None
    sidecar_restarts = 0
    sidecar_last_restart: datetime | None = None

    initializing = False
    init_statuses = get_dicts(pod, "status", "initContainerStatuses")
    for index, status in enumerate(init_statuses):
        restart_count = get_int(status, "restartCount")
        restarts += restart_count
        finished = dig(status, "lastState", "terminated", "finishedAt")
        last_restart = _later(last_restart, finished)
        restartable = _is_restartable_init(init_specs.get(get_str(status, "name")))
        if restartable:
            sidecar_restarts += restart_count
            sidecar_last_restart = _later(sidecar_last_restart, finished)
        terminated = dig(status, "state", "terminated")
        waiting_reason = get_str(status, "state", "waiting", "reason")
        if terminated is not None and get_int(terminated, "exitCode") == 0:
            continue
        if restartable and dig(status, "started") is True:
            if dig(status, "ready") is True:
                ready += 1
            continue
        if terminated is not None:
            if get_str(terminated, "reason"):
                reason = "Init:" + get_str(terminated, "reason")
            elif get_int(terminated, "signal"):
                reason = f"Init:Signal:{get_int(terminated, 'signal')}"
            else:
                reason = f"Init:ExitCode:{get_int(terminated, 'exitCode')}"
        elif waiting_reason and waiting_reason != "PodInitializing":
            reason = "Init:" + waiting_reason
        else:
            reason = f"Init:{index}/{len(init_specs)}"
        initializing = True
        break

    if not initializing or _condition_true(pod, "Initialized"):
        restarts = sidecar_restarts
        last_restart = sidecar_last_restart
        has_running = False
        for status in reversed(get_dicts(pod, "status", "containerStatuses")):
            restarts += get_int(status, "restartCount")
            last_restart = _later(last_restart, dig(status, "lastState", "terminated", "finishedAt"))
            waiting_reason = get_str(status, "state", "waiting", "reason")
            terminated = dig(status, "state", "terminated")
            if waiting_reason:
                reason = waiting_reason
            elif terminated is not None and get_str(terminated, "reason"):
                reason = get_str(terminated, "reason")
            elif terminated is not None:
                signal = get_int(terminated, "signal")
                reason = f"Signal:{signal}" if signal else f"ExitCode:{get_int(terminated, 'exitCode')}"
            elif dig(status, "ready") is True and dig(status, "state", "running") is not None:
                has_running = True
                ready += 1
        if reason == "Completed" and has_running:
            reason = "Running" if _has_condition(pod, "Ready") else "NotReady"

    if dig(pod, "metadata", "deletionTimestamp") is not None:
        if get_str(pod, "status", "reason") == "NodeLost":
            reason = "Unknown"
        elif phase not in _TERMINAL_PHASES:
            reason = "Terminating"

    return PodSummary(ready, total, reason, restarts, last_restart)
