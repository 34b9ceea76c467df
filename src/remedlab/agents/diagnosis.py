"""What looks wrong in a namespace, as an on-call SRE would judge it from what any agent may see
(pods, events, rollout history, pod resources, service metrics), with no ground truth. Rules, in
order of precedence:

0. an object misconfigured so that it cannot work, seen in the objects alone (`object_rules.py`): a
   Service whose targetPort no container port of its pods declares → patch it to the container's
   port; a deployment scaled to 0 that a Service selects → scale it to 1; pods Pending, failing to
   schedule, for a nodeSelector → remove the nodeSelector; and a database fault its pod's own repair
   script mends, read off the logs of the database or of a service using it (`log_rules.py`: revoked
   grants, a missing role, TLS required of clients that do not use it, data lost) → run the script
   there; the trouble of the services using it follows from it;
1. a deployment whose newest revision's pods are not available while an older revision exists (still
   running, or scaled down by a rollout that never finished): the last change broke it (a new image,
   command or setting) → roll it back; so too when the last change replaced the image, command or
   arguments and the new pods, Ready, log errors (``error_log_patterns``);
2. a pod not Ready for a while, failing its probes, near its CPU or memory limit, or OOMKilled:
   that instance is sick → replace the pod;
3. a service its callers fail to reach, or slow itself while everything it calls is fine → replace
   its pods; if replacing them did not help, what it waits on longest is the suspect.

The thresholds are data (diagnosis.yaml). The baseline runbook acts on these findings; ThinkRemed
uses them to check its own fix.
"""

from __future__ import annotations

import statistics
from typing import Any

from remedlab.agents.diagnosis_config import diagnosis_config
from remedlab.agents.findings import (
    DELETE_POD,
    RESTART,
    SICK_POD,
    SICK_SERVICE,
    UNDO,
    Finding,
)
from remedlab.agents.log_rules import database_findings, error_since_ready
from remedlab.agents.object_rules import object_findings
from remedlab.agents.signals import (
    Call,
    Snapshot,
    cpu_limit_millicores,
    created_at,
    is_ready,
    last_termination_reasons,
    memory_limit_bytes,
    name_of,
    parse_time,
    ready_changed_at,
    revision_of,
)


def diagnose(snap: Snapshot, limits: dict[str, float], acted: dict[str, float], since: float = 0.0) -> list[Finding]:
    """Everything that looks wrong in the snapshot, strongest first. ``acted`` maps a deployment to
    when the runbook last acted on it: service metrics and failed probes older than the last action
    (plus time for calls in flight to end) are not evidence any more, nor are those older than
    ``since`` (when the agent took the incident: what came before belongs to something else)."""
    findings = [f for f in object_findings(snap, limits) if f.deployment not in acted]
    rolling = {f.deployment for f in findings}  # their pods' state follows from the object's fault
    databases, victims = database_findings(snap, diagnosis_config(), limits, since, acted)
    findings += [f for f in databases if f.deployment not in acted]
    rolling |= {f.deployment for f in databases} | victims
    for deployment in snap.deployments:
        name = name_of(deployment)
        state = _rollout_state(snap, name, deployment, limits)
        if state == "regressed" and name not in acted and name not in rolling:
            findings.append(_regression(snap, name, deployment))
        elif state == "settled" and name not in acted and name not in rolling:
            erring = _erring_change(snap, name)
            if erring is not None:
                findings.append(erring)
                rolling.add(name)
        if state in ("regressed", "rolling"):
            rolling.add(name)
    if acted:  # what pods and services suffered before the last action had settled is not evidence any more
        since = max(since, max(acted.values()) + limits["settle_seconds"])
    for pod in snap.pods:
        owner = snap.deployment_of(pod)
        if owner is None or owner in rolling or pod["metadata"].get("deletionTimestamp"):
            continue
        findings.extend(_pod_findings(snap, owner, pod, limits, since))
    findings = [_blame_store_behind(snap, f, limits) for f in findings]
    findings.extend(_service_findings(snap, limits, since, {f.deployment for f in findings} | rolling))
    findings = _unique([_look_deeper(snap, f, acted) for f in findings])
    return sorted(findings, key=lambda f: f.precedence)


def _look_deeper(snap: Snapshot, finding: Finding, acted: dict[str, float]) -> Finding:
    """A service whose pods were replaced already and still fails its callers, or whose new pods are as
    sick as the old (they cannot get Ready while what they need is too slow), is most likely a victim of
    something it calls that shows no clear symptom yet: blame the dependency it waits on longest, or
    fails at most, that was not replaced yet."""
    if finding.rule not in (SICK_SERVICE, SICK_POD) or finding.deployment not in acted:
        return finding
    services = set(snap.services_of(finding.deployment))
    edges: list[tuple[str, Call]] = []
    for edge in snap.calls:
        callee = snap.deployment_for_service(edge.callee)
        if edge.caller in services and callee is not None and callee not in acted:
            edges.append((callee, edge))
    if not edges:
        return finding

    def harm(pair: tuple[str, Call]) -> tuple[float, float]:
        edge = pair[1]
        return (edge.errors / edge.calls if edge.calls else 0.0, edge.mean_ms)

    culprit, worst = max(edges, key=harm)
    evidence = (
        f"{finding.evidence}; replacing {finding.deployment} did not help, and it waits longest on {worst.callee} "
        f"({_timing(worst)}, {worst.errors} failed)"
    )
    return _replace(snap, culprit, evidence)


def _unique(findings: list[Finding]) -> list[Finding]:
    """Each finding once (blaming what a service waits on can name one blamed already): the first."""
    seen: set[tuple[str, str, str | None]] = set()
    kept = []
    for finding in findings:
        key = (finding.rule, finding.deployment, finding.pod)
        if key not in seen:
            seen.add(key)
            kept.append(finding)
    return kept


def _newest_pods(snap: Snapshot, name: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The replica sets of a deployment (oldest first) and the pods of the newest."""
    sets = snap.replicasets_of(name)
    if not sets:
        return sets, []
    uid = sets[-1]["metadata"]["uid"]
    pods = [p for p in snap.pods if any(o.get("uid") == uid for o in p["metadata"].get("ownerReferences") or [])]
    return sets, pods


def _rollout_state(snap: Snapshot, name: str, deployment: dict[str, Any], limits: dict[str, float]) -> str:
    """``settled``, ``rolling`` (a new revision still within its grace) or ``regressed``."""
    sets, pods = _newest_pods(snap, name)
    want = int(deployment["spec"].get("replicas", 1))
    if len(sets) < 2 or want == 0:
        return "settled"
    if int((sets[-1].get("status") or {}).get("availableReplicas", 0)) >= want:
        return "settled"
    if not any(int((rs.get("spec") or {}).get("replicas", 0)) > 0 for rs in sets[:-1]) and _progress_reason(
        deployment
    ) in (None, "NewReplicaSetAvailable"):
        return "settled"  # the rollout finished earlier: a pod of it fell sick since, not the change
    ages = [snap.taken - (created_at(p) or snap.taken) for p in pods]
    if not pods or max(ages) < limits["rollout_grace_seconds"]:
        return "rolling"
    return "regressed"


def _progress_reason(deployment: dict[str, Any]) -> str | None:
    """The reason of the deployment's Progressing condition: NewReplicaSetAvailable once a rollout finished
    (a Recreate rollout whose new pods never came up has scaled the old revision to zero without it)."""
    for condition in (deployment.get("status") or {}).get("conditions") or []:
        if condition.get("type") == "Progressing":
            return str(condition.get("reason") or "")
    return None


def _images(replicaset: dict[str, Any]) -> list[str]:
    containers = (((replicaset.get("spec") or {}).get("template") or {}).get("spec") or {}).get("containers") or []
    return [str(c.get("image")) for c in containers]


def _regression(snap: Snapshot, name: str, deployment: dict[str, Any]) -> Finding:
    sets, pods = _newest_pods(snap, name)
    want = int(deployment["spec"].get("replicas", 1))
    available = int((sets[-1].get("status") or {}).get("availableReplicas", 0))
    age = max(snap.taken - (created_at(p) or snap.taken) for p in pods)
    new, old = _images(sets[-1]), _images(sets[-2])
    change = f" (its image {', '.join(new)} replaced {', '.join(old)})" if new != old and new and old else ""
    return Finding(
        "rollout-regression",
        name,
        f"revision {revision_of(sets[-1])}{change} has {available}/{want} pods available after {age:.0f}s; "
        f"revision {revision_of(sets[-2])} ran before it",
        UNDO,
        precedence=0,
    )


def _program(replicaset: dict[str, Any]) -> list[tuple[str, Any, Any]]:
    """What a revision runs: each container's image, command and arguments."""
    containers = (((replicaset.get("spec") or {}).get("template") or {}).get("spec") or {}).get("containers") or []
    return [(str(c.get("image")), c.get("command"), c.get("args")) for c in containers]


def _erring_change(snap: Snapshot, name: str) -> Finding | None:
    """The deployment's last change replaced what it runs, and its new pods, Ready, log errors since."""
    sets, pods = _newest_pods(snap, name)
    if len(sets) < 2 or not pods or _program(sets[-1]) == _program(sets[-2]):
        return None
    for pod in pods:
        line = error_since_ready(snap, pod, diagnosis_config().error_patterns)
        if line is None:
            continue
        new, old = _images(sets[-1]), _images(sets[-2])
        change = f"its image {', '.join(new)} replaced {', '.join(old)}" if new != old else "its program changed"
        return Finding(
            "erring-change",
            name,
            f"revision {revision_of(sets[-1])} ({change}) logs errors since it rolled out: pod {name_of(pod)}: {line}",
            UNDO,
            precedence=0,
        )
    return None


def _pod_findings(
    snap: Snapshot, deployment: str, pod: dict[str, Any], limits: dict[str, float], since: float
) -> list[Finding]:
    name = name_of(pod)
    born = created_at(pod) or snap.taken
    if snap.taken - born < limits["startup_grace_seconds"]:
        return []
    found: list[str] = []
    changed = ready_changed_at(pod)
    if not is_ready(pod) and changed is not None and snap.taken - changed >= limits["not_ready_seconds"]:
        found.append(f"not Ready for {snap.taken - changed:.0f}s")
    failures = _pod_probe_failures(snap, pod, limits, since)
    if failures >= limits["probe_failures"]:
        found.append(f"{failures} failed probes in the last {limits['probe_window_seconds']:.0f}s")
    samples = snap.recent_pod_samples(pod, limits["cpu_window_seconds"])
    cpu_limit = cpu_limit_millicores(pod)
    cpu_at = limits["cpu_fraction"] * cpu_limit if cpu_limit else limits["cpu_no_limit_millicores"]
    cpu = [float(s["cpuMillicores"]) for s in samples]
    if len(cpu) >= limits["cpu_min_samples"] and statistics.median(cpu) >= cpu_at:  # a dip or two does not hide it
        found.append(f"CPU at {float(samples[-1]['cpuMillicores']):.0f}m of a {cpu_limit or 'no'}m limit")
    memory_limit = memory_limit_bytes(pod)
    if samples and memory_limit and float(samples[-1]["memoryBytes"]) >= limits["memory_fraction"] * memory_limit:
        found.append(f"memory at {float(samples[-1]['memoryBytes']) / memory_limit:.0%} of its limit")
    if "OOMKilled" in last_termination_reasons(pod):
        found.append("its container was OOMKilled")
    if not found:
        return []
    # the pod answers its probes, only to say it is not ready: what it depends on is failing
    messages = [(str(e.get("message", "")), e) for e in snap.pod_events(pod, ("Unhealthy",), 60)]
    recent = [m for m, e in messages if snap.taken - (parse_time(e.get("lastTimestamp")) or 0) <= 10]
    answers_not_ready = any("statuscode" in m for m, _ in messages) and not any("deadline" in m for m in recent)
    only_readiness = answers_not_ready and all(f.startswith(("not Ready", f"{failures} failed probes")) for f in found)
    evidence = f"pod {name}: " + "; ".join(found)
    return [Finding(SICK_POD, deployment, evidence, DELETE_POD, pod=name, precedence=1, readiness_only=only_readiness)]


def _pod_probe_failures(snap: Snapshot, pod: dict[str, Any], limits: dict[str, float], since: float) -> int:
    """A pod's failed probes within the probe window, past its startup grace and still failing since
    ``since`` (the incident)."""
    born = created_at(pod) or snap.taken
    return sum(
        int(e.get("count", 1))
        for e in snap.pod_events(pod, ("Unhealthy",), limits["probe_window_seconds"])
        if (_first_seen(e) or 0) - born >= limits["startup_grace_seconds"]
        and (parse_time(e.get("lastTimestamp")) or 0.0) >= since
    )


def _first_seen(event: dict[str, Any]) -> float | None:
    return parse_time(event.get("firstTimestamp") or event.get("lastTimestamp"))


def _service_findings(snap: Snapshot, limits: dict[str, float], since: float, already: set[str]) -> list[Finding]:
    """Callers failing to reach a service, or a service slow on its own, from samples newer than ``since``."""
    window = limits["service_window_seconds"]
    failed: dict[str, dict[str, int]] = {}  # caller -> callee -> failed calls
    for service in snap.service_samples:
        for sample in snap.recent_service_samples(service, window, since):
            for callee, outcomes in (sample.get("upstreamErrors") or {}).items():
                calls = failed.setdefault(service, {})
                calls[callee] = calls.get(callee, 0) + sum(int(n) for n in outcomes.values())
    findings: list[Finding] = []
    blamed = set(already)
    # a service failing its calls to several others that fail no call of their own: its own network fails
    for caller, callees in sorted(failed.items()):
        deployment = snap.deployment_for_service(caller)
        total = sum(callees.values())
        if len(callees) < 2 or total < limits["upstream_errors"] or any(c in failed for c in callees):
            continue
        if deployment is not None and deployment not in blamed:
            blamed.add(deployment)
            evidence = f"{caller} fails its calls to {', '.join(sorted(callees))} ({total} calls)"
            findings.append(_replace(snap, deployment, evidence))
        del failed[caller]  # what its callees seem to suffer is explained
    failed_calls: dict[str, int] = {}
    for callees in failed.values():
        for callee, count in callees.items():
            failed_calls[callee] = failed_calls.get(callee, 0) + count
    failing = {callee for callee, count in failed_calls.items() if count >= limits["upstream_errors"]}
    for callee in sorted(failing):
        deployment = snap.deployment_for_service(callee)
        if deployment is None or deployment in blamed:
            continue
        # a callee that itself fails to reach something is a victim, not the cause
        if any(other != callee and _calls(snap, callee, other, window, since) for other in failing):
            continue
        evidence = f"callers failed {failed_calls[callee]} calls to {callee}"
        store = _slow_store(snap, callee, limits)
        culprit = snap.deployment_for_service(store[0]) if store is not None else None
        if store is not None and culprit is not None:
            # the callee is slow because it waits on its database or cache: that is the sick one
            evidence += f", which waits on {store[0]} ({_timing(store[1])})"
            deployment = culprit
        if deployment in blamed:
            continue
        blamed.add(deployment)
        findings.append(_replace(snap, deployment, evidence))
    slow: dict[str, float] = {}
    for service in sorted(snap.service_samples):
        samples = [s for s in snap.recent_service_samples(service, window, since) if s.get("p95Ms") is not None]
        if len(samples) < 2 or any(_calls(snap, service, c, window, since) for c in failing):
            continue
        p95 = sorted(float(s["p95Ms"]) for s in samples)[len(samples) // 2]
        if p95 >= limits["slow_p95_ms"]:
            slow[service] = p95
    for service, p95 in slow.items():
        waited = _waits_on(snap, service, limits, since)
        if waited is not None:
            # it waits on another service (the slow calls followed down) or on its database or cache
            name, edge = waited
            culprit = snap.deployment_for_service(name)
            if culprit is not None and culprit not in blamed:
                blamed.add(culprit)
                evidence = f"{service} is slow (p95 {p95:.0f} ms) waiting on {name} ({_timing(edge)})"
                findings.append(_replace(snap, culprit, evidence))
            continue
        if _probes_undecided(snap, service, limits, since):
            continue  # its own network or its callee's: the probes tell which within seconds
        deployment = snap.deployment_for_service(service)
        if deployment is None or deployment in blamed:
            continue
        blamed.add(deployment)
        findings.append(_replace(snap, deployment, f"{service} answers slowly (p95 {p95:.0f} ms) on its own"))
    return findings


def _waits_on(snap: Snapshot, service: str, limits: dict[str, float], since: float) -> tuple[str, Call] | None:
    """What a slow service waits on, with the call edge that leads there: the service its slow calls lead
    down to, else a sick database or cache, else the one service it calls if that one's network is the
    sick one; None when it is slow on its own."""
    below = _slowest_below(snap, service, limits)
    if below is not None:
        return below
    return _slow_store(snap, service, limits) or _sole_callee_failing_probes(snap, service, limits, since)


def _sole_callee_failing_probes(
    snap: Snapshot, service: str, limits: dict[str, float], since: float
) -> tuple[str, Call] | None:
    """A service whose one callee answers it slowly suffers its own network or that callee's: the same
    traces either way. The kubelet's probes reach each pod by itself, so they tell which: the callee's
    pods failing probes since the incident while the service's own fail none make the callee the one."""
    sides = _sole_callee_probes(snap, service, limits, since)
    if sides is None:
        return None
    edge, callee_failing, own_failing = sides
    return (edge.callee, edge) if callee_failing and not own_failing else None


def _probes_undecided(snap: Snapshot, service: str, limits: dict[str, float], since: float) -> bool:
    """Whether the probes have not told yet whose network slows a service with one slow callee: neither
    side's pods failed a probe since ``since``, and it is less than ``probe_verdict_seconds`` since then
    (MicroRemed's delay and loss fail the probes of the pod they act on within seconds)."""
    if snap.taken - since >= limits["probe_verdict_seconds"]:
        return False
    sides = _sole_callee_probes(snap, service, limits, since)
    return sides is not None and not sides[1] and not sides[2]


def _sole_callee_probes(
    snap: Snapshot, service: str, limits: dict[str, float], since: float
) -> tuple[Call, bool, bool] | None:
    """For a service whose calls to the one service it calls are slow: that call edge, and whether the
    callee's pods and the service's own failed probes since ``since``; None for any other service."""
    edges = _http_calls_from(snap, service)
    if len(edges) != 1 or edges[0].mean_ms < _slow_call_ms(limits):
        return None
    callee = edges[0].callee
    return edges[0], _probe_failures(snap, callee, limits, since) > 0, _probe_failures(snap, service, limits, since) > 0


def _probe_failures(snap: Snapshot, service: str, limits: dict[str, float], since: float) -> int:
    """Failed probes of the pods behind a service since ``since``, within the probe window."""
    deployment = snap.deployment_for_service(service)
    pods = snap.pods_of(deployment) if deployment is not None else []
    return sum(_pod_probe_failures(snap, pod, limits, since) for pod in pods)


def _blame_store_behind(snap: Snapshot, finding: Finding, limits: dict[str, float]) -> Finding:
    """A pod that answers its probes "not ready" (it is up, but what it needs is not) while its service
    waits on a sick database or cache is not the sick one: replacing it would not help."""
    if not finding.readiness_only:
        return finding
    for service in snap.services_of(finding.deployment):
        store = _slow_store(snap, service, limits)
        culprit = snap.deployment_for_service(store[0]) if store is not None else None
        if store is not None and culprit is not None and culprit != finding.deployment:
            evidence = f"{finding.evidence}, and {service} waits on {store[0]} ({_timing(store[1])})"
            return _replace(snap, culprit, evidence)
    return finding


def _slow_store(snap: Snapshot, service: str, limits: dict[str, float]) -> tuple[str, Call] | None:
    """The database or cache a service waits on or fails at, from the traces' call edges: calls slow on
    average, or one in twenty as slow as a slow service (a disk that stalls writes leaves the reads
    fast), or a tenth of them failing."""

    def sick(edge: Call) -> bool:
        slow = edge.mean_ms >= _slow_call_ms(limits) or edge.p95_ms >= limits["slow_p95_ms"]
        return slow or (edge.errors >= 2 and edge.errors >= 0.1 * edge.calls)

    edges = [c for c in snap.calls if c.caller == service and c.protocol != "http" and sick(c)]
    if not edges:
        return None
    slowest = max(edges, key=lambda c: (c.mean_ms, c.p95_ms))
    return slowest.callee, slowest


def _slowest_below(snap: Snapshot, service: str, limits: dict[str, float]) -> tuple[str, Call] | None:
    """Where a slow service's time goes, from the traces' call edges between services: down the slowest
    call while some of a service's calls are slow and others are not, to the service found and the edge
    into it. A service whose calls are all slow is the one (its own network delays every answer it
    gets); so is one that calls nothing slow: None when that is ``service`` itself."""
    into: Call | None = None
    seen = {service}
    while True:
        edges = _http_calls_from(snap, into.callee if into else service)
        slow = [c for c in edges if c.mean_ms >= _slow_call_ms(limits)]
        if not slow or len(slow) == len(edges):
            break
        slowest = max(slow, key=lambda c: c.mean_ms)
        if slowest.callee in seen:
            break
        seen.add(slowest.callee)
        into = slowest
    return None if into is None else (into.callee, into)


def _slow_call_ms(limits: dict[str, float]) -> float:
    """A call edge whose mean is this long is slow: a share (``slow_store_fraction``) of a slow service's p95."""
    return limits["slow_store_fraction"] * limits["slow_p95_ms"]


def _timing(edge: Call) -> str:
    """How long the calls of an edge take, for evidence: their mean, and their p95 when it stands out."""
    tail = f", p95 {edge.p95_ms:.0f} ms" if edge.p95_ms >= 2 * edge.mean_ms and edge.p95_ms >= 1 else ""
    return f"{edge.mean_ms:.0f} ms per call{tail}"


def _http_calls_from(snap: Snapshot, service: str) -> list[Call]:
    """The traces' call edges from a service to other services (its stores left out)."""
    return [c for c in snap.calls if c.caller == service and c.protocol == "http" and c.callee != service]


def _calls(snap: Snapshot, caller: str, callee: str, window: float, since: float) -> bool:
    """Did ``caller`` see failed calls to ``callee`` recently?"""
    return any(callee in (s.get("upstreamErrors") or {}) for s in snap.recent_service_samples(caller, window, since))


def _replace(snap: Snapshot, deployment: str, evidence: str) -> Finding:
    pods = snap.pods_of(deployment)
    if len(pods) == 1:
        return Finding(SICK_SERVICE, deployment, evidence, DELETE_POD, pod=name_of(pods[0]), precedence=2)
    return Finding(SICK_SERVICE, deployment, evidence, RESTART, precedence=2)
