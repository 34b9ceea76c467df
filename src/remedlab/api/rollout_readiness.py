"""Is a namespace's app up? From its Deployments and StatefulSets alone, as `kubectl rollout status`
judges each: the controller saw the latest spec, every replica is updated, and all are available."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

READY_KINDS = ("Deployment", "StatefulSet")
"""The workloads whose readiness makes an app's."""


def ready_counts(workloads: Iterable[dict[str, Any]]) -> tuple[int, int]:
    """(ready pods, expected pods) of the workloads."""
    ready = expected = 0
    for w in workloads:
        expected += int(w["spec"].get("replicas", 1))
        status = w.get("status") or {}
        if status.get("observedGeneration") == w["metadata"].get("generation"):
            ready += min(int(status.get("readyReplicas", 0)), int(status.get("updatedReplicas", 0)))
    return ready, expected


def rolled_out(workloads: Iterable[dict[str, Any]]) -> bool:
    """Every workload rolled out its latest spec and has all its replicas available."""
    for w in workloads:
        status: dict[str, Any] = w.get("status") or {}
        want = int(w["spec"].get("replicas", 1))
        if status.get("observedGeneration") != w["metadata"].get("generation"):
            return False
        if int(status.get("updatedReplicas", 0)) != want or int(status.get("replicas", 0)) != want:
            return False
        if int(status.get("availableReplicas", 0)) < want:
            return False
    return True


def app_ready(workloads: list[dict[str, Any]]) -> bool:
    ready, expected = ready_counts(workloads)
    return ready >= expected and rolled_out(workloads)
