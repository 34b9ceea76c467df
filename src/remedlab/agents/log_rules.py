"""Database faults read off pods' logs, and the repair scripts their databases' pods carry.

As AIOpsLab ships its mitigation scripts, an app's databases may carry their repairs in their pods, at
``/scripts`` (a ConfigMap). The rules (``database_log_rules`` in diagnosis.yaml) pair a log pattern
with such a script: a recent line of a service's log matching it blames the database the service's
environment names (``DATABASE_ADDR=postgres-geo:5432``), a line of a database's own log that database;
the finding asks for the script to be run in that database's pod, when the pod has it.

What a log says is history unless it is current: a service's line counts when it came after the pod
became Ready (its requests fail) and at most ``log_recent_seconds`` before the agent took the incident
(a pod Ready all along still holds the lines of an earlier incident), or, while the pod is not Ready,
when it came after the pod turned so (less the failed probes that turned it: a line that says why
comes with the first); a database's own line counts when it is recent (``log_recent_seconds``): such
errors repeat as long as clients try. A pod that was Ready before and is not now (a busy CPU fails
its probes) is therefore not blamed on what it said while it started, nor is a service on what it
said before it logged that it is well again (``recovered_log_patterns``: "ready again").
"""

from __future__ import annotations

import json
import re
from typing import Any

from remedlab.agents.diagnosis_config import DiagnosisConfig, LogRule
from remedlab.agents.findings import RUN_SCRIPT, Finding
from remedlab.agents.signals import Snapshot, is_ready, is_terminating, log_line_time, name_of, ready_changed_at
from remedlab.api.probe_timing import ProbeTiming

Obj = dict[str, Any]
SCRIPTS_PATH = "/scripts"
EVIDENCE_CHARS = 160


def error_since_ready(snap: Snapshot, pod: Obj, patterns: tuple[re.Pattern[str], ...]) -> str | None:
    """The pod's last log line matching one of ``patterns`` written since it became Ready, if any."""
    text = snap.logs.get(name_of(pod))
    if not text or not is_ready(pod):
        return None
    since = ready_changed_at(pod) or 0.0
    for pattern in patterns:
        line = _matching(text, pattern, since)
        if line is not None:
            return line[:EVIDENCE_CHARS]
    return None


def scripts_of(snap: Snapshot, deployment: str) -> set[str]:
    """The scripts the deployment's pods find at /scripts: the keys of the ConfigMap mounted there."""
    found = next((d for d in snap.deployments if name_of(d) == deployment), None)
    if found is None:
        return set()
    spec = found["spec"]["template"].get("spec") or {}
    volumes = {v.get("name"): v for v in spec.get("volumes") or []}
    names: set[str] = set()
    for container in spec.get("containers") or []:
        for mount in container.get("volumeMounts") or []:
            if mount.get("mountPath") != SCRIPTS_PATH:
                continue
            config_map = (volumes.get(mount.get("name")) or {}).get("configMap") or {}
            for obj in snap.configmaps:
                if name_of(obj) == config_map.get("name"):
                    names |= set(obj.get("data") or {})
    return names


def _host(value: str) -> str:
    """The host an address-like value names (``postgres-geo:5432``, ``postgresql://u@h:5432/db``)."""
    value = re.sub(r"^[a-z][a-z0-9+.-]*://", "", value.strip()).rsplit("@", 1)[-1]
    return re.split(r"[:/?]", value, maxsplit=1)[0].split(".", 1)[0]


def stores_named(snap: Snapshot, deployment: str) -> list[str]:
    """The deployments behind the Services the deployment's containers' environment names."""
    found = next((d for d in snap.deployments if name_of(d) == deployment), None)
    if found is None:
        return []
    containers = (found["spec"]["template"].get("spec") or {}).get("containers") or []
    hosts = [_host(str(e["value"])) for c in containers for e in c.get("env") or [] if "value" in e]
    stores = [snap.deployment_for_service(h) for h in dict.fromkeys(hosts) if h]
    return [s for s in dict.fromkeys(stores) if s is not None and s != deployment]


def _readable(line: str) -> str:
    """A log line as a person reads it: a JSON line's message."""
    try:
        parsed = json.loads(line)
    except ValueError:
        return line.strip()
    return str(parsed.get("msg", line)).strip() if isinstance(parsed, dict) else line.strip()


def _matching(
    text: str, pattern: re.Pattern[str], since: float, recovered: tuple[re.Pattern[str], ...] = ()
) -> str | None:
    """The last line matching ``pattern`` written at ``since`` or later (an undated line counts), and
    after the last line matching one of ``recovered`` (the program says it is well again)."""
    for raw in reversed(text.splitlines()):
        when, line = log_line_time(raw)
        if when is not None and when < since:
            return None
        if pattern.search(line):
            return _readable(line)
        if any(r.search(_readable(line)) for r in recovered):
            return None
    return None


def _current_since(pod: Obj, incident_since: float) -> float:
    """Since when a service pod's lines tell its current state: when it became Ready (not before
    ``incident_since``), or when it turned not Ready less the time its readiness probe takes to turn it
    (failureThreshold failed periods)."""
    changed = ready_changed_at(pod) or 0.0
    if is_ready(pod):
        return max(changed, incident_since)
    probes = [c["readinessProbe"] for c in pod["spec"].get("containers") or [] if c.get("readinessProbe")]
    turning = max((ProbeTiming.of(p).seconds_to_fail for p in probes), default=0.0)
    return changed - turning


def _repair_took(
    snap: Snapshot,
    text: str,
    rule: LogRule,
    current_since: float,
    repaired: float,
    limits: dict[str, float],
    config: DiagnosisConfig,
) -> bool:
    """The database was repaired, calls in flight have ended since, and the service says so no more."""
    settled = repaired + limits["settle_seconds"]
    return (
        snap.taken >= settled
        and _matching(text, rule.pattern, max(current_since, settled), config.recovered_patterns) is None
    )


def database_findings(
    snap: Snapshot,
    config: DiagnosisConfig,
    limits: dict[str, float],
    since: float = 0.0,
    acted: dict[str, float] | None = None,
) -> tuple[list[Finding], set[str]]:
    """The databases to repair with one of their scripts, and the services whose trouble follows from it;
    ``since``: when the agent took the incident; ``acted``: when it last acted on a deployment. A service
    stays a database's victim for ``settle_seconds`` after the database's repair, then only while it
    still says so."""
    acted = acted or {}
    recent_seconds = limits["log_recent_seconds"]
    findings: dict[tuple[str, str], Finding] = {}
    victims: set[str] = set()
    for pod in snap.pods:
        owner = snap.deployment_of(pod)
        text = snap.logs.get(name_of(pod))
        if owner is None or not text or is_terminating(pod):
            continue
        # a service's lines count since its readiness last changed; a database's when recent
        current_since = _current_since(pod, since - recent_seconds)
        for rule in config.log_rules:
            own = rule.script in scripts_of(snap, owner)
            if own:
                line = _matching(text, rule.pattern, snap.taken - recent_seconds)
            else:
                line = _matching(text, rule.pattern, current_since, config.recovered_patterns)
            if line is None:
                continue
            store = owner
            if not own:
                stores = [s for s in stores_named(snap, owner) if rule.script in scripts_of(snap, s)]
                if not stores:
                    continue
                # the database the line names, else the first the service's settings name
                named = [s for s in stores if any(svc in line for svc in snap.services_of(s))]
                store = (named or stores)[0]
                if store in acted and _repair_took(snap, text, rule, current_since, acted[store], limits, config):
                    continue
                victims.add(owner)
            key = (rule.rule, store)
            if key not in findings:
                evidence = f"pod {name_of(pod)} logs: {line[:EVIDENCE_CHARS]}"
                findings[key] = Finding(rule.rule, store, evidence, RUN_SCRIPT, precedence=0, script=rule.script)
    return list(findings.values()), victims
