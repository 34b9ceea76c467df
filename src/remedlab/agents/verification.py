"""An agent's own check that its fix worked, from agent-visible signals only (never the benchmark's
oracle): after the calls in flight have ended, the namespace is looked at a few times, and the fix
holds when the diagnosis finds nothing wrong with the service (or anywhere, when no service is
named) and all its pods are Ready."""

from __future__ import annotations

import time

from remedlab.agents.diagnosis import diagnose
from remedlab.agents.diagnosis_config import load_thresholds
from remedlab.agents.server_api import AgentApi
from remedlab.agents.signals import is_ready, name_of, observe


def check_fixed(api: AgentApi, namespace: str, service: str | None, acted_at: float) -> tuple[bool, str]:
    limits = load_thresholds()
    wait = acted_at + limits["settle_seconds"] - time.time()
    if wait > 0:
        time.sleep(wait)
    problems: list[str] = []
    for look in range(int(limits["settle_checks"])):
        if look:
            time.sleep(limits["interval_seconds"])
        snap = observe(api, namespace, seconds=int(limits["service_window_seconds"]) + 2)
        target = snap.deployment_for_service(service) if service else None
        findings = [
            f for f in diagnose(snap, limits, {target or "*": acted_at}) if target is None or f.deployment == target
        ]
        problems = [f"{f.deployment}: {f.evidence}" for f in findings]
        if target is not None:
            problems += [f"pod {name_of(p)} is not Ready" for p in snap.pods_of(target) if not is_ready(p)]
            if not snap.pods_of(target):
                problems.append(f"{target} has no pods")
        if problems:
            return False, "; ".join(problems)
    return True, "no problem seen: " + (f"{service}'s pods are Ready and healthy" if service else "namespace clean")
