"""The system prompt MicroRemed's methods share (role, task, runtime, inventory, namespace,
root-cause service, fault category), filled in for one incident."""

from __future__ import annotations

from remedlab.agents.episode import Incident
from remedlab.agents.methods import prompts


def incident_values(incident: Incident) -> dict[str, str]:
    return {
        "namespace": incident.namespace,
        "service": incident.service or "(unknown: find it)",
        "fault_category": incident.fault_category or "(unknown: find it)",
    }


def system_prompt(incident: Incident) -> str:
    return prompts.render(
        "remediation_system.md", inventory=prompts.read("inventory.ini").strip(), **incident_values(incident)
    )
