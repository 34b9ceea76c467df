"""Is an injected fault in effect, and does it show?

`confirm` is MicroRemed's "confirm" step: the fault is injected and its symptom shows. `still_acting`
is the oracle's question, whether the fault still acts on a live pod instance, symptom or not: a
memory stressor held past its container's limit is OOM-killed and started again, so the memory it
holds comes and goes while the fault stays in place."""

from __future__ import annotations

from typing import Any

from remedlab.api.client import Backend
from remedlab.api.quantity import cpu_millicores
from remedlab.chaos.functional.registry import ACTIONS

Obj = dict[str, Any]

ONE_SHOT = ("pod-kill", "container-kill")
"""Mechanisms done once at injection, which then no longer act."""


def pod_ready(pod: Obj) -> bool:
    return any(
        c.get("type") == "Ready" and c.get("status") == "True" for c in pod.get("status", {}).get("conditions") or []
    )


KIND_MECHANISMS = {"StressChaos": "stress", "NetworkChaos": "network", "HTTPChaos": "http", "IOChaos": "io"}
"""What a record of each kind does, for records that do not say (Chaos Mesh's, on a real cluster)."""


def _mechanism(obj: Obj, record: Obj) -> str:
    if record.get("mechanism"):
        return str(record["mechanism"])
    if obj["kind"] == "PodChaos":
        return str((obj.get("spec") or {}).get("action", ""))
    return KIND_MECHANISMS.get(obj["kind"], "")


def _pod(backend: Backend, obj: Obj, record: Obj) -> Obj | None:
    """The record's pod instance: by its uid, or (Chaos Mesh's records, which have none) by the namespace
    and pod name in the record's id, ``namespace/pod`` or ``namespace/pod/container``, as Chaos Mesh's pod
    and container selectors write them (the pod's namespace may differ from the chaos object's)."""
    uid = record.get("podUID")
    parts = str(record.get("id", "")).split("/")
    by_name = not uid and len(parts) > 1
    name = parts[1] if by_name else None
    namespace = parts[0] if by_name else obj["metadata"]["namespace"]
    for pod in backend.list_objects("pods", namespace):
        if (uid and pod["metadata"]["uid"] == uid) or (name and pod["metadata"]["name"] == name):
            return pod
    return None


def _gone(pod: Obj | None) -> bool:
    """The pod instance no longer exists, or is being deleted."""
    return pod is None or bool(pod["metadata"].get("deletionTimestamp"))


def _injected(obj: Obj) -> tuple[list[Obj], str]:
    """The records in effect, or why there are none."""
    status = obj.get("status") or {}
    records = (status.get("experiment") or {}).get("containerRecords") or []
    failed = [c for c in status.get("conditions") or [] if c.get("type") == "Failed" and c.get("status") == "True"]
    if failed:
        return [], str(failed[0].get("message", "injection failed"))
    injected = [r for r in records if r.get("phase") == "Injected"]
    return injected, "" if injected else "not injected (yet, or any more)"


def confirm(backend: Backend, obj: Obj) -> dict[str, Any]:
    injected, why = _injected(obj)
    if not injected:
        return {"injected": False, "observable": False, "detail": why}
    details = []
    observable = True
    for record in injected:
        seen, detail = _record_observable(backend, obj, record)
        observable = observable and seen
        details.append(f"{record['id']}: {detail}")
    return {"injected": True, "observable": observable, "detail": "; ".join(details)}


def still_acting(backend: Backend, obj: Obj) -> list[str]:
    """What of the fault still acts, one line per pod instance or object it acts on (empty: none).

    A kill acts once: what follows it is the cluster's answer, which the oracle judges apart. A
    stressor acts as long as its pod instance lives (the chaos controller starts it again if it
    dies); every other mechanism acts while its symptom shows, as `confirm` sees it."""
    injected, _ = _injected(obj)
    acting = []
    for record in injected:
        mechanism = _mechanism(obj, record)
        if mechanism in ONE_SHOT:
            continue
        if mechanism == "stress":
            seen, detail = not _gone(_pod(backend, obj, record)), "the stressor runs"
        else:
            seen, detail = _record_observable(backend, obj, record)
        if seen:
            acting.append(f"{record['id']}: {detail}")
    return acting


def _record_observable(backend: Backend, obj: Obj, record: Obj) -> tuple[bool, str]:
    mechanism = _mechanism(obj, record)
    if mechanism in ACTIONS:
        return ACTIONS[mechanism].observable(backend, obj, record)
    pod = _pod(backend, obj, record)
    if mechanism == "pod-kill":
        return _gone(pod), "the pod instance was killed"
    if pod is None or _gone(pod):
        return False, "the pod instance is gone"
    if mechanism == "pod-failure":
        return (not pod_ready(pod)), "pod not Ready" if not pod_ready(pod) else "pod still Ready"
    if mechanism == "container-kill":
        restarted = any(
            s.get("restartCount", 0) > 0 or "running" not in (s.get("state") or {})
            for s in pod.get("status", {}).get("containerStatuses") or []
        )
        return restarted, "container killed" if restarted else "container not restarted yet"
    if obj["kind"] == "StressChaos":
        return _stress_observable(backend, obj, pod)
    return True, f"{mechanism} in effect"


def _stress_observable(backend: Backend, obj: Obj, pod: Obj) -> tuple[bool, str]:
    meta = pod["metadata"]
    series = backend.pod_metrics(meta["namespace"], meta["name"], 10)
    samples = series[0]["samples"] if series else []
    stressors = obj["spec"].get("stressors") or {}
    if stressors.get("memory"):
        restarts = sum(s.get("restartCount", 0) for s in pod.get("status", {}).get("containerStatuses") or [])
        memory = [int(s["memoryBytes"]) for s in samples]
        rise = max((m - min(memory[: i + 1]) for i, m in enumerate(memory)), default=0)
        if rise > 64 * 2**20:  # a stressor killed at the limit rises again from where it fell
            return True, f"memory rose by {rise // 2**20}Mi within 10 s, now {memory[-1] // 2**20}Mi"
        if restarts:
            return True, "the container restarted under memory pressure"
        return (len(samples) >= 1 and samples[-1]["memoryBytes"] > 256 * 2**20), "memory not raised yet"
    limit = (pod["spec"]["containers"][0].get("resources") or {}).get("limits", {}).get("cpu")
    threshold = 0.8 * cpu_millicores(limit) if limit else 500.0
    if samples and samples[-1]["cpuMillicores"] >= threshold:
        return True, f"cpu at {samples[-1]['cpuMillicores']:.0f}m"
    return False, "cpu not saturated yet"
