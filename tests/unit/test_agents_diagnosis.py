"""The agent-side diagnosis (what the baseline acts on and ThinkRemed checks with) on snapshots built
the way the server answers: a healthy namespace shows nothing; each rule fires on its evidence only."""

from __future__ import annotations

import dataclasses
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

import yaml

from remedlab.agents.confirmation import Confirmation
from remedlab.agents.diagnosis import diagnose
from remedlab.agents.diagnosis_config import load_thresholds
from remedlab.agents.episode import AgentContext, Incident
from remedlab.agents.findings import (
    DELETE_POD,
    DROP_NODE_SELECTOR,
    PATCH_TARGET_PORT,
    RESTART,
    RUN_SCRIPT,
    SCALE_UP,
    SICK_POD,
    SICK_SERVICE,
    UNDO,
    Finding,
)
from remedlab.agents.methods.baseline.runbook import playbook_for
from remedlab.agents.methods.playbooks import run_playbook
from remedlab.agents.server_api import AgentApi
from remedlab.agents.signals import Call, Snapshot

NOW = time.time()
LIMITS = load_thresholds()


def stamp(ago: float) -> str:
    return datetime.fromtimestamp(NOW - ago, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def deployment(name: str, replicas: int = 1) -> dict[str, Any]:
    return {
        "metadata": {"name": name, "uid": f"d-{name}"},
        "spec": {"replicas": replicas, "template": {"metadata": {"labels": {"app": name}}}},
    }


def replicaset(name: str, revision: int, available: int, replicas: int = 1) -> dict[str, Any]:
    return {
        "spec": {"replicas": replicas},
        "metadata": {
            "name": f"{name}-r{revision}",
            "uid": f"rs-{name}-{revision}",
            "annotations": {"deployment.kubernetes.io/revision": str(revision)},
            "ownerReferences": [{"kind": "Deployment", "name": name, "uid": f"d-{name}"}],
        },
        "status": {"availableReplicas": available},
    }


def pod(name: str, owner: str, revision: int = 1, age: float = 600, ready: bool = True, **extra: Any) -> dict[str, Any]:
    return {
        "metadata": {
            "name": name,
            "uid": f"p-{name}",
            "labels": {"app": owner},
            "creationTimestamp": stamp(age),
            "ownerReferences": [{"kind": "ReplicaSet", "uid": f"rs-{owner}-{revision}"}],
        },
        "spec": {"containers": [{"name": "c", "resources": {"limits": {"cpu": "500m", "memory": "2000Mi"}}}]},
        "status": {
            "conditions": [
                {
                    "type": "Ready",
                    "status": "True" if ready else "False",
                    "lastTransitionTime": extra.get("since", stamp(age)),
                }
            ],
            "containerStatuses": [{"restartCount": 0, "lastState": extra.get("last_state", {})}],
        },
    }


def service(name: str) -> dict[str, Any]:
    return {"metadata": {"name": name}, "spec": {"selector": {"app": name}}}


def samples(**values: Any) -> list[dict[str, Any]]:
    return [{"t": NOW - ago, **values} for ago in (6, 4, 2)]


def snapshot(**changes: Any) -> Snapshot:
    snap = Snapshot(
        namespace="sm",
        taken=NOW,
        deployments=[deployment("hello"), deployment("time")],
        replicasets=[replicaset("hello", 1, 1), replicaset("time", 1, 1)],
        pods=[pod("hello-a", "hello"), pod("time-a", "time")],
        services=[service("hello"), service("time")],
        events=[],
        pod_samples={"hello-a": samples(cpuMillicores=20, memoryBytes=40 << 20)},
        service_samples={
            "hello": samples(p95Ms=30.0, upstreamErrors={}),
            "time": samples(p95Ms=5.0, upstreamErrors={}),
        },
    )
    snap.pod_samples["time-a"] = samples(cpuMillicores=10, memoryBytes=30 << 20)
    for key, value in changes.items():
        setattr(snap, key, value)
    return snap


def test_a_healthy_namespace_shows_nothing() -> None:
    assert diagnose(snapshot(), LIMITS, {}) == []


def test_a_pod_at_its_cpu_limit_is_replaced() -> None:
    snap = snapshot()
    snap.pod_samples["time-a"] = samples(cpuMillicores=495, memoryBytes=30 << 20)
    (finding,) = diagnose(snap, LIMITS, {})
    assert (finding.deployment, finding.action, finding.pod) == ("time", DELETE_POD, "time-a")
    assert "CPU at 495m" in finding.evidence


def test_memory_oom_and_readiness_each_make_a_pod_sick() -> None:
    snap = snapshot()
    snap.pod_samples["time-a"] = samples(cpuMillicores=5, memoryBytes=1300 << 20)
    assert "memory at 65%" in diagnose(snap, LIMITS, {})[0].evidence
    oom = pod("time-a", "time", last_state={"terminated": {"reason": "OOMKilled"}})
    assert "OOMKilled" in diagnose(snapshot(pods=[pod("hello-a", "hello"), oom]), LIMITS, {})[0].evidence
    not_ready = pod("time-a", "time", ready=False, since=stamp(10))
    assert "not Ready for 1" in diagnose(snapshot(pods=[pod("hello-a", "hello"), not_ready]), LIMITS, {})[0].evidence
    starting = pod("time-a", "time", age=3, ready=False, since=stamp(3))
    assert diagnose(snapshot(pods=[pod("hello-a", "hello"), starting]), LIMITS, {}) == []


def test_probe_failures_count_only_recent_events_after_startup() -> None:
    def unhealthy(count: int, first: float, last: float) -> dict[str, Any]:
        return _unhealthy("time-a", count, first, last)

    assert diagnose(snapshot(events=[unhealthy(5, 15, 2)]), LIMITS, {})[0].pod == "time-a"
    assert diagnose(snapshot(events=[unhealthy(5, 300, 200)]), LIMITS, {}) == []  # long ago
    assert diagnose(snapshot(events=[unhealthy(2, 15, 2)]), LIMITS, {}) == []  # too few
    # probes that stopped failing before the incident (a fault gone before it) are history
    assert diagnose(snapshot(events=[unhealthy(6, 19, 9)]), LIMITS, {}, since=NOW - 5) == []
    (finding,) = diagnose(snapshot(events=[unhealthy(6, 19, 4)]), LIMITS, {}, since=NOW - 5)
    assert finding.pod == "time-a" and "6 failed probes" in finding.evidence  # failing still


def test_a_broken_new_revision_is_rolled_back_once_past_its_grace() -> None:
    sets = [replicaset("hello", 1, 1), replicaset("time", 1, 1), replicaset("time", 2, 0)]
    pods = [pod("hello-a", "hello"), pod("time-a", "time"), pod("time-b", "time", revision=2, age=10, ready=False)]
    (finding,) = diagnose(snapshot(replicasets=sets, pods=pods), LIMITS, {})
    assert (finding.deployment, finding.action) == ("time", UNDO) and "revision 2 has 0/1" in finding.evidence
    young = [*pods[:2], pod("time-b", "time", revision=2, age=2, ready=False)]
    assert diagnose(snapshot(replicasets=sets, pods=young), LIMITS, {}) == []  # still rolling out
    assert diagnose(snapshot(replicasets=sets, pods=pods), LIMITS, {"time": NOW - 5}) == []  # undone already
    # a finished rollout (the old revision scaled to zero) whose pod fell sick later is a pod problem
    done = [replicaset("hello", 1, 1), replicaset("time", 1, 0, replicas=0), replicaset("time", 2, 0)]
    sick = [pods[0], pod("time-b", "time", revision=2, ready=False, since=stamp(10))]
    (finding,) = diagnose(snapshot(replicasets=done, pods=sick), LIMITS, {})
    assert (finding.action, finding.pod) == (DELETE_POD, "time-b")


def test_callers_failing_blame_the_callee_not_the_caller() -> None:
    snap = snapshot()
    snap.service_samples["hello"] = samples(p95Ms=2500.0, upstreamErrors={"time": {"timeout": 2}})
    (finding,) = diagnose(snap, LIMITS, {})
    assert (finding.deployment, finding.action) == ("time", DELETE_POD) and "6 calls to time" in finding.evidence
    # evidence from before the last action (plus settling) does not count, nor from before the incident
    assert diagnose(snap, LIMITS, {"time": NOW - 3}) == []
    assert diagnose(snap, LIMITS, {}, since=NOW + 1) == []


def test_a_service_failing_its_calls_to_several_healthy_ones_is_blamed_itself() -> None:
    names = ("hello", "time", "db")
    snap = snapshot(
        deployments=[deployment(n) for n in names],
        replicasets=[replicaset(n, 1, 1) for n in names],
        services=[service(n) for n in names],
        pods=[pod(f"{n}-a", n) for n in names],
    )
    # time's network loses packets: its calls to hello and db fail, and so do its callers' calls to it
    snap.service_samples["time"] = samples(p95Ms=40.0, upstreamErrors={"hello": {"error": 1}, "db": {"error": 1}})
    (finding,) = diagnose(snap, LIMITS, {})
    assert finding.deployment == "time" and "time fails its calls to db, hello" in finding.evidence
    # one that fails its calls to a single service blames that service, as before
    snap.service_samples["time"] = samples(p95Ms=40.0, upstreamErrors={"db": {"error": 2}})
    (finding,) = diagnose(snap, LIMITS, {})
    assert finding.deployment == "db"


def test_a_slow_service_blames_the_store_it_waits_on() -> None:
    snap = snapshot(
        deployments=[deployment("hello"), deployment("time"), deployment("db", replicas=2)],
        replicasets=[replicaset("hello", 1, 1), replicaset("time", 1, 1), replicaset("db", 1, 2)],
        services=[service("hello"), service("time"), service("db")],
    )
    snap.service_samples["time"] = samples(p95Ms=4800.0, upstreamErrors={})
    assert diagnose(snap, LIMITS, {})[0].deployment == "time"  # slow on its own
    snap.calls = [Call("time", "db", "postgresql", calls=9, mean_ms=2400.0)]
    snap.pods = [*snap.pods, pod("db-a", "db"), pod("db-b", "db")]
    (finding,) = diagnose(snap, LIMITS, {})
    assert (finding.deployment, finding.action) == ("db", RESTART) and "waiting on db" in finding.evidence


def test_the_runbook_acts_on_a_service_blamed_by_others_only_once_the_blame_held_for_a_while() -> None:
    confirmation = Confirmation(4.0)
    callers = Finding(SICK_SERVICE, "reservation", "callers failed 8 calls to reservation", DELETE_POD, pod="r-a")
    stalled = Finding(SICK_SERVICE, "db", "reservation is slow waiting on db", DELETE_POD, pod="db-a")
    sick_pod = Finding(SICK_POD, "geo", "pod geo-a: 3 failed probes", DELETE_POD, pod="geo-a", precedence=1)
    assert confirmation.actionable([sick_pod, callers], 100.0) == [sick_pod]  # a pod's own state: at once
    assert confirmation.actionable([callers], 102.0) == []
    # the stalled database's calls ended and reached the traces: the blame moves, and starts over
    assert confirmation.actionable([stalled], 104.5) == []
    assert confirmation.actionable([stalled], 106.5) == []
    assert confirmation.actionable([stalled], 108.5) == [stalled]
    # a look without the blame breaks it
    assert confirmation.actionable([], 110.0) == [] and confirmation.actionable([stalled], 112.0) == []
    confirmation.reset()
    assert confirmation.actionable([stalled], 116.5) == []


def test_a_slow_service_blames_a_store_whose_calls_are_slow_one_in_twenty() -> None:
    # a disk that stalls writes: most calls are fast reads, the commits wait seconds; the mean stays low
    snap = snapshot(
        deployments=[deployment("hello"), deployment("time"), deployment("db")],
        replicasets=[replicaset(n, 1, 1) for n in ("hello", "time", "db")],
        services=[service("hello"), service("time"), service("db")],
        pods=[pod("hello-a", "hello"), pod("time-a", "time"), pod("db-a", "db")],
    )
    snap.service_samples["time"] = samples(p95Ms=1150.0, upstreamErrors={})
    edge = Call("time", "db", "postgresql", calls=60, mean_ms=180.0)
    snap.calls = [dataclasses.replace(edge, p95_ms=900.0)]
    assert diagnose(snap, LIMITS, {})[0].deployment == "time"  # a tail short of a slow service's: slow on its own
    snap.calls = [dataclasses.replace(edge, p95_ms=5002.0)]
    (finding,) = diagnose(snap, LIMITS, {})
    assert (finding.deployment, finding.pod) == ("db", "db-a")
    assert "waiting on db (180 ms per call, p95 5002 ms)" in finding.evidence


def _three_services() -> Snapshot:
    """gateway calls hello and time; hello calls time and db."""
    names = ("gateway", "hello", "time", "db")
    snap = snapshot(
        deployments=[deployment(n) for n in names],
        replicasets=[replicaset(n, 1, 1) for n in names],
        services=[service(n) for n in names],
        pods=[pod(f"{n}-a", n) for n in names],
    )
    snap.service_samples["gateway"] = samples(p95Ms=30.0, upstreamErrors={})
    return snap


def _edge(caller: str, callee: str, mean_ms: float) -> Call:
    return Call(caller, callee, "http", calls=20, mean_ms=mean_ms)


def test_a_slow_caller_follows_its_slow_call_down_to_the_delayed_service() -> None:
    # a delay on time's network: its own p95 is fine (it answers at once, late), its callers wait on it
    snap = _three_services()
    snap.service_samples["gateway"] = samples(p95Ms=2100.0, upstreamErrors={})
    snap.service_samples["hello"] = samples(p95Ms=2050.0, upstreamErrors={})
    snap.calls = [_edge("gateway", "hello", 2000.0), _edge("gateway", "db", 3.0), _edge("hello", "time", 1990.0)]
    snap.calls.append(_edge("hello", "db", 4.0))
    (finding,) = diagnose(snap, LIMITS, {})
    assert finding.deployment == "time" and "waiting on time" in finding.evidence, finding


def test_a_service_whose_every_call_is_slow_is_the_delayed_one() -> None:
    # a delay on hello's network delays every answer hello gets: hello is the one, not what it calls
    snap = _three_services()
    snap.service_samples["gateway"] = samples(p95Ms=4100.0, upstreamErrors={})
    snap.service_samples["hello"] = samples(p95Ms=4000.0, upstreamErrors={})
    snap.calls = [_edge("gateway", "hello", 4000.0), _edge("gateway", "db", 3.0), _edge("hello", "time", 1000.0)]
    snap.calls.append(_edge("hello", "db", 1000.0))
    (finding,) = diagnose(snap, LIMITS, {})
    assert finding.deployment == "hello" and "waiting on hello" in finding.evidence, finding


def _unhealthy(pod_name: str, count: int, first: float, last: float) -> dict[str, Any]:
    return {
        "involvedObject": {"kind": "Pod", "name": pod_name, "uid": f"p-{pod_name}"},
        "reason": "Unhealthy",
        "count": count,
        "firstTimestamp": stamp(first),
        "lastTimestamp": stamp(last),
    }


def test_a_service_whose_one_callee_answers_slowly_blames_the_callee_that_fails_its_probes() -> None:
    # loss on time's network: hello, which calls time alone, is slow; the same traces as a fault on
    # hello's own network, but the kubelet's probes of time fail (one failure: too few for its own rule)
    snap = snapshot()
    snap.service_samples["hello"] = samples(p95Ms=1800.0, upstreamErrors={})
    snap.calls = [_edge("hello", "time", 1700.0)]
    snap.events = [_unhealthy("time-a", 1, 4, 2)]
    (finding,) = diagnose(snap, LIMITS, {}, since=NOW - 10)
    assert finding.deployment == "time" and "waiting on time" in finding.evidence, finding
    # its own network: hello's probes fail, or nobody's yet
    snap.events = [_unhealthy("hello-a", 1, 4, 2)]
    assert diagnose(snap, LIMITS, {}, since=NOW - 10)[0].deployment == "hello"
    snap.events = []
    assert diagnose(snap, LIMITS, {}, since=NOW - 10)[0].deployment == "hello"
    # probes that failed before the incident say nothing of it
    snap.events = [_unhealthy("time-a", 1, 40, 30)]
    assert diagnose(snap, LIMITS, {}, since=NOW - 10)[0].deployment == "hello"
    # a few seconds into the incident, no probe failing yet is no verdict: the probes get time to tell
    assert diagnose(snap, LIMITS, {}, since=NOW - 5) == []
    snap.events = [_unhealthy("time-a", 1, 4, 2)]
    assert diagnose(snap, LIMITS, {}, since=NOW - 5)[0].deployment == "time"
    snap.events = [_unhealthy("hello-a", 1, 4, 2)]
    assert diagnose(snap, LIMITS, {}, since=NOW - 5)[0].deployment == "hello"


def test_callers_timing_out_on_a_service_that_waits_on_its_store_blame_the_store() -> None:
    snap = snapshot(
        deployments=[deployment("hello"), deployment("time"), deployment("db")],
        replicasets=[replicaset("hello", 1, 1), replicaset("time", 1, 1), replicaset("db", 1, 1)],
        services=[service("hello"), service("time"), service("db")],
        pods=[pod("hello-a", "hello"), pod("time-a", "time"), pod("db-a", "db")],
    )
    snap.service_samples["hello"] = samples(p95Ms=3000.0, upstreamErrors={"time": {"timeout": 2}})
    snap.calls = [Call("time", "db", "postgresql", calls=4, mean_ms=2500.0)]
    (finding,) = diagnose(snap, LIMITS, {})
    assert (finding.deployment, finding.pod) == ("db", "db-a") and "waits on db" in finding.evidence


def test_a_pod_answering_not_ready_because_its_store_fails_blames_the_store() -> None:
    def unhealthy(message: str) -> dict[str, Any]:
        return {
            "involvedObject": {"kind": "Pod", "name": "time-a", "uid": "p-time-a"},
            "reason": "Unhealthy",
            "count": 4,
            "message": message,
            "firstTimestamp": stamp(12),
            "lastTimestamp": stamp(1),
        }

    base = {
        "deployments": [deployment("hello"), deployment("time"), deployment("db")],
        "replicasets": [replicaset("hello", 1, 1), replicaset("time", 1, 1), replicaset("db", 1, 1)],
        "services": [service("hello"), service("time"), service("db")],
        "pods": [pod("hello-a", "hello"), pod("time-a", "time", ready=False, since=stamp(10)), pod("db-a", "db")],
    }
    edge = Call("time", "db", "postgresql", calls=10, errors=3, mean_ms=40.0)
    answers = snapshot(**base, events=[unhealthy("HTTP probe failed with statuscode: 503")], calls=[edge])
    (finding,) = diagnose(answers, LIMITS, {})
    assert (finding.deployment, finding.pod) == ("db", "db-a") and "waits on db" in finding.evidence
    # a pod that cannot answer in time is itself sick (its own network, CPU), whatever its store does
    silent = snapshot(**base, events=[unhealthy("Get ...: context deadline exceeded")], calls=[edge])
    (finding,) = diagnose(silent, LIMITS, {})
    assert (finding.deployment, finding.pod) == ("time", "time-a")


def test_a_service_still_failing_after_its_pods_were_replaced_blames_what_it_waits_on() -> None:
    snap = snapshot(
        deployments=[deployment("hello"), deployment("time"), deployment("db"), deployment("cache")],
        replicasets=[replicaset(n, 1, 1) for n in ("hello", "time", "db", "cache")],
        services=[service("hello"), service("time"), service("db"), service("cache")],
        pods=[pod("hello-a", "hello"), pod("time-a", "time"), pod("db-a", "db"), pod("cache-a", "cache")],
    )
    snap.service_samples["hello"] = samples(p95Ms=3000.0, upstreamErrors={"time": {"timeout": 2}})
    # the database is slower than the cache, but not slow enough to be blamed outright
    snap.calls = [
        Call("time", "db", "postgresql", calls=9, mean_ms=60.0),
        Call("time", "cache", "memcached", calls=30, mean_ms=1.0),
    ]
    (first,) = diagnose(snap, LIMITS, {})
    assert (first.deployment, first.pod) == ("time", "time-a")
    (second,) = diagnose(snap, LIMITS, {"time": NOW - 60})
    assert (second.deployment, second.pod) == ("db", "db-a")
    assert "replacing time did not help" in second.evidence and "waits longest on db (60 ms" in second.evidence
    # once the database was replaced too, the cache is the next suspect
    (third,) = diagnose(snap, LIMITS, {"time": NOW - 60, "db": NOW - 30})
    assert third.deployment == "cache"


def test_a_replaced_pod_that_cannot_get_ready_either_blames_what_its_service_waits_on() -> None:
    # a database under slow IO: the service's new pod cannot pass its first readiness check, whose probe
    # times out on a busy host; replacing the service's pod again would not help
    snap = snapshot(
        deployments=[deployment("hello"), deployment("time"), deployment("db")],
        replicasets=[replicaset(n, 1, 1) for n in ("hello", "time", "db")],
        services=[service("hello"), service("time"), service("db")],
        pods=[pod("hello-a", "hello"), pod("time-b", "time", age=40, ready=False, since=stamp(30)), pod("db-a", "db")],
        events=[
            {
                "involvedObject": {"kind": "Pod", "name": "time-b", "uid": "p-time-b"},
                "reason": "Unhealthy",
                "count": 20,
                "message": "Readiness probe failed: Get ...: context deadline exceeded",
                "firstTimestamp": stamp(29),
                "lastTimestamp": stamp(1),
            }
        ],
        calls=[Call("time", "db", "postgresql", calls=9, mean_ms=60.0)],
    )
    (before,) = diagnose(snap, LIMITS, {})
    assert (before.deployment, before.pod) == ("time", "time-b")
    (after,) = diagnose(snap, LIMITS, {"time": NOW - 40})
    assert (after.deployment, after.pod) == ("db", "db-a")
    assert after.evidence.startswith("pod time-b: not Ready for ")
    assert "replacing time did not help" in after.evidence


def test_probes_that_failed_before_the_last_action_settled_are_not_evidence() -> None:
    # the database behind time was replaced: time's pod failed its probes until then, and is well since
    snap = snapshot(events=[_unhealthy("time-a", 11, 25, 18)])
    (finding,) = diagnose(snap, LIMITS, {}, since=NOW - 30)
    assert (finding.rule, finding.pod) == (SICK_POD, "time-a") and "11 failed probes" in finding.evidence
    assert diagnose(snap, LIMITS, {"db": NOW - 15}, since=NOW - 30) == []
    snap.events = [_unhealthy("time-a", 11, 25, 1)]  # failing still
    assert diagnose(snap, LIMITS, {"db": NOW - 15}, since=NOW - 30)[0].pod == "time-a"


def _with_port(obj: dict[str, Any], port: int) -> dict[str, Any]:
    obj["spec"]["containers"][0]["ports"] = [{"name": "http", "containerPort": port}]
    return obj


def test_a_service_targeting_a_port_its_pods_do_not_declare_is_patched_to_theirs() -> None:
    pods = [_with_port(pod("hello-a", "hello"), 5000), _with_port(pod("time-a", "time"), 8080)]
    time_service = service("time") | {
        "spec": {"selector": {"app": "time"}, "ports": [{"port": 8080, "targetPort": 9999}]}
    }
    (finding,) = diagnose(snapshot(pods=pods, services=[service("hello"), time_service]), LIMITS, {})
    assert (finding.action, finding.service, finding.port_index, finding.port) == (PATCH_TARGET_PORT, "time", 0, 8080)
    assert "targetPort 9999" in finding.evidence


def test_a_deployment_scaled_to_zero_behind_a_service_is_scaled_up() -> None:
    pods = [pod("hello-a", "hello")]
    (finding,) = diagnose(snapshot(deployments=[deployment("hello"), deployment("time", 0)], pods=pods), LIMITS, {})
    assert (finding.deployment, finding.action) == ("time", SCALE_UP)


def test_pods_unschedulable_for_a_node_selector_get_it_removed_not_rolled_back() -> None:
    broken = deployment("time")
    broken["spec"]["template"]["spec"] = {"nodeSelector": {"kubernetes.io/hostname": "extra-node"}}
    broken["status"] = {"conditions": [{"type": "Progressing", "reason": "ReplicaSetUpdated"}]}
    sets = [replicaset("hello", 1, 1), replicaset("time", 1, 0, replicas=0), replicaset("time", 2, 0)]
    pending = pod("time-b", "time", revision=2, age=10, ready=False)
    pending["status"] = {"phase": "Pending"}
    event = {
        "involvedObject": {"kind": "Pod", "name": "time-b", "uid": "p-time-b"},
        "reason": "FailedScheduling",
        "message": "0/1 nodes are available: 1 node(s) didn't match Pod's node affinity/selector.",
        "lastTimestamp": stamp(1),
    }
    snap = snapshot(deployments=[deployment("hello"), broken], replicasets=sets, events=[event])
    snap.pods = [pod("hello-a", "hello"), pending]
    (finding,) = diagnose(snap, LIMITS, {})
    assert (finding.deployment, finding.action) == ("time", DROP_NODE_SELECTOR)
    assert "didn't match" in finding.evidence and "kubernetes.io/hostname=extra-node" in finding.evidence


def test_a_recreate_rollout_that_never_came_up_is_rolled_back() -> None:
    broken = deployment("time")
    broken["status"] = {"conditions": [{"type": "Progressing", "reason": "ReplicaSetUpdated"}]}
    sets = [replicaset("hello", 1, 1), replicaset("time", 1, 0, replicas=0), replicaset("time", 2, 0)]
    pods = [pod("hello-a", "hello"), pod("time-b", "time", revision=2, age=10, ready=False)]
    (finding,) = diagnose(snapshot(deployments=[deployment("hello"), broken], replicasets=sets, pods=pods), LIMITS, {})
    assert (finding.deployment, finding.action) == ("time", UNDO)


def test_a_broken_new_image_is_named_when_rolled_back() -> None:
    sets = [replicaset("hello", 1, 1), replicaset("time", 1, 0, replicas=0), replicaset("time", 2, 0)]
    for revision, image in ((1, "shop/time:1.0"), (2, "shop/time:1.1")):
        sets[revision]["spec"]["template"] = {"spec": {"containers": [{"name": "c", "image": image}]}}
    pods = [pod("hello-a", "hello"), pod("time-b", "time", revision=2, age=10, ready=False)]
    broken = deployment("time")
    broken["status"] = {"conditions": [{"type": "Progressing", "reason": "ReplicaSetUpdated"}]}
    (finding,) = diagnose(snapshot(deployments=[deployment("hello"), broken], replicasets=sets, pods=pods), LIMITS, {})
    assert finding.action == UNDO
    assert "revision 2 (its image shop/time:1.1 replaced shop/time:1.0) has 0/1 pods available" in finding.evidence


# --------------------------------------------------------------------------- database faults in logs


def with_database(scripts: tuple[str, ...] = ("restore-grants.sh", "allow-non-tls.sh")) -> dict[str, Any]:
    """A snapshot of hello calling time, and time using its database `db` (whose pod has repair scripts)."""
    time_service = deployment("time")
    time_service["spec"]["template"]["spec"] = {
        "containers": [{"name": "c", "env": [{"name": "DATABASE_ADDR", "value": "db:5432"}]}]
    }
    db = deployment("db")
    db["spec"]["template"]["spec"] = {
        "containers": [{"name": "db", "volumeMounts": [{"name": "scripts", "mountPath": "/scripts"}]}],
        "volumes": [{"name": "scripts", "configMap": {"name": "db-scripts"}}],
    }
    return {
        "deployments": [deployment("hello"), time_service, db],
        "replicasets": [replicaset("hello", 1, 1), replicaset("time", 1, 1), replicaset("db", 1, 1)],
        "pods": [pod("hello-a", "hello"), pod("time-a", "time"), pod("db-a", "db")],
        "services": [service("hello"), service("time"), service("db")],
        "configmaps": [{"metadata": {"name": "db-scripts"}, "data": {name: "#!/bin/sh\n" for name in scripts}}],
    }


def logged(ago: float, text: str) -> str:
    return f"{datetime.fromtimestamp(NOW - ago, UTC).strftime('%Y-%m-%dT%H:%M:%S.%f')}123Z {text}\n"


def test_a_service_denied_its_tables_gets_its_database_script_run() -> None:
    parts = with_database()
    parts["pods"][1] = pod("time-a", "time", age=12, ready=False, since=stamp(11))
    line = '{"level": "warning", "msg": "not ready: StoreError: db: permission denied for table points"}'
    (finding,) = diagnose(snapshot(**parts, logs={"time-a": logged(9, line)}), LIMITS, {})
    assert (finding.rule, finding.deployment, finding.action) == ("database-grants-revoked", "db", RUN_SCRIPT)
    assert finding.script == "restore-grants.sh" and finding.precedence == 0
    assert finding.evidence == "pod time-a logs: not ready: StoreError: db: permission denied for table points"
    # the runbook runs it in the database's pod
    play = yaml.safe_load(playbook_for(finding, "sm", LIMITS["rollout_wait_seconds"]))[0]
    assert play["tasks"][0]["command"] == "kubectl exec -n sm deployment/db -- sh /scripts/restore-grants.sh"
    # once acted on the database, the service's trouble is not blamed on the service itself
    assert diagnose(snapshot(**parts, logs={"time-a": logged(9, line)}), LIMITS, {"db": NOW}) == []


def test_a_database_turning_away_clients_without_tls_gets_its_script_run_from_its_own_log() -> None:
    line = 'FATAL:  pg_hba.conf rejects connection for host "10.0.0.7", user "app", database "app", no encryption'
    (finding,) = diagnose(snapshot(**with_database(), logs={"db-a": logged(2, line)}), LIMITS, {})
    assert (finding.deployment, finding.script) == ("db", "allow-non-tls.sh")
    # an old line is history: the database's own errors repeat while clients try
    assert diagnose(snapshot(**with_database(), logs={"db-a": logged(15, line)}), LIMITS, {}) == []


def test_log_lines_from_before_a_service_became_ready_are_history() -> None:
    parts = with_database()
    parts["pods"][1] = pod("time-a", "time", since=stamp(5))  # Ready again 5 s ago
    line = "not ready: StoreError: db: permission denied for table points"
    assert diagnose(snapshot(**parts, logs={"time-a": logged(8, line)}), LIMITS, {}) == []
    (finding,) = diagnose(snapshot(**parts, logs={"time-a": logged(3, f"db failed: {line}")}), LIMITS, {})
    assert finding.script == "restore-grants.sh"  # its requests fail since


def test_a_service_ready_all_along_is_not_blamed_on_an_earlier_incident() -> None:
    parts = with_database()
    parts["pods"][1] = pod("time-a", "time", age=600, since=stamp(590))  # Ready through an earlier incident
    line = "db failed: StoreError: db: permission denied for table points"
    taken = NOW - 2  # the agent took this incident 2 s ago
    assert diagnose(snapshot(**parts, logs={"time-a": logged(12, line)}), LIMITS, {}, since=taken) == []
    (finding,) = diagnose(snapshot(**parts, logs={"time-a": logged(5, line)}), LIMITS, {}, since=taken)
    assert finding.script == "restore-grants.sh"  # it failed just before the agent looked: this incident


def test_a_pod_turned_unready_is_not_blamed_on_what_it_said_while_it_started() -> None:
    parts = with_database(scripts=("restore-data.sh",))
    unready = pod("time-a", "time", age=600, ready=False, since=stamp(2))  # Ready for long, then a busy CPU
    unready["spec"]["containers"][0]["readinessProbe"] = {"periodSeconds": 1, "failureThreshold": 3}
    parts["pods"][1] = unready
    started = logged(590, "not ready: NoData: table points in database geo holds no rows")
    assert [f.rule for f in diagnose(snapshot(**parts, logs={"time-a": started}), LIMITS, {})] != [
        "database-data-missing"
    ]
    # the line that says why comes with the first failed probe, before the pod turns
    turning = logged(5, "not ready: NoData: table points in database geo holds no rows")
    (finding, *_) = diagnose(snapshot(**parts, logs={"time-a": started + turning}), LIMITS, {})
    assert (finding.rule, finding.deployment) == ("database-data-missing", "db")


def test_what_a_service_said_before_it_was_ready_again_is_history() -> None:
    parts = with_database(scripts=("restore-data.sh",))
    # Ready for 2 s after its start, then its container killed: the line of its start is within the
    # failed probes' reach, but it said it was ready again since
    parts["pods"][1] = pod("time-a", "time", age=6, ready=False, since=stamp(1))
    parts["pods"][1]["spec"]["containers"][0]["readinessProbe"] = {"periodSeconds": 1, "failureThreshold": 3}
    started = logged(4, '{"level": "warning", "msg": "not ready: NoData: table points in database geo holds no rows"}')
    again = logged(3, '{"level": "info", "msg": "ready again"}')
    findings = diagnose(snapshot(**parts, logs={"time-a": started + again}), LIMITS, {})
    assert "database-data-missing" not in [f.rule for f in findings]
    (finding, *_) = diagnose(snapshot(**parts, logs={"time-a": started}), LIMITS, {})
    assert finding.rule == "database-data-missing"


def test_a_service_is_a_victim_of_its_repaired_database_only_while_it_still_says_so() -> None:
    parts = with_database()
    parts["pods"][1] = pod("time-a", "time", age=60, ready=False, since=stamp(40))
    line = "not ready: StoreError: db: permission denied for table points"
    repaired = {"db": NOW - LIMITS["settle_seconds"] - 5}  # repaired, and settled since
    # it said so only before the repair: it is not the database's victim any more, its own pod is looked at
    findings = diagnose(snapshot(**parts, logs={"time-a": logged(30, line)}), LIMITS, repaired)
    assert [(f.deployment, f.action) for f in findings] == [("time", DELETE_POD)]
    # it still says so after the repair settled: still the database's victim (the repair is not retried)
    assert diagnose(snapshot(**parts, logs={"time-a": logged(30, line) + logged(2, line)}), LIMITS, repaired) == []
    # while the repair settles, it is a victim whatever it said
    assert diagnose(snapshot(**parts, logs={"time-a": logged(30, line)}), LIMITS, {"db": NOW - 1}) == []


def test_no_finding_without_the_script_in_the_database_pod() -> None:
    parts = with_database(scripts=("allow-non-tls.sh",))
    parts["pods"][1] = pod("time-a", "time", age=12, ready=False, since=stamp(11))
    line = "not ready: StoreError: db: permission denied for table points"
    findings = diagnose(snapshot(**parts, logs={"time-a": logged(2, line)}), LIMITS, {})
    assert [f.action for f in findings] == [DELETE_POD]  # only what any pod rule sees


def test_a_new_image_whose_ready_pods_log_errors_is_rolled_back() -> None:
    sets = [replicaset("hello", 1, 1), replicaset("time", 1, 0, replicas=0), replicaset("time", 2, 1)]
    for revision, image in ((1, "fl/client:1.0"), (2, "fl/client:1.1")):
        sets[revision]["spec"]["template"] = {"spec": {"containers": [{"name": "c", "image": image}]}}
    pods = [pod("hello-a", "hello"), pod("time-b", "time", revision=2, age=30, since=stamp(25))]
    error = "ValueError: parameter shape mismatch: received [(80, 10)], the model's layers are [(64, 10)]"
    logs = {"time-b": logged(20, "Traceback (most recent call last):") + logged(20, error)}
    (finding,) = diagnose(snapshot(replicasets=sets, pods=pods, logs=logs), LIMITS, {})
    assert (finding.rule, finding.deployment, finding.action) == ("erring-change", "time", UNDO)
    assert finding.evidence.startswith("revision 2 (its image fl/client:1.1 replaced fl/client:1.0) logs errors")
    assert finding.evidence.endswith(error)
    # errors logged before the pod became Ready, a change that kept the program, or no error: nothing
    assert diagnose(snapshot(replicasets=sets, pods=pods, logs={"time-b": logged(28, error)}), LIMITS, {}) == []
    restarted = [sets[0], sets[1], replicaset("time", 2, 1)]
    restarted[2]["spec"]["template"] = sets[1]["spec"]["template"]
    assert diagnose(snapshot(replicasets=restarted, pods=pods, logs=logs), LIMITS, {}) == []
    assert diagnose(snapshot(replicasets=sets, pods=pods, logs={"time-b": logged(5, "INFO ok")}), LIMITS, {}) == []
    assert diagnose(snapshot(replicasets=sets, pods=pods, logs=logs), LIMITS, {"time": NOW - 5}) == []  # undone


def test_the_runbooks_playbook_waits_for_the_rollout_and_runs_within_its_limit(tmp_path: Path) -> None:
    finding = Finding(SICK_POD, "time", "pod time-a: not Ready for 30s", DELETE_POD, pod="time-a")
    play = yaml.safe_load(playbook_for(finding, "sm", LIMITS["rollout_wait_seconds"]))[0]
    assert play["tasks"][0]["command"] == "kubectl delete pod time-a -n sm --wait=false"
    assert play["tasks"][1]["command"].endswith(f"--timeout={LIMITS['rollout_wait_seconds']:g}s")
    # the playbook's own limit leaves the rollout wait room, and stops a playbook that hangs well before
    # the server's default of 300 s
    assert LIMITS["rollout_wait_seconds"] + 30 <= LIMITS["playbook_seconds"] < 300
    asked: list[float] = []

    class Api:
        def playbook(self, text: str, timeout: float = 300.0) -> dict[str, Any]:
            asked.append(timeout)
            return {"ok": False, "timedOut": True, "exitCode": -9, "seconds": timeout}

    ctx = AgentContext(cast(AgentApi, Api()), Incident("sm"), out_dir=tmp_path)
    answer = run_playbook(ctx, yaml.safe_dump([play]), why="test", timeout=LIMITS["playbook_seconds"])
    assert asked == [LIMITS["playbook_seconds"]] and answer["timedOut"]
    assert ctx.actions[0]["ok"] is False and (tmp_path / "playbook-1.yml").exists()
