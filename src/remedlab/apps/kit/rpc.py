"""Services that answer JSON methods, the way the originals answer gRPC calls.

A method ``POST /<package>.<Service>/<Method>`` takes the request's JSON object
and returns what to answer as JSON. Failures answer one JSON object with a
status that says what went wrong:

- :class:`RpcError` (and :class:`BadRequest`, 400): its status and ``{"error"}``;
- a failed store (:class:`StoreError`): 500 ``{"error", "store"}``;
- a failed call to another service (:class:`UpstreamError`): 500 ``{"error", "service"}``;

the last two after an error log line naming what failed and the exception
recorded on the request's span, so the failure shows in logs, metrics and traces.

The pieces a service holds (a client for other services, its database, its
cache) are made inside the running loop and closed when it stops.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from typing import Any

from aiohttp import web

from remedlab.apps.kit.cache import Cache
from remedlab.apps.kit.client import ServiceClient, UpstreamError
from remedlab.apps.kit.database import Database
from remedlab.apps.kit.health import ReadyCheck, add_health_routes
from remedlab.apps.kit.metrics import add_metrics_route
from remedlab.apps.kit.serving import QUIET_PATHS, run_service
from remedlab.apps.kit.store_calls import StoreError
from remedlab.apps.kit.structured_log import Logger, get_logger
from remedlab.apps.kit.tracing import current_span

Method = Callable[[web.Application, dict[str, Any]], Awaitable[Any]]
"""A JSON method: the service's app and the request's body, to the answer."""
Handler = Callable[[web.Request], Awaitable[web.Response]]

CLIENT = web.AppKey("client", ServiceClient)
DATABASE = web.AppKey("database", Database)
CACHE = web.AppKey("cache", Cache)


class RpcError(Exception):
    """An error answer: ``status`` and a one-line message for the caller."""

    status = 500

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        if status is not None:
            self.status = status


class BadRequest(RpcError, ValueError):
    """A request lacks a field or holds an invalid one; the message says which."""

    status = 400


class NotFound(RpcError):
    status = 404


class ConfigError(RuntimeError):
    """The service's environment lacks a setting it needs: it cannot start."""


def _record_on_span(exc: BaseException) -> None:
    span = current_span.get()
    if span is not None:
        span.record_exception(exc)


async def answer(log: Logger, work: Awaitable[Any]) -> web.Response:
    """``work``'s result as JSON, or the answer its failure calls for (see the module's doc)."""
    try:
        result = await work
    except RpcError as exc:
        return web.json_response({"error": exc.message}, status=exc.status)
    except StoreError as exc:
        _record_on_span(exc)
        log.error(f"{exc.store} failed: {exc.reason}", exc=exc, store=exc.store, kind=exc.kind)
        return web.json_response({"error": str(exc), "store": exc.store}, status=500)
    except UpstreamError as exc:
        _record_on_span(exc)
        log.error(
            f"call to {exc.service} failed: {exc.reason}",
            exc=exc,
            upstream=exc.service,
            status=exc.status,
            attempts=exc.attempts,
        )
        return web.json_response({"error": str(exc), "service": exc.service}, status=500)
    return web.json_response(result)


async def json_body(request: web.Request) -> dict[str, Any]:
    """The request's body, which must be a JSON object (an empty body is an empty object)."""
    if not request.can_read_body:
        return {}
    try:
        body = await request.json()
    except ValueError:
        raise BadRequest("the request body is not JSON") from None
    if not isinstance(body, dict):
        raise BadRequest("the request body must be a JSON object")
    return body


def json_method(log: Logger, method: Method) -> Handler:
    """A POST handler that runs ``method`` on the request's JSON body."""

    async def run(request: web.Request) -> Any:
        return await method(request.app, await json_body(request))

    async def handle(request: web.Request) -> web.Response:
        return await answer(log, run(request))

    return handle


def service_app(
    log: Logger, methods: Mapping[str, Method], *, ready_check: ReadyCheck | None = None
) -> web.Application:
    """An app serving ``methods`` (path -> method) plus ``/healthz``, ``/readyz`` and ``/metrics``."""
    app = web.Application()
    for path, method in methods.items():
        app.router.add_post(path, json_method(log, method))
    add_health_routes(app, ready_check=ready_check, log=log)
    add_metrics_route(app)
    return app


# --------------------------------------------------------------------------- what a service holds


def use_client(app: web.Application, log: Logger, *, max_connection_age: float | None = None) -> None:
    """One keep-alive :class:`ServiceClient` (``app[CLIENT]``) for calling other services; connections
    older than ``max_connection_age`` seconds are not reused (by default they are while in use)."""

    async def lifecycle(app: web.Application) -> AsyncIterator[None]:
        app[CLIENT] = ServiceClient(logger=log, max_connection_age=max_connection_age)
        yield
        await app[CLIENT].close()

    app.cleanup_ctx.append(lifecycle)


def use_database(app: web.Application, database: Database | None = None) -> Database:
    """The service's database (by default the one ``DATABASE_*`` describe) as ``app[DATABASE]``, closed when
    the app stops."""
    database = database or Database.from_env()
    app[DATABASE] = database

    async def close(_: web.Application) -> None:
        await database.close()

    app.on_cleanup.append(close)
    return database


def use_cache(app: web.Application, cache: Cache | None = None) -> Cache:
    """The service's memcached (by default the one ``MEMCACHED_ADDR`` names) as ``app[CACHE]``, closed when
    the app stops."""
    cache = cache or Cache.from_env()
    app[CACHE] = cache

    async def close(_: web.Application) -> None:
        await cache.close()

    app.on_cleanup.append(close)
    return cache


def serve(
    service: str,
    port: int,
    create_app: Callable[[], web.Application],
    *,
    quiet_paths: Iterable[str] = QUIET_PATHS,
) -> None:
    """Build the app and serve it; a configuration error is logged and ends the process with exit code 1."""
    try:
        app = create_app()
    except (ConfigError, StoreError) as exc:
        get_logger(service).error(f"cannot start: {exc}", exc=exc)
        raise SystemExit(1) from None
    run_service(app, service=service, port=port, quiet_paths=quiet_paths)
