"""What the agent-side diagnosis finds, and the actions a runbook takes on it."""

from __future__ import annotations

from dataclasses import dataclass

UNDO, DELETE_POD, RESTART = "undo", "delete-pod", "restart"
PATCH_TARGET_PORT, SCALE_UP, DROP_NODE_SELECTOR = "patch-target-port", "scale-up", "remove-node-selector"
RUN_SCRIPT = "run-script"
SICK_SERVICE = "sick-service"
SICK_POD = "sick-pod"


@dataclass(frozen=True)
class Finding:
    rule: str
    deployment: str
    evidence: str
    action: str
    pod: str | None = None
    precedence: int = 2
    readiness_only: bool = False  # the pod answers its probes "not ready" and shows nothing else wrong
    service: str | None = None  # PATCH_TARGET_PORT: the Service, its port's index, and the container port
    port_index: int = 0
    port: int | str | None = None
    script: str | None = None  # RUN_SCRIPT: the repair script of the deployment's pods, in /scripts
