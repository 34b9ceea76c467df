"""How a database fault shows, as an SRE would see it: the services using the database are not ready
or crash-loop, and the database's log (or theirs) tells failed logins or refused queries since the
injection."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from remedlab.api.client import Backend
from remedlab.api.errors import ClusterError, NotFound
from remedlab.api.pod_log_options import LogOptions
from remedlab.chaos.functional.postgres_target import running_pods

Obj = dict[str, Any]
LOG_TAIL = 400
RECENT_S = 5.0
"""A log line counts as a symptom for this long: the fault shows now, not earlier."""


def _pods(backend: Backend, namespace: str, deployment: str) -> list[Obj]:
    try:
        obj = backend.get("deployments", namespace, deployment)
    except NotFound:
        return []
    selector = dict(obj["spec"]["selector"].get("matchLabels") or {})
    return [
        p
        for p in backend.list_objects("pods", namespace)
        if selector
        and all((p["metadata"].get("labels") or {}).get(k) == v for k, v in selector.items())
        and not p["metadata"].get("deletionTimestamp")
    ]


def _unready(pod: Obj) -> str | None:
    status = pod.get("status") or {}
    for cs in status.get("containerStatuses") or []:
        reason = ((cs.get("state") or {}).get("waiting") or {}).get("reason")
        if reason == "CrashLoopBackOff":
            return f"pod {pod['metadata']['name']} is in CrashLoopBackOff"
    conditions = status.get("conditions") or []
    if not any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions):
        return f"pod {pod['metadata']['name']} is not ready"
    return None


def _log_line(backend: Backend, namespace: str, pod: Obj, since: float, patterns: Sequence[str]) -> str | None:
    seconds = max(1.0, min(time.time() - since + 1.0, RECENT_S))
    try:
        text = backend.logs(namespace, pod["metadata"]["name"], LogOptions(tail_lines=LOG_TAIL, since_seconds=seconds))
    except ClusterError:  # gone, or not started yet: no log
        return None
    for line in reversed(text.splitlines()):
        if any(p in line for p in patterns):
            return line.strip()[:200]
    return None


def database_fault_symptom(
    backend: Backend, namespace: str, store: str, clients: Sequence[str], since: float, patterns: Sequence[str]
) -> tuple[bool, str]:
    """Whether the fault shows now (clients not ready or crash-looping, or a matching log line since
    `since`, in the last seconds, in the clients' or the store's log), and how."""
    seen: list[str] = []
    for client in clients:
        for pod in _pods(backend, namespace, client):
            problem = _unready(pod)
            if problem:
                seen.append(problem)
            line = _log_line(backend, namespace, pod, since, patterns)
            if line:
                seen.append(f"{pod['metadata']['name']} logs: {line}")
    try:
        store_pods = running_pods(backend, namespace, backend.get("deployments", namespace, store))
    except NotFound:
        store_pods = []
    for pod in store_pods:
        line = _log_line(backend, namespace, pod, since, patterns)
        if line:
            seen.append(f"{pod['metadata']['name']} logs: {line}")
    if seen:
        return True, "; ".join(seen[:3])
    return False, f"the clients of {store} are ready and no log tells the fault"
