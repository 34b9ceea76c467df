"""The server application: FastAPI over a backend, with Kubernetes-style errors."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from remedlab import __version__
from remedlab.backends.base import Backend
from remedlab.chaos.controller import ChaosController, register_validators
from remedlab.cluster.errors import BadRequest, ClusterError
from remedlab.server import app_routes, chaos_routes, cluster_routes


def _describe_validation(exc: RequestValidationError) -> str:
    errors = exc.errors()
    if not errors:
        return "invalid request"
    first = errors[0]
    loc = ".".join(str(p) for p in first.get("loc", ()) if p != "body")
    return f"{loc or 'body'}: {first.get('msg', 'invalid value')}"


def create_app(backend: Backend) -> FastAPI:
    register_validators()
    chaos = ChaosController(backend, backend.fault_runtime())

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await backend.start()
        chaos.start()
        try:
            yield
        finally:
            await chaos.stop()
            await backend.stop()

    app = FastAPI(title="remedlab", version=__version__, lifespan=lifespan)
    app.state.backend = backend
    app.state.chaos = chaos

    @app.exception_handler(ClusterError)
    async def cluster_error(_request: Request, exc: ClusterError) -> JSONResponse:
        return JSONResponse(exc.status(), status_code=exc.code)

    @app.exception_handler(RequestValidationError)
    async def validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
        error = BadRequest(_describe_validation(exc))
        return JSONResponse(error.status(), status_code=error.code)

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    app.include_router(app_routes.router)
    app.include_router(chaos_routes.router)
    app.include_router(cluster_routes.router)
    return app
