"""The `/v1/apps` and `/v1/status` routes: deploy and remove the catalog's applications."""

from __future__ import annotations

import time
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from remedlab.api.client import Backend
from remedlab.api.errors import BadRequest, NotFound
from remedlab.api.kinds import container_images
from remedlab.apps.catalog import AppInfo, UnknownApp, app_manifests, get_app, list_apps
from remedlab.apps.stores.store_binaries import missing_store_programs
from remedlab.server.app_placement import AppPlacement
from remedlab.server.cluster_routes import backend_of

APP_LABEL = "app.remedlab.io/name"
"""The label deploy puts on every object of an app."""

router = APIRouter(prefix="/v1")


class DeployRequest(BaseModel):
    namespace: str | None = None
    wait: bool = True
    timeout_seconds: float = Field(default=120.0, gt=0, le=3600, alias="timeoutSeconds")


def _app(name: str) -> Any:
    try:
        return get_app(name)
    except UnknownApp as exc:
        raise NotFound(exc.message) from None


@router.get("/apps")
def apps() -> dict[str, Any]:
    return {
        "apps": [
            {"name": a.name, "namespace": a.namespace, "description": a.description, "targets": a.targets}
            for a in list_apps()
        ]
    }


def app_of_namespace(backend: Backend, namespace: str) -> str:
    """The app deployed in a namespace (by the label deploy puts on its objects, else by its default namespace)."""
    for obj in backend.list_objects("deployments", namespace):
        name = (obj["metadata"].get("labels") or {}).get(APP_LABEL)
        if name:
            return str(name)
    for app in list_apps():
        if app.namespace == namespace:
            return app.name
    raise NotFound(f"no remedlab environment is deployed in namespace {namespace}")


def apply_app(request: Request, app: AppInfo, namespace: str) -> None:
    """Apply the app's own manifests in ``namespace``, labelled with the app's name and placed for the
    cluster; BadRequest, before anything is created, when the host lacks a store server the app runs."""
    backend = backend_of(request)
    docs = app_manifests(app, namespace)
    placement: AppPlacement | None = getattr(request.app.state, "placement", None)
    if placement is not None:
        placement.place(docs, backend, namespace)
    for doc in docs:
        doc.setdefault("metadata", {}).setdefault("labels", {})[APP_LABEL] = app.name
    missing = (
        missing_store_programs([i for doc in docs for i in container_images(doc)]) if backend.name == "local" else []
    )
    if missing:
        raise BadRequest(f"{app.name} cannot run on this host: {'; '.join(missing)}")
    backend.apply(docs, namespace)


@router.post("/apps/{name}/deploy")
async def deploy(request: Request, name: str, body: DeployRequest | None = None) -> dict[str, Any]:
    body = body or DeployRequest()
    app = _app(name)
    namespace = body.namespace or app.namespace
    backend = backend_of(request)
    started = time.monotonic()
    apply_app(request, app, namespace)
    ready = True
    if body.wait:
        ready = await backend.wait_namespace_ready(namespace, body.timeout_seconds)
    return {"namespace": namespace, "seconds": round(time.monotonic() - started, 3), "ready": ready}


@router.delete("/apps/{name}")
def remove(request: Request, name: str, namespace: Annotated[str | None, Query()] = None) -> dict[str, Any]:
    app = _app(name)
    ns = namespace or app.namespace
    backend = backend_of(request)
    try:
        backend.delete("namespaces", None, ns)
    except NotFound:
        return {"namespace": ns, "deleted": False}
    return {"namespace": ns, "deleted": True}


@router.get("/status")
def status(request: Request) -> dict[str, Any]:
    backend = backend_of(request)
    out = []
    for ns in backend.list_objects("namespaces"):
        name = ns["metadata"]["name"]
        pods = backend.list_objects("pods", name)
        ready = sum(
            1
            for p in pods
            if any(
                c.get("type") == "Ready" and c.get("status") == "True"
                for c in p.get("status", {}).get("conditions") or []
            )
        )
        app = (ns["metadata"].get("labels") or {}).get("app.remedlab.io/name")
        out.append(
            {
                "name": name,
                "pods": len(pods),
                "ready": ready,
                "app": app,
                "phase": (ns.get("status") or {}).get("phase", "Active"),
            }
        )
    return {"namespaces": out, "backend": getattr(backend, "name", "local")}
