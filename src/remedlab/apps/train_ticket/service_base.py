"""What every Train-Ticket service shares: its entry in services.yaml, the original's answer
envelope ``{"status", "msg", "data"}`` (status 1 is success, 0 a refusal), routes, and calls to
other services through the kit's client (trace propagation, retries, metrics).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

import yaml
from aiohttp import web

from remedlab.apps.kit.client import Method, ServiceClient
from remedlab.apps.kit.messaging import Broker, BrokerError
from remedlab.apps.kit.structured_log import Logger
from remedlab.apps.train_ticket.docstore import DocStore


@dataclass(frozen=True, slots=True)
class ServiceSpec:
    name: str
    port: int
    prefixes: tuple[str, ...]
    module: str
    mysql: str | None
    resource: str
    rabbitmq: bool = False
    consumes: str | None = None

    @property
    def short(self) -> str:
        """``auth`` for ``ts-auth-service``."""
        return self.name.removeprefix("ts-").removesuffix("-service")


@cache
def service_specs() -> dict[str, ServiceSpec]:
    text = resources.files("remedlab.apps.train_ticket").joinpath("services.yaml").read_text()
    entries = (yaml.safe_load(text) or {}).get("services") or {}
    return {
        name: ServiceSpec(
            name=name,
            port=int(entry["port"]),
            prefixes=tuple(entry.get("prefixes") or ()),
            module=str(entry["module"]),
            mysql=entry.get("mysql"),
            resource=str(entry.get("resource") or ""),
            rabbitmq=bool(entry.get("rabbitmq")),
            consumes=entry.get("consumes"),
        )
        for name, entry in entries.items()
    }


class Refused(Exception):
    """A business refusal: answered 200 with the envelope's status 0 and this message, as the original."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def ok(data: Any, msg: str = "Success") -> dict[str, Any]:
    return {"status": 1, "msg": msg, "data": data}


def refused(msg: str, data: Any = None) -> dict[str, Any]:
    return {"status": 0, "msg": msg, "data": data}


@dataclass
class Context:
    """What a handler reaches: its service's spec, its tables (if it has a database), a client, and the
    message broker (if it reaches one)."""

    spec: ServiceSpec
    store: DocStore | None
    client: ServiceClient = field(default_factory=ServiceClient)
    broker: Broker | None = None
    log: Logger | None = None

    @property
    def db(self) -> DocStore:
        if self.store is None:
            raise RuntimeError(f"{self.spec.name} has no database")
        return self.store

    async def call(self, service: str, method: Method, path: str, body: Any = None, *, timeout: float = 5.0) -> Any:
        """The ``data`` of another service's answer; a status-0 answer raises :class:`Refused`."""
        answer = await self.client.request_json(
            method,
            service,
            path,
            timeout=timeout,
            retries=1 if method == "GET" else 0,
            body=body,
        )
        if isinstance(answer, dict) and "status" in answer:
            if answer.get("status") != 1:
                raise Refused(str(answer.get("msg") or f"{service} refused"))
            return answer.get("data")
        return answer

    async def send(self, queue: str, message: Mapping[str, Any]) -> None:
        """Publish ``message`` to ``queue``; a failure is logged, not raised, as the original's senders
        catch it: the request that sent it still succeeds."""
        if self.broker is None:
            raise RuntimeError(f"{self.spec.name} reaches no message broker")
        try:
            await self.broker.publish(queue, message)
        except BrokerError as exc:
            if self.log is not None:
                self.log.error(f"cannot send to {queue}: {exc}", exc=exc)


Handler = Callable[[Context, web.Request], Awaitable[Any]]
MessageHandler = Callable[[Context, dict[str, Any]], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Route:
    method: Method
    path: str
    handler: Handler


@dataclass(frozen=True, slots=True)
class Program:
    """A service's routes, the tables it makes (and seeds) before it listens, and the queues it consumes."""

    routes: list[Route]
    tables: Mapping[str, list[dict[str, Any]]] = field(default_factory=dict)
    consumers: Mapping[str, MessageHandler] = field(default_factory=dict)


async def body_of(request: web.Request) -> dict[str, Any]:
    if not request.can_read_body:
        return {}
    try:
        body = await request.json()
    except ValueError:
        raise Refused("the request body is not JSON") from None
    if not isinstance(body, dict):
        raise Refused("the request body must be a JSON object")
    return body


def text(body: Mapping[str, Any], name: str) -> str:
    value = body.get(name)
    if value is None or (isinstance(value, str) and not value.strip()):
        raise Refused(f"missing {name}")
    return str(value).strip()


def number(body: Mapping[str, Any], name: str, default: float | None = None) -> float:
    value = body.get(name, default)
    try:
        return float(value)
    except (TypeError, ValueError):
        raise Refused(f"{name} must be a number") from None
