"""The PostgreSQL store a database fault acts on, and the services that use it.

A database fault names the store's Deployment (`parameters.deployment`, else `spec.deployment`, as
the catalog aims it). Its running pod is where `psql` runs (the image's client: the pod's own
server, as the superuser); the database and the application role are the pod's `POSTGRES_DB` and
`POSTGRES_USER` unless the parameters name them. The store's clients are the Deployments whose
containers' environment points at one of the Services selecting the store's pods
(``DATABASE_ADDR=postgres-geo:5432``), unless the parameters list them.
"""

from __future__ import annotations

import base64
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from remedlab.api.client import Backend
from remedlab.api.errors import NotFound

Obj = dict[str, Any]
SUPERUSER = "postgres"


class DatabaseFaultParameters(BaseModel):
    """The settings of a fault on a PostgreSQL store (`spec.parameters`)."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True)

    deployment: str | None = Field(
        default=None, description="The store's Deployment; the experiment's spec.deployment when left out."
    )
    container: str | None = Field(default=None, description="The store's container; the pod's first when left out.")
    database: str | None = Field(default=None, description="The application's database; the pod's POSTGRES_DB.")
    role: str | None = Field(default=None, description="The application's role; the pod's POSTGRES_USER.")
    clients: list[str] | None = Field(
        default=None,
        description="The Deployments of the services using the database; those whose environment names one "
        "of the store's Services when left out.",
    )
    restart_clients: bool = Field(
        default=True, description="Delete the clients' pods after the injection, so that they start again and fail."
    )


@dataclass(frozen=True)
class DatabaseTarget:
    namespace: str
    deployment: str
    pod: str
    container: str
    database: str
    role: str
    clients: tuple[str, ...]

    @property
    def record_id(self) -> str:
        return f"{self.namespace}/deployment/{self.deployment}/{self.container}"


def parameters_of(chaos: Obj) -> DatabaseFaultParameters:
    return DatabaseFaultParameters.model_validate(chaos.get("spec", {}).get("parameters") or {})


def _labels_match(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def _ready(pod: Obj) -> bool:
    conditions = (pod.get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)


def running_pods(backend: Backend, namespace: str, deployment: Obj) -> list[Obj]:
    """The deployment's pods, running and not being deleted, ready ones first."""
    selector = dict(deployment["spec"]["selector"].get("matchLabels") or {})
    pods = [
        p
        for p in backend.list_objects("pods", namespace)
        if _labels_match(selector, p["metadata"].get("labels") or {})
        and not p["metadata"].get("deletionTimestamp")
        and (p.get("status") or {}).get("phase") == "Running"
    ]
    return sorted(pods, key=lambda p: (not _ready(p), p["metadata"]["name"]))


def env_value(backend: Backend, namespace: str, container: Obj, name: str) -> str | None:
    """The value of a container's environment variable, following Secret and ConfigMap references."""
    for entry in container.get("env") or []:
        if entry.get("name") != name:
            continue
        if "value" in entry:
            return str(entry["value"])
        source = entry.get("valueFrom") or {}
        for kind, resource in (("secretKeyRef", "secrets"), ("configMapKeyRef", "configmaps")):
            ref = source.get(kind)
            if not ref:
                continue
            try:
                obj = backend.get(resource, namespace, ref["name"])
            except NotFound:
                return None
            if resource == "secrets":
                plain = (obj.get("stringData") or {}).get(ref["key"])
                if plain is not None:
                    return str(plain)
                encoded = (obj.get("data") or {}).get(ref["key"])
                return base64.b64decode(encoded).decode() if encoded is not None else None
            value = (obj.get("data") or {}).get(ref["key"])
            return str(value) if value is not None else None
    return None


def _service_names(backend: Backend, namespace: str, pod_labels: dict[str, str]) -> set[str]:
    names: set[str] = set()
    for svc in backend.list_objects("services", namespace):
        if _labels_match(dict(svc["spec"].get("selector") or {}), pod_labels):
            name = svc["metadata"]["name"]
            names |= {name, f"{name}.{namespace}", f"{name}.{namespace}.svc", f"{name}.{namespace}.svc.cluster.local"}
    return names


def _host_of(value: str) -> str:
    """The host an address-like value names (`postgres-geo:5432`, `postgresql://u@h:5432/db`)."""
    value = re.sub(r"^[a-z][a-z0-9+.-]*://", "", value.strip())
    value = value.rsplit("@", 1)[-1]
    return re.split(r"[:/?]", value, maxsplit=1)[0]


def client_deployments(backend: Backend, namespace: str, store: Obj) -> list[str]:
    """The Deployments whose containers' environment names one of the store's Services."""
    labels = dict(store["spec"]["template"]["metadata"].get("labels") or {})
    services = _service_names(backend, namespace, labels)
    found = []
    for deployment in backend.list_objects("deployments", namespace):
        if deployment["metadata"]["name"] == store["metadata"]["name"]:
            continue
        containers = deployment["spec"]["template"]["spec"].get("containers") or []
        values = [str(e["value"]) for c in containers for e in c.get("env") or [] if "value" in e]
        if any(_host_of(v) in services for v in values):
            found.append(deployment["metadata"]["name"])
    return sorted(found)


def database_target(backend: Backend, chaos: Obj) -> DatabaseTarget:
    """Where the fault acts, from the experiment and the store's running pod."""
    params = parameters_of(chaos)
    namespace = chaos["metadata"]["namespace"]
    name = params.deployment or chaos.get("spec", {}).get("deployment")
    if not name:
        raise NotFound("the fault names no database deployment: set spec.deployment or parameters.deployment")
    deployment = backend.get("deployments", namespace, name)
    pods = running_pods(backend, namespace, deployment)
    if not pods:
        raise NotFound(f"deployment {name} has no running pod to reach its database through")
    pod = pods[0]
    containers = pod["spec"]["containers"]
    container = next((c for c in containers if c["name"] == params.container), None) if params.container else None
    if params.container and container is None:
        raise NotFound(f"pod {pod['metadata']['name']} has no container {params.container}")
    container = container or containers[0]
    role = params.role or env_value(backend, namespace, container, "POSTGRES_USER") or SUPERUSER
    if role == SUPERUSER:
        raise NotFound(f"deployment {name} has no application role (POSTGRES_USER): name one in parameters.role")
    database = params.database or env_value(backend, namespace, container, "POSTGRES_DB") or role
    clients = params.clients if params.clients is not None else client_deployments(backend, namespace, deployment)
    return DatabaseTarget(namespace, name, pod["metadata"]["name"], container["name"], database, role, tuple(clients))


def store_hosts(backend: Backend, target: DatabaseTarget) -> list[str]:
    """The names and addresses clients reach the store by: its Services' names (short and qualified),
    their cluster IPs and the pod's IP."""
    deployment = backend.get("deployments", target.namespace, target.deployment)
    labels = dict(deployment["spec"]["template"]["metadata"].get("labels") or {})
    hosts = sorted(_service_names(backend, target.namespace, labels))
    for svc in backend.list_objects("services", target.namespace):
        ip = (svc.get("spec") or {}).get("clusterIP")
        if svc["metadata"]["name"] in hosts and ip and ip != "None":
            hosts.append(str(ip))
    try:
        pod_ip = (backend.get("pods", target.namespace, target.pod).get("status") or {}).get("podIP")
    except NotFound:
        pod_ip = None
    return [*hosts, *([str(pod_ip)] if pod_ip else [])]


@dataclass(frozen=True)
class StoreLogin:
    """How a client of the store logs in as the application role over TCP to the pod itself."""

    host: str
    port: int
    password: str


def store_login(backend: Backend, target: DatabaseTarget) -> StoreLogin:
    pod = backend.get("pods", target.namespace, target.pod)
    ip = str((pod.get("status") or {}).get("podIP") or "127.0.0.1")
    container: Obj = next((c for c in pod["spec"]["containers"] if c["name"] == target.container), {})
    port = env_value(backend, target.namespace, container, "PGPORT") or "5432"
    password = env_value(backend, target.namespace, container, "POSTGRES_PASSWORD") or ""
    return StoreLogin(ip, int(port) if port.isdigit() else 5432, password)


def restart_pods(backend: Backend, namespace: str, deployments: Iterable[str]) -> list[str]:
    """Delete the running pods of ``deployments`` (their controllers start new ones); the names deleted."""
    deleted = []
    for name in deployments:
        try:
            deployment = backend.get("deployments", namespace, name)
        except NotFound:
            continue
        for pod in running_pods(backend, namespace, deployment):
            try:
                backend.delete("pods", namespace, pod["metadata"]["name"], grace_seconds=0)
                deleted.append(pod["metadata"]["name"])
            except NotFound:
                pass
    return deleted


def restart_clients(backend: Backend, target: DatabaseTarget) -> list[str]:
    """Delete the clients' pods (their controllers start new ones), as AIOpsLab does after its database
    faults; the names of the pods deleted."""
    return restart_pods(backend, target.namespace, target.clients)


def base_record(target: DatabaseTarget, mechanism: str, **extra: Any) -> Obj:
    return {
        "id": target.record_id,
        "phase": "Injected",
        "mechanism": mechanism,
        "deployment": target.deployment,
        "container": target.container,
        "database": target.database,
        "role": target.role,
        "clients": list(target.clients),
        "injectedCount": 1,
        "recoveredCount": 0,
        "injectedAt": time.time(),
        **extra,
    }


def recorded_target(backend: Backend, chaos: Obj, record: Obj) -> DatabaseTarget | None:
    """The target an injection recorded, reached through the store's current pod (None when the store
    has no running pod, or is gone)."""
    namespace = chaos["metadata"]["namespace"]
    try:
        deployment = backend.get("deployments", namespace, record["deployment"])
    except NotFound:
        return None
    pods = running_pods(backend, namespace, deployment)
    if not pods:
        return None
    return DatabaseTarget(
        namespace,
        record["deployment"],
        pods[0]["metadata"]["name"],
        record["container"],
        record["database"],
        record["role"],
        tuple(record.get("clients") or ()),
    )
