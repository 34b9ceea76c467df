"""The shop's RPC methods as JSON over HTTP: paths, request fields, error answers, service apps.

A method ``Service.Method`` is ``POST /hipstershop.Service/Method`` with a JSON
object as body; it answers a JSON object, or ``{"error": message}`` with a
status that says what went wrong (400 bad argument, 404 not found, 500 failure).
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from typing import Any

from aiohttp import web

from remedlab.apps.kit.client import ServiceClient, UpstreamError
from remedlab.apps.kit.discovery import is_ip
from remedlab.apps.kit.health import ReadyCheck, add_health_routes
from remedlab.apps.kit.metrics import add_metrics_route
from remedlab.apps.kit.serving import QUIET_PATHS, run_service
from remedlab.apps.kit.store_calls import StoreError
from remedlab.apps.kit.structured_log import Logger, get_logger
from remedlab.apps.online_boutique.money import Money, MoneyError

PACKAGE = "hipstershop"

Body = dict[str, Any]
Handler = Callable[[web.Request, Body], Awaitable[Mapping[str, Any]]]


def rpc_path(service: str, method: str) -> str:
    """``/hipstershop.CartService/AddItem`` for ``("CartService", "AddItem")``."""
    return f"/{PACKAGE}.{service}/{method}"


class RpcError(Exception):
    """An error answer: ``status`` and a message for the caller."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def invalid(message: str) -> RpcError:
    return RpcError(400, message)


def _wrap(handler: Handler) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def handle(request: web.Request) -> web.Response:
        try:
            body = await request.json() if request.can_read_body else {}
        except ValueError:
            return web.json_response({"error": "the request body is not JSON"}, status=400)
        if not isinstance(body, dict):
            return web.json_response({"error": "the request body must be a JSON object"}, status=400)
        try:
            answer = await handler(request, body)
        except RpcError as exc:
            return web.json_response({"error": exc.message}, status=exc.status)
        return web.json_response(answer)

    return handle


def add_method(app: web.Application, service: str, method: str, handler: Handler) -> None:
    """Serve ``service.method`` with ``handler``, which gets the decoded body."""
    app.router.add_post(rpc_path(service, method), _wrap(handler))


def service_app(
    methods: Mapping[tuple[str, str], Handler], *, ready_check: ReadyCheck | None = None
) -> web.Application:
    """An app serving ``methods`` plus ``/healthz``, ``/readyz`` and ``/metrics``."""
    app = web.Application()
    for (service, method), handler in methods.items():
        add_method(app, service, method, handler)
    add_health_routes(app, ready_check=ready_check)
    add_metrics_route(app)
    return app


def listen_port(default: int, environ: Mapping[str, str] | None = None) -> int:
    """The port from ``PORT``, as the shop's services read it, else ``default``."""
    value = (os.environ if environ is None else environ).get("PORT", "").strip()
    return int(value) if value else default


class ConfigError(RuntimeError):
    """The service's environment lacks a setting it needs."""


def serve(
    factory: Callable[[], web.Application],
    service: str,
    default_port: int,
    *,
    quiet_paths: Iterable[str] = QUIET_PATHS,
) -> None:
    """Build the app with ``factory`` and serve it; a configuration error is logged and exits 1."""
    try:
        app = factory()
    except (ConfigError, StoreError) as exc:
        get_logger(service).error(f"cannot start: {exc}", exc=exc)
        raise SystemExit(1) from None
    run_service(app, service=service, port=listen_port(default_port), quiet_paths=quiet_paths)


# --------------------------------------------------------------------------- request fields


def field_str(body: Mapping[str, Any], name: str, *, required: bool = True) -> str:
    value = body.get(name, "")
    if not isinstance(value, str):
        raise invalid(f"{name} must be a string")
    if required and not value:
        raise invalid(f"{name} is required")
    return value


def field_int(body: Mapping[str, Any], name: str) -> int:
    value = body.get(name, 0)
    if isinstance(value, bool) or not isinstance(value, int):
        raise invalid(f"{name} must be an integer")
    return value


def field_object(body: Mapping[str, Any], name: str) -> dict[str, Any]:
    value = body.get(name)
    if not isinstance(value, dict):
        raise invalid(f"{name} must be an object")
    return value


def field_list(body: Mapping[str, Any], name: str) -> list[Any]:
    value = body.get(name, [])
    if not isinstance(value, list):
        raise invalid(f"{name} must be a list")
    return value


def field_str_list(body: Mapping[str, Any], name: str) -> list[str]:
    values = field_list(body, name)
    if not all(isinstance(v, str) for v in values):
        raise invalid(f"{name} must be a list of strings")
    return values


def field_money(body: Mapping[str, Any], name: str) -> Money:
    try:
        return Money.from_json(body.get(name))
    except MoneyError as exc:
        raise invalid(f"{name}: {exc}") from None


def env_address(variable: str, environ: Mapping[str, str] | None = None) -> str:
    """A peer's ``host:port`` from its ``*_ADDR`` variable; a missing one stops the service at start."""
    value = (os.environ if environ is None else environ).get(variable, "").strip()
    if not value:
        raise ConfigError(f"{variable} is not set: it names the service to call (host:port)")
    return value


# --------------------------------------------------------------------------- calling other services

CALL_TIMEOUT = 5.0
"""Seconds a call may take: generous, since the shop's own RPCs carry no deadline and a slow peer
(a network delay, a busy node) should make pages slow before it makes them fail."""
CLIENT = web.AppKey("client", ServiceClient)


def use_client(app: web.Application, logger: Logger) -> None:
    """Give ``app`` one keep-alive :class:`ServiceClient` (``app[CLIENT]``) for its whole life."""

    async def client_context(app: web.Application) -> AsyncIterator[None]:
        app[CLIENT] = ServiceClient(logger=logger)
        yield
        await app[CLIENT].close()

    app.cleanup_ctx.append(client_context)


async def call(
    client: ServiceClient,
    address: str,
    service: str,
    method: str,
    body: Mapping[str, Any],
    *,
    timeout: float = CALL_TIMEOUT,
) -> dict[str, Any]:
    """Call ``service.method`` at ``address`` (``host:port``) and return its answer object."""
    answer = await client.post_json(address, rpc_path(service, method), body, timeout=timeout)
    if not isinstance(answer, dict):
        raise UpstreamError(peer_name(address), reason=f"{service}/{method} answered something else than an object")
    return answer


def peer_name(address: str) -> str:
    """The service a ``host:port`` address names: ``cartservice`` for ``cartservice:7070``; an IP stays whole."""
    host = address.rpartition(":")[0].strip("[]") or address
    return host if is_ip(host) else host.split(".", 1)[0]
