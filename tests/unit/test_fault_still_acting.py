"""Whether a fault still acts (the oracle's question) against whether it shows (MicroRemed's confirm):
a memory stressor held past its container's limit is OOM-killed and started again, so the memory it
holds comes and goes; it still acts until its pod instance is gone."""

from __future__ import annotations

from typing import Any, cast

from remedlab.api.client import Backend
from remedlab.chaos.confirm import confirm, still_acting
from remedlab.oracle.judge import fault_problems

Obj = dict[str, Any]
MIB = 2**20


class PodsAndMetrics:
    """The two reads the fault checks make: the namespace's pods and a pod's memory samples."""

    def __init__(self, pods: list[Obj], memory_mib: list[int]) -> None:
        self.pods = pods
        self.memory_mib = memory_mib

    def list_objects(self, plural: str, namespace: str | None, selector: str | None = None) -> list[Obj]:
        assert plural == "pods"
        return [p for p in self.pods if p["metadata"]["namespace"] == namespace]

    def pod_metrics(self, namespace: str | None, name: str | None, seconds: float) -> list[Obj]:
        samples = [{"memoryBytes": m * MIB, "cpuMillicores": 1.0} for m in self.memory_mib]
        return [{"name": name, "samples": samples}]


def _pod(uid: str) -> Obj:
    return {
        "metadata": {"name": f"frontend-{uid}", "namespace": "hotel", "uid": uid},
        "spec": {"containers": [{"name": "frontend", "resources": {"limits": {"memory": "256Mi"}}}]},
        "status": {
            "conditions": [{"type": "Ready", "status": "True"}],
            "containerStatuses": [{"name": "frontend", "restartCount": 0, "state": {"running": {}}}],
        },
    }


def _chaos(kind: str, mechanism: str, uid: str) -> Obj:
    spec: Obj = {"mode": "one"}
    if kind == "StressChaos":
        spec["stressors"] = {"memory": {"workers": 1, "size": "1280MiB"}}
    record = {"id": f"hotel/frontend-{uid}/frontend", "podUID": uid, "mechanism": mechanism, "phase": "Injected"}
    return {
        "kind": kind,
        "metadata": {"name": "fault", "namespace": "hotel"},
        "spec": spec,
        "status": {"experiment": {"containerRecords": [record]}},
    }


def test_a_memory_stressor_between_two_oom_kills_still_acts_though_it_does_not_show() -> None:
    # the stressor was just OOM-killed at the limit and started again: the memory fell
    backend = cast(Backend, PodsAndMetrics([_pod("a")], [230, 180, 40, 41]))
    stress = _chaos("StressChaos", "stress", "a")
    assert confirm(backend, stress)["observable"] is False
    assert still_acting(backend, stress) == ["hotel/frontend-a/frontend: the stressor runs"]
    assert fault_problems(backend, stress) == ["the fault still acts: hotel/frontend-a/frontend: the stressor runs"]


def test_a_stressor_stops_acting_with_its_pod_instance() -> None:
    replaced = cast(Backend, PodsAndMetrics([_pod("b")], [40, 40]))
    assert still_acting(replaced, _chaos("StressChaos", "stress", "a")) == []
    deleting = _pod("a")
    deleting["metadata"]["deletionTimestamp"] = "2026-12-05T09:00:00Z"
    assert still_acting(cast(Backend, PodsAndMetrics([deleting], [900])), _chaos("StressChaos", "stress", "a")) == []


def test_a_kill_acts_once_and_the_pod_that_replaces_it_is_judged_on_its_own() -> None:
    backend = cast(Backend, PodsAndMetrics([_pod("b")], [40]))
    assert confirm(backend, _chaos("PodChaos", "pod-kill", "a"))["observable"] is True
    assert fault_problems(backend, _chaos("PodChaos", "pod-kill", "a")) == []


def test_a_memory_stressor_shows_while_it_climbs_back_after_an_oom_kill() -> None:
    stress = _chaos("StressChaos", "stress", "a")
    climbing = cast(Backend, PodsAndMetrics([_pod("a")], [230, 40, 41, 120, 200, 180]))
    assert confirm(climbing, stress)["observable"] is True
    steady = cast(Backend, PodsAndMetrics([_pod("a")], [60, 70, 65, 90, 100]))
    assert confirm(steady, stress)["observable"] is False


def test_chaos_meshs_records_name_their_pod_in_their_id() -> None:
    """On a real cluster Chaos Mesh writes the records: no pod uid, no mechanism, the pod by name."""
    stress = _chaos("StressChaos", "stress", "a")
    record = stress["status"]["experiment"]["containerRecords"][0]
    del record["podUID"], record["mechanism"]
    assert still_acting(cast(Backend, PodsAndMetrics([_pod("a")], [40])), stress) == [
        "hotel/frontend-a/frontend: the stressor runs"
    ]
    assert still_acting(cast(Backend, PodsAndMetrics([_pod("b")], [40])), stress) == []


def test_chaos_meshs_records_name_the_pods_namespace_which_may_not_be_the_chaos_objects() -> None:
    """A chaos object in Chaos Mesh's own namespace selects pods in the app's: its records' ids say where."""
    stress = _chaos("StressChaos", "stress", "a")
    stress["metadata"]["namespace"] = "chaos-mesh"
    record = stress["status"]["experiment"]["containerRecords"][0]
    del record["podUID"], record["mechanism"]
    assert still_acting(cast(Backend, PodsAndMetrics([_pod("a")], [40])), stress) == [
        "hotel/frontend-a/frontend: the stressor runs"
    ]
    record["id"] = "other/frontend-a/frontend"  # the same name in another namespace is another pod
    assert still_acting(cast(Backend, PodsAndMetrics([_pod("a")], [40])), stress) == []
