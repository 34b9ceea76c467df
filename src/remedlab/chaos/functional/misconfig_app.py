"""misconfig-app (AIOpsLab's misconfig_app_hotel_res): a deployment's container image is swapped for a
buggy build of the same service (AIOpsLab pulls a geo image whose code cannot reach its database).
On Hotel Reservation the default is rate's release 1.1, whose start-up cache warm-up connects to the
wrong port: the new pods exit at start and crash-loop, and the service's callers fail.

The image is changed with a patch of the deployment's template, so the rollout history keeps the good
revision; the pods are replaced at once (see `rollout.py`). ``kubectl rollout undo`` (or ``kubectl set
image`` back to the good image) repairs it. Recovery puts the original image back unless the image
changed since."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from remedlab.api.client import Backend
from remedlab.api.errors import BadRequest
from remedlab.chaos.functional.pod_config_error import new_revision_available
from remedlab.chaos.functional.rollout import patch_template_at_once, restore_container_field
from remedlab.chaos.functional.targets import container_of, deployment_of, get_or_none, namespace_of, new_record

Obj = dict[str, Any]
DEFAULT_IMAGE = "remedlab/hotel-reservation-rate:1.1"


class MisconfigAppParameters(BaseModel):
    model_config = ConfigDict(extra="forbid")

    image: str = Field(
        default=DEFAULT_IMAGE,
        min_length=1,
        description="The buggy image the container runs instead; it must hold the container's command.",
    )


class MisconfigApp:
    name: ClassVar[str] = "misconfig-app"
    parameters: ClassVar[type[BaseModel] | None] = MisconfigAppParameters

    async def inject(self, backend: Backend, chaos: Obj) -> Obj:
        image = MisconfigAppParameters.model_validate(chaos["spec"].get("parameters") or {}).image
        deployment = deployment_of(backend, chaos)
        index, container = container_of(deployment, chaos)
        name = deployment["metadata"]["name"]
        original = container.get("image")
        if original == image:
            raise BadRequest(f"deployment {name} runs {image} already: choose another with parameters.image")
        strategy = patch_template_at_once(
            backend, deployment, {"containers": [{"name": container["name"], "image": image}]}
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
            originalImage=original,
            faultyImage=image,
            originalStrategy=strategy,
        )

    async def recover(self, backend: Backend, chaos: Obj, record: Obj) -> None:
        restore_container_field(
            backend, namespace_of(chaos), record, "image", record["faultyImage"], record["originalImage"]
        )

    def observable(self, backend: Backend, chaos: Obj, record: Obj) -> tuple[bool, str]:
        deployment = get_or_none(backend, "deployments", namespace_of(chaos), record["deployment"])
        if deployment is None:
            return False, "the deployment is gone"
        containers = deployment["spec"]["template"]["spec"]["containers"]
        if not any(c["name"] == record["container"] and c.get("image") == record["faultyImage"] for c in containers):
            return False, "the container runs another image than the faulty one"
        _, detail = new_revision_available(backend, deployment)
        return True, f"the container runs {record['faultyImage']}; {detail}"


ACTION = MisconfigApp()
