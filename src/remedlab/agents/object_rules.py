"""Faults an SRE reads off the objects themselves, before any metric: a Service that targets a port
its pods do not declare, a deployment scaled to 0 that a Service still selects, and pods that cannot
be scheduled because of their nodeSelector. Each names the change that repairs it."""

from __future__ import annotations

from typing import Any

from remedlab.agents.findings import DROP_NODE_SELECTOR, PATCH_TARGET_PORT, SCALE_UP, Finding
from remedlab.agents.signals import Snapshot, created_at, name_of, parse_time

Obj = dict[str, Any]


def object_findings(snap: Snapshot, limits: dict[str, float]) -> list[Finding]:
    return [*_target_ports(snap), *_scaled_to_zero(snap), *_unschedulable(snap, limits)]


def _declared_ports(pods: list[Obj]) -> list[Obj]:
    return [p for pod in pods for c in pod["spec"].get("containers") or [] for p in c.get("ports") or []]


def _container_port_for(service_port: Obj, declared: list[Obj]) -> int | None:
    """The container port a Service port should target: the one of its name, or of its number, or the only one."""
    for port in declared:
        if service_port.get("name") and port.get("name") == service_port["name"]:
            return int(port["containerPort"])
    for port in declared:
        if int(port["containerPort"]) == int(service_port.get("port", 0)):
            return int(port["containerPort"])
    numbers = {int(p["containerPort"]) for p in declared}
    return numbers.pop() if len(numbers) == 1 else None


def _target_ports(snap: Snapshot) -> list[Finding]:
    findings = []
    for service in snap.services:
        for deployment in snap.deployments_behind(service):
            declared = _declared_ports(snap.pods_of(deployment))
            if not declared:
                continue
            numbers = {int(p["containerPort"]) for p in declared}
            names = {str(p["name"]) for p in declared if p.get("name")}
            for index, port in enumerate(service["spec"].get("ports") or []):
                target = port.get("targetPort", port.get("port"))
                if str(target) in names or (str(target).isdigit() and int(target) in numbers):
                    continue
                wanted = _container_port_for(port, declared)
                if wanted is None:
                    continue
                evidence = (
                    f"service {name_of(service)} sends port {port.get('port')} to targetPort {target}, but the pods "
                    f"of {deployment} listen on {', '.join(str(n) for n in sorted(numbers))}"
                )
                findings.append(
                    Finding(
                        "service-target-port",
                        deployment,
                        evidence,
                        PATCH_TARGET_PORT,
                        precedence=0,
                        service=name_of(service),
                        port_index=index,
                        port=wanted,
                    )
                )
    return findings


def _scaled_to_zero(snap: Snapshot) -> list[Finding]:
    findings = []
    for deployment in snap.deployments:
        name = name_of(deployment)
        services = snap.services_of(name)
        if int(deployment["spec"].get("replicas", 1)) != 0 or not services:
            continue
        evidence = f"{name} is scaled to 0 replicas, so service {', '.join(services)} has no endpoints"
        findings.append(Finding("scaled-to-zero", name, evidence, SCALE_UP, precedence=0))
    return findings


def _unschedulable(snap: Snapshot, limits: dict[str, float]) -> list[Finding]:
    findings = []
    for deployment in snap.deployments:
        name = name_of(deployment)
        selector = ((deployment["spec"].get("template") or {}).get("spec") or {}).get("nodeSelector") or {}
        if not selector:
            continue
        for pod in snap.pods_of(name):
            if pod["spec"].get("nodeName"):
                continue
            events = snap.pod_events(pod, ("FailedScheduling",), limits["probe_window_seconds"] * 3)
            pending_for = snap.taken - (created_at(pod) or snap.taken)
            if not events or pending_for < limits["unschedulable_seconds"]:
                continue
            last = max(events, key=lambda e: parse_time(e.get("lastTimestamp")) or 0.0)
            wanted = ", ".join(f"{k}={v}" for k, v in selector.items())
            evidence = (
                f"pod {name_of(pod)} is Pending for {pending_for:.0f}s: {last.get('message', 'FailedScheduling')} "
                f"(its nodeSelector wants {wanted})"
            )
            findings.append(Finding("unschedulable", name, evidence, DROP_NODE_SELECTOR, precedence=0))
            break
    return findings
