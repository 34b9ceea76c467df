"""The server application: FastAPI over a backend, with Kubernetes-style errors."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.routing import BaseRoute

from remedlab import __version__
from remedlab.api.client import Backend
from remedlab.api.errors import BadRequest, ClusterError
from remedlab.chaos.controller import ChaosController, register_validators
from remedlab.observe.otlp_receiver import OtlpReceiver
from remedlab.observe.service_metrics import ServiceMetricsScraper
from remedlab.observe.trace_store import TraceStore
from remedlab.server import (
    app_routes,
    chaos_routes,
    cluster_routes,
    grading_routes,
    metrics_routes,
    microremed_routes,
    remediation_routes,
    trace_routes,
)
from remedlab.server.access_log import AccessLog
from remedlab.server.auth import Authenticator, BearerAuth
from remedlab.server.remediation_routes import ActionSettings
from remedlab.server.tls_listener import TlsListener

log = logging.getLogger(__name__)


def _describe_validation(exc: RequestValidationError) -> str:
    errors = exc.errors()
    if not errors:
        return "invalid request"
    first = errors[0]
    loc = ".".join(str(p) for p in first.get("loc", ()) if p != "body")
    return f"{loc or 'body'}: {first.get('msg', 'invalid value')}"


def create_app(
    backend: Backend,
    traces: TraceStore | None = None,
    receiver: OtlpReceiver | None = None,
    tokens: dict[str, str] | None = None,
    actions: ActionSettings | None = None,
    kubernetes_routes: list[BaseRoute] | None = None,
    tls: TlsListener | None = None,
    access_log: Path | None = None,
    authenticate: Authenticator | None = None,
) -> FastAPI:
    """The API over ``backend``; ``traces`` answers `/v1/traces`, fed by ``receiver`` (started with the backend).

    With ``tokens`` (token -> scope), every route but the open ones needs a bearer token (see server/auth.py);
    ``authenticate`` accepts the tokens of the cluster's ServiceAccounts, for its Kubernetes API.
    """
    register_validators()
    chaos = ChaosController(backend, backend.fault_runtime())
    service_metrics = ServiceMetricsScraper(backend)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await backend.start()
        chaos.start()
        service_metrics.start()
        if tls is not None:
            await tls.start(app)
        if receiver is not None:
            try:
                await receiver.start()
            except OSError:
                log.warning("no trace receiver: %s", receiver.error)
        try:
            yield
        finally:
            if tls is not None:
                await tls.stop()
            await grading_routes.stop_workloads(grading_routes.workloads_of_app(app))
            if receiver is not None:
                await receiver.stop()
            await service_metrics.stop()
            await chaos.stop()
            await backend.stop()
            if traces is not None:
                traces.close()

    app = FastAPI(title="remedlab", version=__version__, lifespan=lifespan)
    if tokens is not None:
        app.add_middleware(BearerAuth, tokens=tokens, authenticate=authenticate)
    if access_log is not None:
        app.add_middleware(AccessLog, path=access_log)  # outermost: requests refused by auth are recorded too
    app.state.backend = backend
    app.state.chaos = chaos
    app.state.traces = traces
    app.state.otlp_receiver = receiver
    app.state.service_metrics = service_metrics
    app.state.actions = actions

    @app.exception_handler(ClusterError)
    async def cluster_error(_request: Request, exc: ClusterError) -> JSONResponse:
        return JSONResponse(exc.status(), status_code=exc.code)

    @app.exception_handler(Exception)
    async def internal_error(request: Request, exc: Exception) -> JSONResponse:
        log.error("%s %s failed", request.method, request.url.path, exc_info=exc)
        error = ClusterError(f"Internal error occurred: {type(exc).__name__}: {' '.join(str(exc).split())[:300]}")
        return JSONResponse(error.status(), status_code=error.code)

    @app.exception_handler(RequestValidationError)
    async def validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
        error = BadRequest(_describe_validation(exc))
        return JSONResponse(error.status(), status_code=error.code)

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    app.include_router(app_routes.router)
    app.include_router(chaos_routes.router)
    app.include_router(grading_routes.router)
    app.include_router(metrics_routes.router)
    app.include_router(remediation_routes.router)
    app.include_router(microremed_routes.router)
    app.include_router(trace_routes.router)  # before the cluster routes: `/v1/{resource}` catches any GET
    app.include_router(cluster_routes.router)
    app.router.routes.extend(kubernetes_routes or [])
    return app
