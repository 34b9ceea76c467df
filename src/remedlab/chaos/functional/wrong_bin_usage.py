"""wrong-bin-usage (AIOpsLab): a deployment's container runs another service's program from the
same image (AIOpsLab points Hotel Reservation's profile at ``geo``). The pods start, but serve the
wrong program on the wrong port: they never get Ready, and the service's callers fail. The pods are
replaced at once (see `rollout.py`); ``kubectl rollout undo`` repairs it."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from remedlab.api.client import Backend
from remedlab.api.errors import BadRequest
from remedlab.chaos.functional.pod_config_error import new_revision_available
from remedlab.chaos.functional.rollout import (
    patch_template_at_once,
    restore_container_field,
)
from remedlab.chaos.functional.targets import container_of, deployment_of, get_or_none, namespace_of, new_record

Obj = dict[str, Any]


class WrongBinUsageParameters(BaseModel):
    model_config = ConfigDict(extra="forbid")

    program: str = Field(
        default="geo", description="The program of the image the container runs instead (its command)."
    )


class WrongBinUsage:
    name: ClassVar[str] = "wrong-bin-usage"
    parameters: ClassVar[type[BaseModel] | None] = WrongBinUsageParameters

    async def inject(self, backend: Backend, chaos: Obj) -> Obj:
        program = WrongBinUsageParameters.model_validate(chaos["spec"].get("parameters") or {}).program
        deployment = deployment_of(backend, chaos)
        index, container = container_of(deployment, chaos)
        name = deployment["metadata"]["name"]
        original = container.get("command")
        if original == [program]:
            raise BadRequest(f"deployment {name} runs {program} already: choose another with parameters.program")
        strategy = patch_template_at_once(
            backend, deployment, {"containers": [{"name": container["name"], "command": [program]}]}
        )
        return new_record(
            chaos,
            "deployment",
            name,
            self.name,
            container["name"],
            deployment=name,
            containerIndex=index,
            container=container["name"],
            originalCommand=original,
            faultyCommand=[program],
            originalStrategy=strategy,
        )

    async def recover(self, backend: Backend, chaos: Obj, record: Obj) -> None:
        restore_container_field(
            backend, namespace_of(chaos), record, "command", record["faultyCommand"], record.get("originalCommand")
        )

    def observable(self, backend: Backend, chaos: Obj, record: Obj) -> tuple[bool, str]:
        deployment = get_or_none(backend, "deployments", namespace_of(chaos), record["deployment"])
        if deployment is None:
            return False, "the deployment is gone"
        containers = deployment["spec"]["template"]["spec"]["containers"]
        wrong = any(
            c["name"] == record["container"] and c.get("command") == record["faultyCommand"] for c in containers
        )
        if not wrong:
            return False, "the container runs its own program again"
        _, detail = new_revision_available(backend, deployment)
        return True, f"the container runs {' '.join(record['faultyCommand'])}; {detail}"
