"""The `/v1/faults` and `/v1/chaos` routes: the catalog, inject, list, get (with confirm), stop."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from remedlab.api.client import Backend
from remedlab.api.errors import BadRequest, NotFound
from remedlab.api.kinds import BY_KIND, CHAOS_KINDS
from remedlab.apps.catalog import UnknownApp, get_app
from remedlab.chaos.catalog import build_chaos, load_catalog
from remedlab.chaos.confirm import confirm
from remedlab.server.app_routes import app_of_namespace
from remedlab.server.auth import scope_of_request
from remedlab.server.cluster_routes import backend_of

router = APIRouter(prefix="/v1")


class InjectRequest(BaseModel):
    fault: str | None = None
    target: str | None = None
    namespace: str = "default"
    overrides: list[str] = Field(default_factory=list, alias="set")
    resource: dict[str, Any] | None = None
    name: str | None = None
    seed: int | None = None


def chaos_objects(backend: Backend, namespace: str | None, fault: str | None = None) -> list[dict[str, Any]]:
    """The chaos objects of a namespace (of every namespace for None), only those of catalog fault
    ``fault`` when given."""
    out: list[dict[str, Any]] = []
    for kind in sorted(CHAOS_KINDS):
        out.extend(backend.list_objects(BY_KIND[kind].plural, namespace))
    if fault is not None:
        out = [o for o in out if (o["metadata"].get("labels") or {}).get("chaos.remedlab.io/fault") == fault]
    return out


def find_chaos(backend: Backend, namespace: str, name: str) -> dict[str, Any]:
    for obj in chaos_objects(backend, namespace):
        if obj["metadata"]["name"] == name:
            return obj
    raise NotFound(f'chaos "{name}" not found in namespace {namespace}')


def app_fault_overrides(backend: Backend, namespace: str, fault: str) -> list[str]:
    """The parameters the app deployed in ``namespace`` gives faults of type ``fault`` (none when no app is)."""
    try:
        return get_app(app_of_namespace(backend, namespace)).fault_overrides(fault)
    except (NotFound, UnknownApp):
        return []


@router.get("/faults")
def faults(request: Request) -> dict[str, Any]:
    """The catalog. Its ground truth (each fault's system level and type, what an analysis is graded
    against) is the admin's: an agent that names a fault must not be handed the answer."""
    admin = scope_of_request(request.state) == "admin"
    return {
        "faults": [
            {"name": f.name, "category": f.category, "kind": f.kind, "spec": f.spec}
            | ({"truth": f.truth} if admin else {})
            for f in load_catalog().values()
        ]
    }


@router.post("/chaos", status_code=201)
async def inject(request: Request, body: InjectRequest) -> dict[str, Any]:
    return await inject_fault(request, body)


async def inject_fault(request: Request, body: InjectRequest) -> dict[str, Any]:
    """Create the chaos object and wait (30 s at most) until the controller injected it or failed."""
    backend = backend_of(request)
    if body.resource is not None:
        resource = body.resource
        resource.setdefault("metadata", {}).setdefault("namespace", body.namespace)
    else:
        if not body.fault or not body.target:
            raise BadRequest("give a fault type and a target, or a chaos resource")
        overrides = [*app_fault_overrides(backend, body.namespace, body.fault), *body.overrides]
        resource = build_chaos(backend, body.fault, body.target, body.namespace, overrides, body.name)
    if resource.get("kind") not in CHAOS_KINDS:
        kinds = ", ".join(sorted(CHAOS_KINDS))
        raise BadRequest(f'kind "{resource.get("kind")}" is not a chaos kind: use one of {kinds}')
    if body.seed is not None:
        resource["metadata"].setdefault("annotations", {})["chaos.remedlab.io/seed"] = str(body.seed)
    created = backend.create(resource)
    # wait for the controller to inject (or fail), so the caller sees the outcome
    plural = BY_KIND[created["kind"]].plural
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        current = backend.get(plural, created["metadata"]["namespace"], created["metadata"]["name"])
        if current.get("status"):
            return {**current, "confirm": confirm(backend, current)}
        await asyncio.sleep(0.05)
    return created


@router.get("/chaos")
def list_chaos(request: Request, namespace: str | None = None) -> dict[str, Any]:
    return {"items": chaos_objects(backend_of(request), namespace)}


@router.get("/chaos/{namespace}/{name}")
def get_chaos(request: Request, namespace: str, name: str) -> dict[str, Any]:
    obj = find_chaos(backend_of(request), namespace, name)
    return {**obj, "confirm": confirm(backend_of(request), obj)}


@router.delete("/chaos/{namespace}/{name}")
async def stop_chaos(request: Request, namespace: str, name: str, wait: bool = True) -> dict[str, Any]:
    return await stop_fault(request, find_chaos(backend_of(request), namespace, name), wait)


async def stop_fault(request: Request, obj: dict[str, Any], wait: bool = True) -> dict[str, Any]:
    """Delete a chaos object (its controller recovers what it changed); with ``wait``, until it is gone."""
    namespace, name = obj["metadata"]["namespace"], obj["metadata"]["name"]
    backend = backend_of(request)
    plural = BY_KIND[obj["kind"]].plural
    backend.delete(plural, namespace, name)
    if wait:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                backend.get(plural, namespace, name)
            except NotFound:
                break
            await asyncio.sleep(0.05)
    return {"name": name, "namespace": namespace, "kind": obj["kind"], "stopped": True}
