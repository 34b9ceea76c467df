"""k8s-target-port-misconfig (AIOpsLab): a Service's ``targetPort`` is changed to a port nothing
listens on (AIOpsLab: 9090 to 9999). The pods stay Ready and the Service keeps its endpoints, but
every connection through it is refused. ``kubectl patch svc`` back to the container's port repairs it."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from remedlab.api.client import Backend
from remedlab.api.errors import BadRequest, NotFound
from remedlab.chaos.functional.targets import get_or_none, namespace_of, new_record, pod_labels, selects

Obj = dict[str, Any]


class TargetPortParameters(BaseModel):
    model_config = ConfigDict(extra="forbid")

    port: int = Field(default=9999, ge=1, le=65535, description="The targetPort the Service is given.")


def service_of(backend: Backend, chaos: Obj) -> Obj:
    """``spec.service``, else the Service selecting the pods of ``spec.deployment``."""
    spec = chaos.get("spec") or {}
    namespace = namespace_of(chaos)
    if spec.get("service"):
        return backend.get("services", namespace, str(spec["service"]))
    if not spec.get("deployment"):
        raise BadRequest("give spec.service (or spec.deployment, whose Service is changed)")
    deployment = backend.get("deployments", namespace, str(spec["deployment"]))
    labels = pod_labels(deployment)
    for service in backend.list_objects("services", namespace):
        if selects(service, labels) and (service["spec"].get("ports") or []):
            return service
    raise NotFound(f"no Service with ports selects the pods of deployment {spec['deployment']}")


def selected_pods(backend: Backend, service: Obj) -> list[Obj]:
    selector = (service.get("spec") or {}).get("selector") or {}
    if not selector:
        return []
    text = ",".join(f"{k}={v}" for k, v in selector.items())
    pods = backend.list_objects("pods", service["metadata"]["namespace"], text)
    return [p for p in pods if not p["metadata"].get("deletionTimestamp")]


def port_problems(backend: Backend, service: Obj) -> list[str]:
    """Service ports whose targetPort no container port of the selected pods declares."""
    pods = selected_pods(backend, service)
    if not pods:
        return []
    declared = [port for pod in pods for c in pod["spec"].get("containers") or [] for port in c.get("ports") or []]
    numbers = {int(p["containerPort"]) for p in declared}
    names = {str(p["name"]) for p in declared if p.get("name")}
    problems = []
    for port in service["spec"].get("ports") or []:
        target = port.get("targetPort", port.get("port"))
        if isinstance(target, str) and not target.isdigit():
            if target not in names:
                problems.append(f"targetPort {target} of port {port['port']} names no container port")
        elif int(target) not in numbers:
            problems.append(
                f"targetPort {target} of port {port['port']} is none of the pods' container ports "
                f"({', '.join(str(n) for n in sorted(numbers))})"
            )
    return problems


class K8sTargetPortMisconfig:
    name: ClassVar[str] = "k8s-target-port-misconfig"
    parameters: ClassVar[type[BaseModel] | None] = TargetPortParameters

    async def inject(self, backend: Backend, chaos: Obj) -> Obj:
        port = TargetPortParameters.model_validate(chaos["spec"].get("parameters") or {}).port
        service = service_of(backend, chaos)
        name = service["metadata"]["name"]
        first = service["spec"]["ports"][0]
        original = first.get("targetPort", first["port"])
        if str(original) == str(port):
            raise BadRequest(f"service {name} targets port {port} already: choose another with parameters.port")
        op = {"op": "replace", "path": "/spec/ports/0/targetPort", "value": port}
        backend.patch("services", namespace_of(chaos), name, "json", [op])
        return new_record(
            chaos,
            "service",
            name,
            self.name,
            service=name,
            portName=first.get("name"),
            servicePort=first["port"],
            originalTargetPort=original,
            faultyTargetPort=port,
        )

    def _port_index(self, service: Obj, record: Obj) -> int | None:
        for index, port in enumerate(service["spec"].get("ports") or []):
            if port.get("port") == record["servicePort"] and port.get("name") == record.get("portName"):
                return index
        return None

    async def recover(self, backend: Backend, chaos: Obj, record: Obj) -> None:
        service = get_or_none(backend, "services", namespace_of(chaos), record["service"])
        if service is None:
            return
        index = self._port_index(service, record)
        if index is None:
            return
        if str(service["spec"]["ports"][index].get("targetPort")) != str(record["faultyTargetPort"]):
            return  # repaired (kubectl patch svc) or changed since: left alone
        op = {"op": "replace", "path": f"/spec/ports/{index}/targetPort", "value": record["originalTargetPort"]}
        backend.patch("services", namespace_of(chaos), record["service"], "json", [op])

    def observable(self, backend: Backend, chaos: Obj, record: Obj) -> tuple[bool, str]:
        service = get_or_none(backend, "services", namespace_of(chaos), record["service"])
        if service is None:
            return False, "the service is gone"
        problems = port_problems(backend, service)
        if problems:
            return True, f"service {record['service']}: " + "; ".join(problems)
        return False, f"service {record['service']} targets its pods' container ports"
