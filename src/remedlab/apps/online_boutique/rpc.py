"""The shop's RPC methods as JSON over HTTP: paths, request fields, calling other services.

A method ``Service.Method`` is ``POST /hipstershop.Service/Method`` with a JSON
object as body; it answers a JSON object, or ``{"error": message}`` with a
status that says what went wrong (400 bad argument, 404 not found, 500 failure):
see :mod:`remedlab.apps.kit.rpc`, which serves them.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from remedlab.apps.kit.client import ServiceClient, UpstreamError
from remedlab.apps.kit.discovery import is_ip
from remedlab.apps.kit.rpc import BadRequest, ConfigError, Method
from remedlab.apps.online_boutique.money import Money, MoneyError

PACKAGE = "hipstershop"

Body = dict[str, Any]


def rpc_path(service: str, method: str) -> str:
    """``/hipstershop.CartService/AddItem`` for ``("CartService", "AddItem")``."""
    return f"/{PACKAGE}.{service}/{method}"


def methods(table: Mapping[tuple[str, str], Method]) -> dict[str, Method]:
    """The paths of ``(service, method)`` pairs, for :func:`remedlab.apps.kit.rpc.service_app`."""
    return {rpc_path(service, method): handler for (service, method), handler in table.items()}


def listen_port(default: int, environ: Mapping[str, str] | None = None) -> int:
    """The port from ``PORT``, as the shop's services read it, else ``default``."""
    value = (os.environ if environ is None else environ).get("PORT", "").strip()
    return int(value) if value else default


# --------------------------------------------------------------------------- request fields


def field_str(body: Mapping[str, Any], name: str, *, required: bool = True) -> str:
    value = body.get(name, "")
    if not isinstance(value, str):
        raise BadRequest(f"{name} must be a string")
    if required and not value:
        raise BadRequest(f"{name} is required")
    return value


def field_int(body: Mapping[str, Any], name: str) -> int:
    value = body.get(name, 0)
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadRequest(f"{name} must be an integer")
    return value


def field_object(body: Mapping[str, Any], name: str) -> dict[str, Any]:
    value = body.get(name)
    if not isinstance(value, dict):
        raise BadRequest(f"{name} must be an object")
    return value


def field_list(body: Mapping[str, Any], name: str) -> list[Any]:
    value = body.get(name, [])
    if not isinstance(value, list):
        raise BadRequest(f"{name} must be a list")
    return value


def field_str_list(body: Mapping[str, Any], name: str) -> list[str]:
    values = field_list(body, name)
    if not all(isinstance(v, str) for v in values):
        raise BadRequest(f"{name} must be a list of strings")
    return values


def field_money(body: Mapping[str, Any], name: str) -> Money:
    try:
        return Money.from_json(body.get(name))
    except MoneyError as exc:
        raise BadRequest(f"{name}: {exc}") from None


def env_address(variable: str, environ: Mapping[str, str] | None = None) -> str:
    """A peer's ``host:port`` from its ``*_ADDR`` variable; a missing one stops the service at start."""
    value = (os.environ if environ is None else environ).get(variable, "").strip()
    if not value:
        raise ConfigError(f"{variable} is not set: it names the service to call (host:port)")
    return value


# --------------------------------------------------------------------------- calling other services

CALL_TIMEOUT = 20.0
"""Seconds a call may take: generous, since the shop's own RPCs carry no deadline and a slow peer
(a network delay, a busy node) should make pages slow before it makes them fail. A 1 s delay on a
service's pod costs a call to it up to five delays when the call opens a connection to it and it
opens one to its store (two handshakes, the store client's greeting, the command, the answer)."""


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
