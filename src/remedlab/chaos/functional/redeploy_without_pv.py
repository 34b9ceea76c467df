"""redeploy-without-pv (AIOpsLab's redeploy_without_PV): the app's stores are redeployed without their
persistent volumes, and come back empty.

AIOpsLab deletes the app's namespace without handling its PersistentVolumes and deploys the app again.
Here a claim's volume goes with the claim (dynamic provisioning, reclaim policy Delete, as remedlab's
embedded cluster and most clouds do), so the same operation loses what the stores held. The databases
come back on fresh volumes: their servers create the schema again, but the app's data, loaded once at
install, is gone.

Inject: for each store (`spec.deployment`, plus `parameters.stores`): it is scaled to 0 and its pods
go at once, its PersistentVolumeClaims are deleted (their data with them) and made again as they were,
and it is scaled back. Then, as after a redeploy, the pods of the services using the stores start again:
they find no data and never get ready ("table points in database geo holds no rows"), so their callers
fail. The record keeps the stores, their replicas and claims.

Recover: runs ``parameters.restore`` in each store's pod (by default the store's
``sh /scripts/restore-data.sh``, which loads the app's data into empty tables and leaves a database
holding its data alone); an empty list leaves the data lost.
"""

from __future__ import annotations

import asyncio
import copy
import time
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from remedlab.api.client import Backend
from remedlab.api.errors import BadRequest, Conflict, NotFound
from remedlab.chaos.functional.database_symptoms import database_fault_symptom
from remedlab.chaos.functional.postgres_target import client_deployments, restart_pods, running_pods
from remedlab.chaos.functional.targets import get_or_none, namespace_of, new_record

Obj = dict[str, Any]
SYMPTOMS = ("holds no rows",)
GONE_TIMEOUT_S = 60.0
RESTORE_TIMEOUT_S = 60.0
RUNNING_TIMEOUT_S = 60.0
CLAIM_FIELDS = ("accessModes", "resources", "storageClassName", "volumeMode", "selector", "dataSource")


class RedeployParameters(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")

    stores: list[str] = Field(
        default_factory=list, description="More store Deployments redeployed without their volumes."
    )
    restart_clients: bool = Field(
        default=True, description="Start the services using the stores again, as a redeploy of the app does."
    )
    restore: list[str] = Field(
        default_factory=lambda: ["sh", "/scripts/restore-data.sh"],
        description="The command recovery runs in each store's pod to load its data again; [] leaves it lost.",
    )


def _claims_of(deployment: Obj) -> list[str]:
    volumes = deployment["spec"]["template"]["spec"].get("volumes") or []
    return [str(v["persistentVolumeClaim"]["claimName"]) for v in volumes if v.get("persistentVolumeClaim")]


def _fresh_claim(claim: Obj) -> Obj:
    """The claim as its manifest made it: its name, labels and wishes, no binding."""
    meta = claim["metadata"]
    spec = {k: copy.deepcopy(v) for k, v in (claim.get("spec") or {}).items() if k in CLAIM_FIELDS}
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": meta["name"], "namespace": meta["namespace"], "labels": dict(meta.get("labels") or {})},
        "spec": spec,
    }


async def _until(check: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() >= deadline:
            raise Conflict(f"{what} did not happen within {timeout:g} s")
        await asyncio.sleep(0.1)


async def _redeploy_without_volumes(backend: Backend, namespace: str, deployment: Obj) -> Obj:
    """Scale the store to 0, delete its claims and make them again, scale it back; what was done."""
    name = deployment["metadata"]["name"]
    claims = [backend.get("persistentvolumeclaims", namespace, c) for c in _claims_of(deployment)]
    replicas = int(deployment["spec"].get("replicas", 1))
    backend.patch("deployments", namespace, name, "merge", {"spec": {"replicas": 0}})
    selector = dict(deployment["spec"]["selector"].get("matchLabels") or {})
    text = ",".join(f"{k}={v}" for k, v in selector.items())

    def pods() -> list[Obj]:
        return backend.list_objects("pods", namespace, text or None)

    for pod in pods():
        try:
            backend.delete("pods", namespace, pod["metadata"]["name"], grace_seconds=0)
        except NotFound:
            pass
    for claim in claims:
        try:
            backend.delete("persistentvolumeclaims", namespace, claim["metadata"]["name"])
        except NotFound:
            pass
    await _until(lambda: not pods(), GONE_TIMEOUT_S, f"the pods of {name} going")

    def claims_gone() -> bool:
        return all(
            get_or_none(backend, "persistentvolumeclaims", namespace, c["metadata"]["name"]) is None for c in claims
        )

    await _until(claims_gone, GONE_TIMEOUT_S, f"the volumes of {name} going")
    for claim in claims:
        backend.create(_fresh_claim(claim))
    backend.patch("deployments", namespace, name, "merge", {"spec": {"replicas": replicas}})
    return {"deployment": name, "replicas": replicas, "claims": [c["metadata"]["name"] for c in claims]}


class RedeployWithoutPv:
    name: ClassVar[str] = "redeploy-without-pv"
    parameters: ClassVar[type[BaseModel] | None] = RedeployParameters

    async def inject(self, backend: Backend, chaos: Obj) -> Obj:
        params = RedeployParameters.model_validate(chaos["spec"].get("parameters") or {})
        namespace = namespace_of(chaos)
        names = list(dict.fromkeys([n for n in [chaos["spec"].get("deployment"), *params.stores] if n]))
        if not names:
            raise BadRequest("name the store to redeploy: spec.deployment or parameters.stores")
        deployments = [backend.get("deployments", namespace, str(n)) for n in names]
        for deployment in deployments:
            if not _claims_of(deployment):
                raise BadRequest(f"deployment {deployment['metadata']['name']} keeps no data on a volume claim")
        clients = sorted({c for d in deployments for c in client_deployments(backend, namespace, d)} - set(names))
        stores = await asyncio.gather(*(_redeploy_without_volumes(backend, namespace, d) for d in deployments))
        restarted = restart_pods(backend, namespace, clients) if params.restart_clients else []
        first = names[0]
        return new_record(
            chaos,
            "deployment",
            str(first),
            self.name,
            deployment=first,
            stores=stores,
            clients=clients,
            restartedPods=restarted,
        )

    async def recover(self, backend: Backend, chaos: Obj, record: Obj) -> None:
        params = RedeployParameters.model_validate(chaos["spec"].get("parameters") or {})
        if not params.restore:
            return
        namespace = namespace_of(chaos)
        for store in record.get("stores") or []:
            deployment = get_or_none(backend, "deployments", namespace, store["deployment"])
            if deployment is None:
                continue
            deadline = time.monotonic() + RUNNING_TIMEOUT_S
            while not (pods := running_pods(backend, namespace, deployment)) and time.monotonic() < deadline:
                await asyncio.sleep(0.2)
            if not pods:
                continue  # not running: nothing to load into
            pod = pods[0]
            container = pod["spec"]["containers"][0]["name"]
            _, err, code = await backend.exec(
                namespace, pod["metadata"]["name"], container, list(params.restore), RESTORE_TIMEOUT_S
            )
            if code != 0:
                detail = (err.strip().splitlines() or [f"exit code {code}"])[-1]
                raise Conflict(f"restoring the data of {store['deployment']} failed: {detail}")

    def observable(self, backend: Backend, chaos: Obj, record: Obj) -> tuple[bool, str]:
        namespace = namespace_of(chaos)
        clients = record.get("clients") or []
        details = []
        for store in record.get("stores") or []:
            seen, how = database_fault_symptom(
                backend, namespace, store["deployment"], clients, record["injectedAt"], SYMPTOMS
            )
            if seen:
                return True, how
            details.append(how)
        return False, "; ".join(details) or "no store was redeployed"


ACTION = RedeployWithoutPv()
