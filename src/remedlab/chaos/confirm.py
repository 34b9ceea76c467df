"""Is an injected fault in effect yet, and does it show? (MicroRemed's "confirm" step.)"""

from __future__ import annotations

from typing import Any

from remedlab.api.client import Backend
from remedlab.api.quantity import cpu_millicores
from remedlab.chaos.functional.registry import ACTIONS

Obj = dict[str, Any]


def pod_ready(pod: Obj) -> bool:
    return any(
        c.get("type") == "Ready" and c.get("status") == "True" for c in pod.get("status", {}).get("conditions") or []
    )


def _pod(backend: Backend, namespace: str, uid: str) -> Obj | None:
    for pod in backend.list_objects("pods", namespace):
        if pod["metadata"]["uid"] == uid:
            return pod
    return None


def confirm(backend: Backend, obj: Obj) -> dict[str, Any]:
    status = obj.get("status") or {}
    records = (status.get("experiment") or {}).get("containerRecords") or []
    failed = [c for c in status.get("conditions") or [] if c.get("type") == "Failed" and c.get("status") == "True"]
    if failed:
        return {"injected": False, "observable": False, "detail": failed[0].get("message", "injection failed")}
    injected = [r for r in records if r.get("phase") == "Injected"]
    if not injected:
        return {"injected": False, "observable": False, "detail": "not injected (yet, or any more)"}
    namespace = obj["metadata"]["namespace"]
    kind = obj["kind"]
    details = []
    observable = True
    for record in injected:
        seen, detail = _record_observable(backend, obj, kind, namespace, record)
        observable = observable and seen
        details.append(f"{record['id']}: {detail}")
    return {"injected": True, "observable": observable, "detail": "; ".join(details)}


def _record_observable(backend: Backend, obj: Obj, kind: str, namespace: str, record: Obj) -> tuple[bool, str]:
    mechanism = record.get("mechanism")
    if mechanism in ACTIONS:
        return ACTIONS[mechanism].observable(backend, obj, record)
    uid = record.get("podUID", "")
    pod = _pod(backend, namespace, uid)
    if mechanism == "pod-kill":
        return (pod is None or bool(pod["metadata"].get("deletionTimestamp"))), "the pod instance was killed"
    if pod is None or pod["metadata"].get("deletionTimestamp"):
        return False, "the pod instance is gone"
    if mechanism == "pod-failure":
        return (not pod_ready(pod)), "pod not Ready" if not pod_ready(pod) else "pod still Ready"
    if mechanism == "container-kill":
        restarted = any(
            s.get("restartCount", 0) > 0 or "running" not in (s.get("state") or {})
            for s in pod.get("status", {}).get("containerStatuses") or []
        )
        return restarted, "container killed" if restarted else "container not restarted yet"
    if kind == "StressChaos":
        return _stress_observable(backend, obj, pod)
    return True, f"{mechanism} in effect"


def _stress_observable(backend: Backend, obj: Obj, pod: Obj) -> tuple[bool, str]:
    meta = pod["metadata"]
    series = backend.pod_metrics(meta["namespace"], meta["name"], 10)
    samples = series[0]["samples"] if series else []
    stressors = obj["spec"].get("stressors") or {}
    if stressors.get("memory"):
        restarts = sum(s.get("restartCount", 0) for s in pod.get("status", {}).get("containerStatuses") or [])
        if len(samples) >= 2 and samples[-1]["memoryBytes"] > samples[0]["memoryBytes"] + 64 * 2**20:
            return True, f"memory at {samples[-1]['memoryBytes'] // 2**20}Mi"
        if restarts:
            return True, "the container restarted under memory pressure"
        return (len(samples) >= 1 and samples[-1]["memoryBytes"] > 256 * 2**20), "memory not raised yet"
    limit = (pod["spec"]["containers"][0].get("resources") or {}).get("limits", {}).get("cpu")
    threshold = 0.8 * cpu_millicores(limit) if limit else 500.0
    if samples and samples[-1]["cpuMillicores"] >= threshold:
        return True, f"cpu at {samples[-1]['cpuMillicores']:.0f}m"
    return False, "cpu not saturated yet"
