"""Reading a pod's state: ready, available, terminating, active."""

from __future__ import annotations

from datetime import UTC, datetime

from remedlab.api.kinds import Obj
from remedlab.api.times import parse_time


def condition(pod: Obj, type_: str) -> dict[str, str] | None:
    for cond in pod.get("status", {}).get("conditions") or []:
        if cond.get("type") == type_:
            return dict(cond)
    return None


def is_terminating(pod: Obj) -> bool:
    return bool(pod["metadata"].get("deletionTimestamp"))


def is_ready(pod: Obj) -> bool:
    cond = condition(pod, "Ready")
    return bool(cond and cond.get("status") == "True") and not is_terminating(pod)


def is_available(pod: Obj, min_ready_seconds: int) -> bool:
    if not is_ready(pod):
        return False
    if min_ready_seconds <= 0:
        return True
    since = parse_time((condition(pod, "Ready") or {}).get("lastTransitionTime"))
    return since is not None and (datetime.now(UTC) - since).total_seconds() >= min_ready_seconds


def until_available(pod: Obj, min_ready_seconds: int) -> float | None:
    """Seconds until a Ready pod counts as available (None: it is not Ready)."""
    if not is_ready(pod):
        return None
    since = parse_time((condition(pod, "Ready") or {}).get("lastTransitionTime"))
    if since is None:
        return None
    return max(0.0, min_ready_seconds - (datetime.now(UTC) - since).total_seconds())


def is_active(pod: Obj) -> bool:
    """Counts toward a ReplicaSet's replicas: not terminating, not finished."""
    phase = pod.get("status", {}).get("phase")
    return not is_terminating(pod) and phase not in ("Succeeded", "Failed")
