"""The oracle: was the fault remediated, as a user would feel it?

It passes only when, for a whole settle window (default 15 s), at once:

- the target's pods are all Ready, as many as its deployment wants, and none restarts;
- the workload's success rate is back within a tolerance of the baseline measured before the
  injection, and its p95 latency too;
- the fault no longer acts: no live pod instance the fault was injected into is still affected
  (a stressor, a network or IO fault, a pause image), the deployment no longer carries a
  faulty configuration that was patched into it (resources, a wrong program, a nodeSelector no node
  matches; a deployment scaled to 0 has a replica available again, however many it wants), and a
  Service whose targetPort was changed reaches its pods on every port (`service_reach.py`).

A fix still in back-off is therefore not failed by one snapshot (the window may start late, up
to the grading timeout), and a flapping system is not passed by one (any lapse restarts it). A
no-op agent never passes: the fault-specific check fails while the fault is in place.

The verdict passes once the checks have held for the settle window and the workload completed a
request in it (a round of training, for an app whose workload is its rounds, can outlast the window).
With a workload and its baseline, the verdict passes sooner, once the checks have held
``min_hold_seconds`` and the requests sent since they started to hold decide it (a sequential test,
``sequential.py``: a degraded system passes with probability at most ``false_pass``). The verdict
records what decided it and the evidence.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from remedlab.api.client import Backend
from remedlab.api.errors import NotFound
from remedlab.chaos.confirm import pod_ready, still_acting
from remedlab.observe.workload.running import Workload
from remedlab.observe.workload.stats import Summary
from remedlab.oracle.sequential import Evidence, SequentialTest
from remedlab.oracle.service_reach import service_reach_problems

Obj = dict[str, Any]


@dataclass(frozen=True)
class Baseline:
    """The workload before the fault: its success rate and p95 latency."""

    success_rate: float
    p95_ms: float | None


@dataclass(frozen=True)
class GradeSettings:
    settle_seconds: float = 15.0
    timeout_seconds: float = 120.0
    success_tolerance: float = 0.05  # the success rate may be this much below the baseline's
    latency_factor: float = 1.5  # p95 may be this many times the baseline's ...
    latency_slack_ms: float = 50.0  # ... plus this much
    interval_seconds: float = 1.0
    sequential: bool = True  # pass as soon as the workload's evidence decides (sequential.py)
    false_pass: float = 0.01  # the sequential test's bound on passing a degraded system
    false_fail: float = 0.01  # ... and on keeping a healthy one from passing early
    min_hold_seconds: float = 2.0  # the checks hold at least this long before an early pass


@dataclass
class Verdict:
    passed: bool
    reasons: list[str]
    seconds: float
    held_seconds: float = 0.0
    window: dict[str, Any] = field(default_factory=dict)
    decided_by: str = "window"
    """"sequential" (the workload's evidence decided early), "window" (the settle window held) or "timeout"."""
    evidence: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "passed": self.passed,
            "reasons": self.reasons,
            "seconds": round(self.seconds, 3),
            "heldSeconds": round(self.held_seconds, 3),
            "window": self.window,
            "decidedBy": self.decided_by,
            "evidence": self.evidence,
        }


def _restarts(pod: Obj) -> int:
    return sum(int(s.get("restartCount", 0)) for s in (pod.get("status") or {}).get("containerStatuses") or [])


def target_deployment(backend: Backend, namespace: str, target: str) -> Obj | None:
    """The deployment named ``target``, or the one behind the Service named ``target``."""
    try:
        return backend.get("deployments", namespace, target)
    except NotFound:
        pass
    try:
        service = backend.get("services", namespace, target)
    except NotFound:
        return None
    selector = (service.get("spec") or {}).get("selector") or {}
    for deployment in backend.list_objects("deployments", namespace):
        labels = ((deployment["spec"].get("template") or {}).get("metadata") or {}).get("labels") or {}
        if selector and all(labels.get(k) == v for k, v in selector.items()):
            return deployment
    return None


def target_pods(backend: Backend, deployment: Obj) -> list[Obj]:
    namespace = deployment["metadata"]["namespace"]
    labels = (deployment["spec"].get("selector") or {}).get("matchLabels") or {}
    selector = ",".join(f"{k}={v}" for k, v in labels.items())
    return [
        p
        for p in backend.list_objects("pods", namespace, selector or None)
        if not p["metadata"].get("deletionTimestamp")
    ]


def pod_problems(backend: Backend, namespace: str, target: str) -> tuple[list[str], dict[str, int]]:
    """What is wrong with the target's pods, and each pod's restart count."""
    deployment = target_deployment(backend, namespace, target)
    if deployment is None:
        return [f"no deployment {target} in {namespace}"], {}
    pods = target_pods(backend, deployment)
    want = int(deployment["spec"].get("replicas", 1))
    problems = [f"pod {p['metadata']['name']} is not Ready" for p in pods if not pod_ready(p)]
    if len(pods) < want:
        problems.append(f"{target} has {len(pods)} of {want} pods")
    return problems, {p["metadata"]["name"]: _restarts(p) for p in pods}


def fault_problems(backend: Backend, chaos: Obj | None) -> list[str]:
    """Does the fault still act? (None: a no-fault control, nothing to check.)"""
    if chaos is None:
        return []
    problems = [f"the fault still acts: {detail}" for detail in still_acting(backend, chaos)]
    spec = chaos.get("spec") or {}
    if spec.get("action") == "pod-config-error":
        problems.extend(_config_problems(backend, chaos))
    if spec.get("action") == "k8s-target-port-misconfig":
        records = ((chaos.get("status") or {}).get("experiment") or {}).get("containerRecords") or []
        for service in sorted({str(r["service"]) for r in records if r.get("service")}):
            problems.extend(service_reach_problems(backend, chaos["metadata"]["namespace"], service))
    return problems


def _config_problems(backend: Backend, chaos: Obj) -> list[str]:
    spec = chaos["spec"]
    records = ((chaos.get("status") or {}).get("experiment") or {}).get("containerRecords") or []
    namespace = chaos["metadata"]["namespace"]
    problems = []
    for record in records:
        name = record.get("deployment")
        if not name:
            continue
        try:
            deployment = backend.get("deployments", namespace, name)
        except NotFound:
            problems.append(f"deployment {name} is gone")
            continue
        containers = deployment["spec"]["template"]["spec"].get("containers") or []
        resources = (containers[0].get("resources") or {}) if containers else {}
        faulty = {"requests": spec.get("requests") or {}, "limits": spec.get("limits") or {}}
        if all(resources.get(kind, {}).get(k) == v for kind, values in faulty.items() for k, v in values.items()):
            problems.append(f"deployment {name} still has the faulty resources {faulty}")
    return problems


def latency_ceiling(baseline: Baseline, settings: GradeSettings) -> float | None:
    """The p95 latency (ms) a fixed system may show, from the baseline's."""
    if baseline.p95_ms is None:
        return None
    return baseline.p95_ms * settings.latency_factor + settings.latency_slack_ms


def workload_problems(summary: Summary, baseline: Baseline, settings: GradeSettings) -> list[str]:
    if summary.requests == 0:
        return ["no workload request completed in the window"]
    problems = []
    floor = baseline.success_rate - settings.success_tolerance
    if summary.success_rate < floor:
        problems.append(f"success rate {summary.success_rate:.1%} below {floor:.1%}")
    ceiling = latency_ceiling(baseline, settings)
    if ceiling is not None and summary.p95_ms is not None and summary.p95_ms > ceiling:
        problems.append(f"p95 {summary.p95_ms:.0f} ms above {ceiling:.0f} ms")
    return problems


async def judge(
    backend: Backend,
    namespace: str,
    target: str,
    chaos: Obj | None,
    workload: Workload | None,
    baseline: Baseline | None,
    settings: GradeSettings,
    fetch_chaos: Callable[[], Obj | None] | None = None,
) -> Verdict:
    """Watch until every check has held for the settle window (pass) or the timeout ends (fail).

    ``fetch_chaos`` re-reads the chaos object each round (its records change as pods go)."""
    started = time.monotonic()
    streak_since: float | None = None
    streak_second = 0
    streak_restarts: dict[str, int] = {}
    reasons: list[str] = ["not judged yet"]
    window: dict[str, Any] = {}
    evidence: Evidence | None = None
    test = (
        SequentialTest(settings.false_pass, settings.false_fail, 1 - baseline.success_rate)
        if settings.sequential and workload is not None and baseline is not None
        else None
    )
    while True:
        now = time.monotonic()
        current = fetch_chaos() if fetch_chaos is not None else chaos
        problems, restarts = pod_problems(backend, namespace, target)
        problems += fault_problems(backend, current)
        second = workload.complete_seconds() if workload is not None else 0
        if streak_since is not None and any(restarts.get(p, n) != n for p, n in streak_restarts.items()):
            problems.append("a target pod restarted")
        if not problems and streak_since is not None and workload is not None and baseline is not None:
            summary = workload.summarize(streak_second, second)
            window = asdict(summary)
            if second > streak_second:
                problems += workload_problems(summary, baseline, settings)
            if test is not None and not problems:
                ceiling = latency_ceiling(baseline, settings)
                evidence = test.weigh(*workload.stats.settled_outcomes(streak_second, second, ceiling))
        if problems:
            reasons = problems
            streak_since, evidence = None, None
        elif streak_since is None:
            streak_since, streak_second, streak_restarts = now, second, restarts
        elif now - streak_since >= settings.settle_seconds and (baseline is None or window.get("requests")):
            seen = evidence.to_dict() if evidence is not None else {}
            return Verdict(True, [], now - started, now - streak_since, window, "window", seen)
        elif now - streak_since >= settings.settle_seconds:
            reasons = ["no workload request completed while the checks held"]  # rounds of training can be slow
        elif evidence is not None and evidence.healthy and now - streak_since >= settings.min_hold_seconds:
            return Verdict(True, [], now - started, now - streak_since, window, "sequential", evidence.to_dict())
        if now - started >= settings.timeout_seconds:
            held = 0.0 if streak_since is None else now - streak_since
            seen = evidence.to_dict() if evidence is not None else {}
            return Verdict(False, reasons, now - started, held, window, "timeout", seen)
        await asyncio.sleep(settings.interval_seconds)
