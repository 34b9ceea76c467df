"""The baseline's answers to AIOpsLab's questions, from the same diagnosis its runbook acts on
(``agents/diagnosis.py``) and with no ground truth: it looks at the namespace until a finding holds
(at once for what a pod or an object shows by itself, on every look for ``confirm_seconds`` for
evidence from other services, as the runbook), or until ``observe_seconds`` pass with nothing wrong.
Then it submits in AIOpsLab's formats:

- detection: ``"Yes"`` when something held, else ``"No"``;
- localization: the components of the strongest findings (a list; the first is the most likely).
  A service whose database refuses it (the database's log, or the service's, says so) points at
  that database;
- analysis: ``{"system_level", "fault_type"}`` read off the strongest finding: a Service's port,
  replicas or nodeSelector (Virtualization: Misconfiguration, Operation Error, Dependency Problem);
  a rollout that broke the deployment (Application: Misconfiguration when its image or command
  changed, else Virtualization: Misconfiguration); authentication errors in the log (Application:
  Authentication Issue); a pod at its CPU or memory limit (Virtualization: Resource Exhaustion); a
  slow or unreachable service (Virtualization: Network/Storage Issue); a pod that is down
  (Virtualization: Operation Error). With nothing found it submits no analysis.
"""

from __future__ import annotations

import re
import time
from typing import Any

from remedlab.agents.confirmation import Confirmation
from remedlab.agents.diagnosis import diagnose
from remedlab.agents.episode import NO_ACTION, SUBMITTED, AgentContext, AgentResult
from remedlab.agents.findings import DROP_NODE_SELECTOR, PATCH_TARGET_PORT, SCALE_UP, SICK_SERVICE, UNDO, Finding
from remedlab.agents.server_api import AgentApiError
from remedlab.agents.signals import Snapshot, name_of, observe

AUTH_ERRORS = re.compile(
    r"permission denied|authentication failed|not authori[sz]ed|unauthori[sz]ed|access denied"
    r"|(role|user) \S+ does not exist",
    re.IGNORECASE,
)
"""What a service's log says when its database refuses it (no rights, no such user)."""
RESOURCE_SIGNS = ("CPU at", "memory at", "OOMKilled")
SLOW_SIGNS = ("answers slowly", "is slow", "waits on", "waits longest")
LOG_LINES = 300  # a service under load logs a line per request: the refusal must not scroll away

VIRTUALIZATION, APPLICATION = "Virtualization", "Application"


def answer_question(ctx: AgentContext, name: str, limits: dict[str, float]) -> AgentResult:
    """Look until a finding holds or time is up, then submit the task's answer."""
    task = ctx.incident.task
    namespace = ctx.incident.namespace
    started = time.time()
    deadline = started + limits["observe_seconds"]
    confirmation = Confirmation(limits["confirm_seconds"])
    while True:
        ctx.steps += 1
        snap = observe(ctx.api, namespace, seconds=int(max(limits["service_window_seconds"], 20)))
        findings = diagnose(snap, limits, {}, since=started)
        ctx.log.add("observation", step=ctx.steps, findings=[f.__dict__ for f in findings])
        held = confirmation.actionable(findings, snap.taken)
        if held:
            return _submit(ctx, name, task, snap, held)
        if time.time() >= deadline:
            return _nothing_found(ctx, name, task, limits["observe_seconds"])
        time.sleep(limits["interval_seconds"])


def _submit(ctx: AgentContext, name: str, task: str, snap: Snapshot, held: list[Finding]) -> AgentResult:
    top = held[0]
    evidence = f"{top.rule} on {top.deployment}: {top.evidence}"
    value: Any
    if task == "detection":
        value = "Yes"
    elif task == "localization":
        strongest = [f for f in held if f.precedence == top.precedence]
        value = _unique([_component(ctx, snap, f) for f in strongest])
    else:
        value = analyse(snap, top, refused=refusing_store(ctx, snap, top) is not None)
    ctx.log.add("submit", answer=value, evidence=evidence)
    return ctx.finish(name, SUBMITTED, f"submitted after {ctx.steps} looks: {evidence}", answer=value)


def _nothing_found(ctx: AgentContext, name: str, task: str, seconds: float) -> AgentResult:
    reason = f"nothing looked wrong for {seconds:.0f}s"
    if task == "detection":
        ctx.log.add("submit", answer="No", evidence=reason)
        return ctx.finish(name, SUBMITTED, reason, answer="No")
    if task == "localization":
        ctx.log.add("submit", answer=[], evidence=reason)
        return ctx.finish(name, SUBMITTED, reason, answer=[])
    return ctx.finish(name, NO_ACTION, f"{reason}: no analysis to submit")


def _unique(names: list[str]) -> list[str]:
    return list(dict.fromkeys(names))


def _component(ctx: AgentContext, snap: Snapshot, finding: Finding) -> str:
    """The component a finding points at: the Service of a port finding, the database that refuses
    the sick service, else the deployment."""
    if finding.action == PATCH_TARGET_PORT and finding.service:
        return finding.service
    return refusing_store(ctx, snap, finding) or finding.deployment


def refusing_store(ctx: AgentContext, snap: Snapshot, finding: Finding) -> str | None:
    """The database that refuses the finding's service (no rights, no such user): one of the stores
    its configuration names whose log says so, or its only store when the service's own log says
    so; the finding's deployment itself when it is such a database."""
    stores = stores_of(snap, finding.deployment)
    for store in stores:
        if _auth_errors(_logs(ctx, snap, store)):
            return store
    if _auth_errors(_logs(ctx, snap, finding.deployment, finding.pod)):
        return stores[0] if len(stores) == 1 else finding.deployment if not stores else None
    return None


def analyse(snap: Snapshot, finding: Finding, refused: bool = False) -> dict[str, str]:
    """System level and fault type, as an SRE would name them from the strongest finding; ``refused``:
    a database refuses the service."""
    if finding.action == PATCH_TARGET_PORT:
        return _analysis(VIRTUALIZATION, "Misconfiguration")
    if finding.action == SCALE_UP:
        return _analysis(VIRTUALIZATION, "Operation Error")
    if finding.action == DROP_NODE_SELECTOR:
        return _analysis(VIRTUALIZATION, "Dependency Problem")
    if finding.action == UNDO:
        changed = template_changes(snap, finding.deployment)
        level = APPLICATION if changed & {"image", "command", "args"} else VIRTUALIZATION
        return _analysis(level, "Misconfiguration")
    if refused:
        return _analysis(APPLICATION, "Authentication Issue")
    if any(sign in finding.evidence for sign in RESOURCE_SIGNS):
        return _analysis(VIRTUALIZATION, "Resource Exhaustion")
    if finding.rule == SICK_SERVICE:
        return _analysis(VIRTUALIZATION, "Network/Storage Issue")
    if any(sign in finding.evidence for sign in SLOW_SIGNS):
        return _analysis(VIRTUALIZATION, "Network/Storage Issue")
    return _analysis(VIRTUALIZATION, "Operation Error")


def _analysis(level: str, fault_type: str) -> dict[str, str]:
    return {"system_level": level, "fault_type": fault_type}


def _auth_errors(logs: str) -> bool:
    return AUTH_ERRORS.search(logs) is not None


def _logs(ctx: AgentContext, snap: Snapshot, deployment: str, pod: str | None = None) -> str:
    """The recent log of ``pod`` (else of the deployment's pods), the previous container's too."""
    pods = [pod] if pod else [name_of(p) for p in snap.pods_of(deployment)]
    parts = []
    for pod in pods[:2]:
        for previous in (False, True):
            try:
                parts.append(ctx.api.pod_log(snap.namespace, pod, tail=LOG_LINES, previous=previous))
            except AgentApiError:
                continue
    return "\n".join(parts)


def template_changes(snap: Snapshot, deployment: str) -> set[str]:
    """What differs between the pod templates of the deployment's last two revisions: ``image``,
    ``command``, ``args``, ``resources``, ``env`` or ``other``."""
    sets = snap.replicasets_of(deployment)
    if len(sets) < 2:
        return set()
    new, old = (_containers(rs) for rs in (sets[-1], sets[-2]))
    changed = set()
    for name, container in new.items():
        before = old.get(name, {})
        for key in ("image", "command", "args", "resources", "env"):
            if container.get(key) != before.get(key):
                changed.add(key)
    return changed or {"other"}


def _containers(replicaset: dict[str, Any]) -> dict[str, dict[str, Any]]:
    spec = ((replicaset.get("spec") or {}).get("template") or {}).get("spec") or {}
    return {str(c.get("name")): c for c in spec.get("containers") or []}


def stores_of(snap: Snapshot, deployment: str) -> list[str]:
    """The deployments behind the Services a deployment's containers address in their environment (its
    databases and caches, as its configuration says: ``db:5432``, ``redis://cache``, or a ``*_HOST``,
    ``*_ADDR`` or ``*_URL`` variable naming one), other than itself."""
    found: list[str] = []
    for obj in snap.deployments:
        if name_of(obj) != deployment:
            continue
        template = (obj["spec"].get("template") or {}).get("spec") or {}
        env = [e for c in template.get("containers") or [] for e in c.get("env") or []]
        for service in snap.services:
            named = name_of(service)
            if any(_addresses(str(e.get("name") or ""), str(e.get("value") or ""), named) for e in env):
                behind = snap.deployment_for_service(named)
                if behind is not None and behind != deployment and behind not in found:
                    found.append(behind)
    return found


def _addresses(variable: str, value: str, service: str) -> bool:
    """Does an environment variable give the address of ``service``?"""
    host = value.split("://", 1)[-1]
    if host.startswith((f"{service}:", f"{service}.", f"{service}/")):
        return True
    return host == service and variable.upper().endswith(("HOST", "ADDR", "ADDRESS", "URL", "ENDPOINT"))
