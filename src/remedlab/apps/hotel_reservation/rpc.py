"""Serving a Hotel Reservation service: JSON methods, the stores and clients it holds, failure answers.

A method takes the request's JSON object and returns what to answer as JSON.
Failures answer one JSON object: 400 ``{"error"}`` for a bad request; 500
``{"error", "store"}`` or ``{"error", "service"}`` when a store or another
service fails, after an error log line naming it and an exception recorded on
the request's span.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any

from aiohttp import web

from remedlab.apps.hotel_reservation.shared import BadRequest
from remedlab.apps.kit.cache import Cache
from remedlab.apps.kit.client import ServiceClient, UpstreamError
from remedlab.apps.kit.database import Database
from remedlab.apps.kit.health import ReadyCheck
from remedlab.apps.kit.serving import run_service
from remedlab.apps.kit.store_calls import StoreError
from remedlab.apps.kit.structured_log import Logger, get_logger
from remedlab.apps.kit.tracing import current_span

DATABASE = web.AppKey("database", Database)
CACHE = web.AppKey("cache", Cache)
CLIENT = web.AppKey("client", ServiceClient)

Method = Callable[[web.Application, dict[str, Any]], Awaitable[Any]]
Handler = Callable[[web.Request], Awaitable[web.Response]]


def _record_on_span(exc: BaseException) -> None:
    span = current_span.get()
    if span is not None:
        span.record_exception(exc)


async def answer(log: Logger, work: Awaitable[Any]) -> web.Response:
    """``work``'s result as JSON, or the answer its failure calls for."""
    try:
        result = await work
    except BadRequest as exc:
        return web.json_response({"error": str(exc)}, status=400)
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
    try:
        body = await request.json()
    except ValueError:
        raise BadRequest("the body must be a JSON object") from None
    if not isinstance(body, dict):
        raise BadRequest("the body must be a JSON object")
    return body


def json_method(log: Logger, method: Method) -> Handler:
    """A POST handler that runs ``method`` on the request's JSON body."""

    async def run(request: web.Request) -> Any:
        return await method(request.app, await json_body(request))

    async def handle(request: web.Request) -> web.Response:
        return await answer(log, run(request))

    return handle


# --------------------------------------------------------------------------- upstream answers


def answer_list(reply: Any, key: str, service: str) -> list[Any]:
    """The list under ``key`` in another service's answer."""
    value = reply.get(key) if isinstance(reply, dict) else None
    if not isinstance(value, list):
        raise UpstreamError(service, reason=f"answer has no {key!r} list")
    return value


def answer_flag(reply: Any, key: str, service: str) -> bool:
    """The true-or-false under ``key`` in another service's answer."""
    value = reply.get(key) if isinstance(reply, dict) else None
    if not isinstance(value, bool):
        raise UpstreamError(service, reason=f"answer has no {key!r} flag")
    return value


def answer_ids(reply: Any, service: str, key: str = "hotelIds") -> list[str]:
    """The hotel ids in another service's answer."""
    ids = answer_list(reply, key, service)
    if not all(isinstance(item, str) for item in ids):
        raise UpstreamError(service, reason=f"{key!r} holds something other than hotel ids")
    return ids


# --------------------------------------------------------------------------- what a service holds


def use_database(app: web.Application) -> Database:
    """The service's database (``DATABASE_*`` variables), closed when the app stops."""
    database = Database.from_env()
    app[DATABASE] = database

    async def close(_: web.Application) -> None:
        await database.close()

    app.on_cleanup.append(close)
    return database


def use_cache(app: web.Application) -> Cache:
    """The service's memcached (``MEMCACHED_ADDR``), closed when the app stops."""
    cache = Cache.from_env()
    app[CACHE] = cache

    async def close(_: web.Application) -> None:
        await cache.close()

    app.on_cleanup.append(close)
    return cache


def use_client(app: web.Application, log: Logger) -> None:
    """A :class:`ServiceClient` for calling other services, made inside the running loop."""

    async def lifecycle(app: web.Application) -> AsyncIterator[None]:
        app[CLIENT] = ServiceClient(logger=log)
        yield
        await app[CLIENT].close()

    app.cleanup_ctx.append(lifecycle)


def tables_readable(database: Database, *tables: str) -> ReadyCheck:
    """A check that passes when the service's role can read each of ``tables``."""

    async def check() -> bool:
        for table in tables:
            await database.check(f"SELECT 1 FROM {table} LIMIT 1")
        return True

    return check


async def cache_all(cache: Cache, values: Mapping[str, Any]) -> None:
    """Store every key of ``values`` in ``cache``, concurrently."""
    await asyncio.gather(*(cache.set(key, value) for key, value in values.items()))


def serve(service: str, port: int, create_app: Callable[[], web.Application]) -> None:
    """Build the app and serve it; a configuration error ends the process with exit code 1."""
    try:
        app = create_app()
    except StoreError as exc:
        get_logger(service).error(f"cannot start: {exc}", exc=exc)
        raise SystemExit(1) from None
    run_service(app, service=service, port=port)
