"""The entry point of every Train-Ticket image: ``python -m remedlab.apps.train_ticket.run ts-<name>``.

It makes (and seeds) the service's tables before it listens, as the original's
Spring services connect to their database before they open their port: a TCP
readiness probe passes only once the service can answer.
"""

from __future__ import annotations

import functools
import importlib
import os
import sys
from collections.abc import AsyncIterator
from typing import Any

from aiohttp import web

from remedlab.apps.kit.client import UpstreamError
from remedlab.apps.kit.health import add_health_routes
from remedlab.apps.kit.messaging import Broker, BrokerAddress
from remedlab.apps.kit.metrics import add_metrics_route
from remedlab.apps.kit.serving import run_service
from remedlab.apps.kit.store_calls import StoreError
from remedlab.apps.kit.structured_log import Logger, get_logger
from remedlab.apps.kit.tracing import current_span
from remedlab.apps.train_ticket.docstore import DocStore, wait_until_ready
from remedlab.apps.train_ticket.service_base import (
    Context,
    Program,
    Refused,
    Route,
    ServiceSpec,
    refused,
    service_specs,
)

DATABASE_WAIT_S = 120.0


def program_of(spec: ServiceSpec) -> Program:
    module = importlib.import_module(f"remedlab.apps.train_ticket.{spec.module}")
    program = module.program(spec)
    assert isinstance(program, Program)
    return program


def _welcome(spec: ServiceSpec) -> Route:
    words = " ".join(w.capitalize() for w in spec.short.split("-"))

    async def welcome(ctx: Context, request: web.Request) -> Any:
        return f"Welcome to [ {words} Service ] !"

    prefix = spec.prefixes[0] if spec.prefixes else spec.short
    return Route("GET", f"/api/v1/{prefix}/welcome", welcome)


def _handler(ctx: Context, route: Route, log: Logger) -> Any:
    async def handle(request: web.Request) -> web.StreamResponse:
        try:
            result = await route.handler(ctx, request)
        except Refused as exc:
            return web.json_response(refused(exc.message))
        except (StoreError, UpstreamError) as exc:
            span = current_span.get()
            if span is not None:
                span.record_exception(exc)
            log.error(f"{route.method} {route.path} failed: {exc}", exc=exc)
            return web.json_response(refused(str(exc)), status=500)
        if isinstance(result, web.StreamResponse):
            return result
        return web.json_response(result)

    return handle


def create_app(spec: ServiceSpec) -> web.Application:
    log = get_logger(spec.name)
    program = program_of(spec)
    store = DocStore(spec.mysql) if spec.mysql else None
    broker = Broker(BrokerAddress.from_env(os.environ), log) if spec.rabbitmq else None
    ctx = Context(spec, store, broker=broker, log=log)
    app = web.Application()
    welcome = [_welcome(spec)] if spec.prefixes else []
    for route in [*program.routes, *welcome]:
        app.router.add_route(route.method, route.path, _handler(ctx, route, log))
    add_health_routes(app)
    add_metrics_route(app)

    async def lifecycle(app: web.Application) -> AsyncIterator[None]:
        if store is not None:
            await wait_until_ready(store, program.tables, log, DATABASE_WAIT_S)
        if broker is not None:
            for queue, handler in program.consumers.items():
                broker.consume(queue, functools.partial(handler, ctx))
        yield
        if broker is not None:
            await broker.close()
        await ctx.client.close()
        if store is not None:
            await store.close()

    app.cleanup_ctx.append(lifecycle)
    return app


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    specs = service_specs()
    if len(args) != 1 or args[0] not in specs:
        print(f"usage: run <service>, one of: {', '.join(specs)}", file=sys.stderr)
        raise SystemExit(2)
    spec = specs[args[0]]
    try:
        app = create_app(spec)
    except StoreError as exc:
        get_logger(spec.name).error(f"cannot start: {exc}", exc=exc)
        raise SystemExit(1) from None
    run_service(app, service=spec.name, port=spec.port)


if __name__ == "__main__":
    main()
