"""The `/v1` routes about the cluster that the Kubernetes API does not carry: the host's fidelity
report (`doctor`) and pods' resource usage as time series.

Objects, logs, exec, scale and `top` are served by the Kubernetes API (`/api`, `/apis`).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from remedlab.api.client import Backend

router = APIRouter(prefix="/v1")


def backend_of(request: Request) -> Backend:
    backend: Backend = request.app.state.backend
    return backend


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
