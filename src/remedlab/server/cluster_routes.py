"""The `/v1` cluster routes: objects, apply, patch, logs, exec, rollouts, top, metrics.

See docs/cluster-api.md. Every failure answers a Kubernetes `Status` body.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel, Field

from remedlab import __version__
from remedlab.api.client import Backend
from remedlab.api.errors import Forbidden
from remedlab.api.kinds import CHAOS_KINDS
from remedlab.cluster.embedded import KUBERNETES_VERSION
from remedlab.server.auth import scope_of_request

router = APIRouter(prefix="/v1")


def backend_of(request: Request) -> Backend:
    backend: Backend = request.app.state.backend
    return backend


def _ns(namespace: str) -> str | None:
    return None if namespace == "_" else namespace


class ApplyRequest(BaseModel):
    objects: list[dict[str, Any]]
    namespace: str | None = None
    dry_run: bool = Field(default=False, alias="dryRun")


class ApplyResult(BaseModel):
    kind: str
    name: str
    namespace: str
    action: Literal["created", "configured", "unchanged"]


class ApplyResponse(BaseModel):
    results: list[ApplyResult]


class PatchRequest(BaseModel):
    type: Literal["merge", "json", "strategic"] = "strategic"
    patch: dict[str, Any] | list[dict[str, Any]]


class ExecRequest(BaseModel):
    command: list[str] = Field(min_length=1)
    container: str | None = None
    timeout_seconds: float = Field(default=10.0, gt=0, le=600, alias="timeoutSeconds")


class ExecResponse(BaseModel):
    stdout: str
    stderr: str
    exit_code: int = Field(serialization_alias="exitCode")


class ScaleRequest(BaseModel):
    replicas: int = Field(ge=0)


class UndoRequest(BaseModel):
    to_revision: int = Field(default=0, ge=0, alias="toRevision")


class ObjectList(BaseModel):
    kind: str = "List"
    api_version: str = Field(default="v1", serialization_alias="apiVersion")
    items: list[dict[str, Any]]


@router.get("/version")
def version() -> dict[str, str]:
    return {"remedlab": __version__, "kubernetes": KUBERNETES_VERSION}


@router.post("/apply", response_model=ApplyResponse)
def apply(request: Request, body: ApplyRequest) -> dict[str, Any]:
    if scope_of_request(request.state) != "admin":
        chaos = sorted(
            {str(o.get("kind")) for o in body.objects if isinstance(o, dict) and o.get("kind") in CHAOS_KINDS}
        )
        if chaos:
            raise Forbidden(f"a token of scope agent may not apply {', '.join(chaos)} objects (faults are the admin's)")
    results = backend_of(request).apply(body.objects, body.namespace, body.dry_run)
    return {"results": results}


@router.get("/top/pods")
def top_pods(
    request: Request,
    namespace: str | None = None,
    label_selector: Annotated[str | None, Query(alias="labelSelector")] = None,
) -> dict[str, Any]:
    return {"items": backend_of(request).top_pods(namespace, label_selector)}


@router.get("/top/nodes")
def top_nodes(request: Request) -> dict[str, Any]:
    return {"items": backend_of(request).top_nodes()}


@router.get("/metrics/pods")
def pod_metrics(
    request: Request,
    namespace: str | None = None,
    name: str | None = None,
    seconds: Annotated[float, Query(gt=0, le=3600)] = 60.0,
) -> dict[str, Any]:
    return {"items": backend_of(request).pod_metrics(namespace, name, seconds)}


@router.get("/doctor")
def doctor(request: Request) -> dict[str, Any]:
    return {"checks": backend_of(request).doctor()}


@router.get("/{resource}", response_model=ObjectList, response_model_by_alias=True)
def list_objects(
    request: Request,
    resource: str,
    namespace: str | None = None,
    label_selector: Annotated[str | None, Query(alias="labelSelector")] = None,
    field_selector: Annotated[str | None, Query(alias="fieldSelector")] = None,
) -> dict[str, Any]:
    items = backend_of(request).list_objects(resource, namespace, label_selector, field_selector)
    return {"kind": "List", "api_version": "v1", "items": items}


@router.get("/namespaces/{namespace}/{resource}/{name}")
def get_object(request: Request, namespace: str, resource: str, name: str) -> dict[str, Any]:
    return backend_of(request).get(resource, _ns(namespace), name)


@router.post("/namespaces/{namespace}/{resource}", status_code=201)
def create_object(request: Request, namespace: str, resource: str, body: dict[str, Any]) -> dict[str, Any]:
    return backend_of(request).create(body, _ns(namespace))


@router.put("/namespaces/{namespace}/{resource}/{name}")
def replace_object(request: Request, namespace: str, resource: str, name: str, body: dict[str, Any]) -> dict[str, Any]:
    return backend_of(request).replace(body, _ns(namespace))


@router.patch("/namespaces/{namespace}/{resource}/{name}")
def patch_object(request: Request, namespace: str, resource: str, name: str, body: PatchRequest) -> dict[str, Any]:
    return backend_of(request).patch(resource, _ns(namespace), name, body.type, body.patch)


@router.delete("/namespaces/{namespace}/{resource}/{name}")
def delete_object(
    request: Request,
    namespace: str,
    resource: str,
    name: str,
    grace_period_seconds: Annotated[int | None, Query(alias="gracePeriodSeconds", ge=0)] = None,
) -> dict[str, Any]:
    return backend_of(request).delete(resource, _ns(namespace), name, grace_period_seconds)


@router.get("/namespaces/{namespace}/pods/{name}/log", response_class=PlainTextResponse)
def pod_log(
    request: Request,
    namespace: str,
    name: str,
    container: str | None = None,
    tail_lines: Annotated[int | None, Query(alias="tailLines", ge=-1)] = None,
    previous: bool = False,
    since_seconds: Annotated[float | None, Query(alias="sinceSeconds", gt=0)] = None,
    timestamps: bool = False,
) -> Response:
    tail = None if tail_lines is None or tail_lines < 0 else tail_lines
    text = backend_of(request).logs(namespace, name, container, previous, tail, since_seconds, timestamps)
    return PlainTextResponse(text)


@router.post("/namespaces/{namespace}/pods/{name}/exec", response_model=ExecResponse, response_model_by_alias=True)
async def pod_exec(request: Request, namespace: str, name: str, body: ExecRequest) -> dict[str, Any]:
    out, err, code = await backend_of(request).exec(namespace, name, body.container, body.command, body.timeout_seconds)
    return {"stdout": out, "stderr": err, "exit_code": code}


@router.post("/namespaces/{namespace}/deployments/{name}/scale")
def scale(request: Request, namespace: str, name: str, body: ScaleRequest) -> dict[str, Any]:
    return backend_of(request).scale(namespace, name, body.replicas)


@router.post("/namespaces/{namespace}/deployments/{name}/restart")
def restart(request: Request, namespace: str, name: str) -> dict[str, Any]:
    return backend_of(request).rollout_restart(namespace, name)


@router.post("/namespaces/{namespace}/deployments/{name}/undo")
def undo(request: Request, namespace: str, name: str, body: UndoRequest | None = None) -> dict[str, Any]:
    return backend_of(request).rollout_undo(namespace, name, body.to_revision if body else 0)


@router.get("/namespaces/{namespace}/deployments/{name}/history")
def history(request: Request, namespace: str, name: str) -> dict[str, Any]:
    return {"revisions": backend_of(request).rollout_history(namespace, name)}
