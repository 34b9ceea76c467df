"""One look at a namespace through the agent's eyes: deployments and their revisions, pods, recent
events, ConfigMaps, pods' recent logs, pod resource samples and per-service request metrics, all
fetched from the server's API.

Helpers here answer the questions an SRE asks of such a snapshot (is this pod Ready, since when,
how close is it to its limits, which deployment owns it); they never use ground truth.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from remedlab.agents.server_api import AgentApi, AgentApiError
from remedlab.api.quantity import QuantityError, cpu_millicores, memory_bytes

Obj = dict[str, Any]
REVISION = "deployment.kubernetes.io/revision"


def parse_time(stamp: str | None) -> float | None:
    if not stamp:
        return None
    try:
        return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


_LOG_STAMP = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d) ")


def log_line_time(line: str) -> tuple[float | None, str]:
    """A timestamped log line's time (RFC 3339, to the nanosecond) and its text."""
    match = _LOG_STAMP.match(line)
    if match is None:
        return None, line
    fraction = (match.group(2) or "0")[:6].ljust(6, "0")
    when = parse_time(f"{match.group(1)}.{fraction}{match.group(3)}")
    return when, line[match.end() :]


def name_of(obj: Obj) -> str:
    return str(obj["metadata"]["name"])


def is_ready(pod: Obj) -> bool:
    return any(
        c.get("type") == "Ready" and c.get("status") == "True"
        for c in (pod.get("status") or {}).get("conditions") or []
    )


def ready_changed_at(pod: Obj) -> float | None:
    for condition in (pod.get("status") or {}).get("conditions") or []:
        if condition.get("type") == "Ready":
            return parse_time(condition.get("lastTransitionTime"))
    return None


def created_at(obj: Obj) -> float | None:
    return parse_time(obj["metadata"].get("creationTimestamp"))


def restarts(pod: Obj) -> int:
    return sum(int(c.get("restartCount", 0)) for c in (pod.get("status") or {}).get("containerStatuses") or [])


def last_termination_reasons(pod: Obj) -> list[str]:
    reasons = []
    for status in (pod.get("status") or {}).get("containerStatuses") or []:
        terminated = (status.get("lastState") or {}).get("terminated") or {}
        if terminated.get("reason"):
            reasons.append(str(terminated["reason"]))
    return reasons


def _limit(pod: Obj, resource: str) -> float | None:
    total = 0.0
    for container in pod["spec"].get("containers") or []:
        value = ((container.get("resources") or {}).get("limits") or {}).get(resource)
        if value is None:
            return None
        try:
            total += cpu_millicores(value) if resource == "cpu" else memory_bytes(value)
        except QuantityError:
            return None
    return total or None


def cpu_limit_millicores(pod: Obj) -> float | None:
    return _limit(pod, "cpu")


def memory_limit_bytes(pod: Obj) -> float | None:
    return _limit(pod, "memory")


def is_terminating(obj: Obj) -> bool:
    return bool(obj["metadata"].get("deletionTimestamp"))


@dataclass(frozen=True)
class Call:
    """A call edge of the traces' topology in the window: calls from one service to another (``protocol``
    http) or to a database or cache (its ``db.system``), how many failed, their mean and p95."""

    caller: str
    callee: str
    protocol: str
    calls: int = 0
    errors: int = 0
    mean_ms: float = 0.0
    p95_ms: float = 0.0

    @classmethod
    def from_json(cls, obj: Obj) -> Call:
        """An edge as ``/v1/topology`` answers it (``from``, ``to``, ``meanMs``, ...)."""
        return cls(
            str(obj.get("from") or ""),
            str(obj.get("to") or ""),
            str(obj.get("protocol") or ""),
            int(obj.get("calls") or 0),
            int(obj.get("errors") or 0),
            float(obj.get("meanMs") or 0.0),
            float(obj.get("p95Ms") or 0.0),
        )


@dataclass
class Snapshot:
    namespace: str
    taken: float
    deployments: list[Obj]
    replicasets: list[Obj]
    pods: list[Obj]
    services: list[Obj]
    events: list[Obj]
    pod_samples: dict[str, list[Obj]] = field(default_factory=dict)
    service_samples: dict[str, list[Obj]] = field(default_factory=dict)
    calls: list[Call] = field(default_factory=list)
    configmaps: list[Obj] = field(default_factory=list)
    logs: dict[str, str] = field(default_factory=dict)  # pod name -> its recent log, lines timestamped

    # ------------------------------------------------------------------ ownership

    def deployment_of(self, pod: Obj) -> str | None:
        owners = {o.get("uid") for o in pod["metadata"].get("ownerReferences") or [] if o.get("kind") == "ReplicaSet"}
        for rs in self.replicasets:
            if rs["metadata"]["uid"] in owners:
                for owner in rs["metadata"].get("ownerReferences") or []:
                    if owner.get("kind") == "Deployment":
                        return str(owner["name"])
        return None

    def pods_of(self, deployment: str) -> list[Obj]:
        return [p for p in self.pods if self.deployment_of(p) == deployment and not is_terminating(p)]

    def replicasets_of(self, deployment: str) -> list[Obj]:
        owned = [
            rs
            for rs in self.replicasets
            if any(
                o.get("kind") == "Deployment" and o.get("name") == deployment
                for o in rs["metadata"].get("ownerReferences") or []
            )
        ]
        return sorted(owned, key=revision_of)

    def deployments_behind(self, service: Obj) -> list[str]:
        """The deployments whose pods a Service selects."""
        selector = (service.get("spec") or {}).get("selector") or {}
        if not selector:
            return []
        names = []
        for deployment in self.deployments:
            labels = ((deployment["spec"].get("template") or {}).get("metadata") or {}).get("labels") or {}
            if all(labels.get(k) == v for k, v in selector.items()):
                names.append(name_of(deployment))
        return names

    def services_of(self, deployment: str) -> list[str]:
        """The Services that select this deployment's pods."""
        return [name_of(s) for s in self.services if deployment in self.deployments_behind(s)]

    def deployment_for_service(self, name: str) -> str | None:
        """The deployment behind a Service name (or a deployment of that name)."""
        for service in self.services:
            if name_of(service) == name:
                behind = self.deployments_behind(service)
                if behind:
                    return behind[0]
        return name if any(name_of(d) == name for d in self.deployments) else None

    # ------------------------------------------------------------------ events

    def pod_events(self, pod: Obj, reasons: tuple[str, ...], within: float) -> list[Obj]:
        """Events about this pod instance with one of ``reasons``, last seen within ``within`` seconds."""
        uid = pod["metadata"]["uid"]
        name = name_of(pod)
        found = []
        for event in self.events:
            involved = event.get("involvedObject") or {}
            if involved.get("kind") != "Pod" or involved.get("name") != name:
                continue
            if involved.get("uid") not in (None, uid):
                continue
            if event.get("reason") not in reasons:
                continue
            seen = parse_time(event.get("lastTimestamp") or event.get("eventTime") or event.get("firstTimestamp"))
            if seen is not None and self.taken - seen <= within:
                found.append(event)
        return found

    # ------------------------------------------------------------------ samples

    def recent_pod_samples(self, pod: Obj, seconds: float) -> list[Obj]:
        return [s for s in self.pod_samples.get(name_of(pod), []) if self.taken - float(s["t"]) <= seconds]

    def recent_service_samples(self, service: str, seconds: float, since: float = 0.0) -> list[Obj]:
        return [
            s
            for s in self.service_samples.get(service, [])
            if self.taken - float(s["t"]) <= seconds and float(s["t"]) >= since
        ]


LOG_TAIL = 200


def _has_run(pod: Obj) -> bool:
    """Whether a container of the pod has started, so that it may have a log."""
    statuses = (pod.get("status") or {}).get("containerStatuses") or []
    return any("running" in (s.get("state") or {}) or s.get("restartCount") for s in statuses)


def recent_logs(api: AgentApi, namespace: str, pods: list[Obj], seconds: int) -> dict[str, str]:
    """The last ``seconds`` of each live pod's log, each line after its time (logs that cannot be read
    are left out)."""
    logs = {}
    for pod in pods:
        if is_terminating(pod) or not _has_run(pod):
            continue
        try:
            logs[name_of(pod)] = api.pod_log(namespace, name_of(pod), tail=LOG_TAIL, since=seconds, timestamps=True)
        except AgentApiError:
            continue
    return logs


def observe(
    api: AgentApi, namespace: str, seconds: int = 30, calls_seconds: int = 10, log_seconds: int = 20
) -> Snapshot:
    taken = time.time()
    snapshot = Snapshot(
        namespace=namespace,
        taken=taken,
        deployments=api.objects("deployments", namespace),
        replicasets=api.objects("replicasets", namespace),
        pods=api.objects("pods", namespace),
        services=api.objects("services", namespace),
        events=api.events(namespace),
        configmaps=api.objects("configmaps", namespace),
    )
    snapshot.logs = recent_logs(api, namespace, snapshot.pods, log_seconds)
    for item in api.pod_metrics(namespace, seconds):
        snapshot.pod_samples[str(item["name"])] = list(item.get("samples") or [])
    for item in api.service_metrics(namespace, seconds):
        snapshot.service_samples[str(item["service"])] = list(item.get("samples") or [])
    snapshot.calls = [Call.from_json(c) for c in api.topology(namespace, since=calls_seconds).get("calls") or []]
    return snapshot


def revision_of(obj: Obj) -> int:
    try:
        return int((obj["metadata"].get("annotations") or {}).get(REVISION, 0))
    except (TypeError, ValueError):
        return 0
