"""Thrift services as JSON over HTTP, as the DeathStarBench apps run them: method paths, calling another
service, reading its answer, readiness on a service's own stores.

A Thrift method ``Service.Method`` of the IDL namespace ``ns`` is ``POST /<ns>.<Service>/<Method>`` on
the port of the Kubernetes Service that runs it; the request body holds the method's arguments by name
(``req_id``, …; the trace context goes as the ``traceparent`` header instead of a ``carrier``
argument) and the answer is a JSON object. A Thrift ``ServiceException`` is an error answer,
``{"error": message}`` (see :mod:`remedlab.apps.kit.rpc`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from aiohttp import web

from remedlab.apps.kit.cache import Cache
from remedlab.apps.kit.client import ServiceClient, UpstreamError
from remedlab.apps.kit.database import Database
from remedlab.apps.kit.health import ReadyCheck, all_of, latched
from remedlab.apps.kit.rpc import BadRequest, Method, service_app, use_cache, use_client, use_database
from remedlab.apps.kit.structured_log import Logger

CALL_TIMEOUT = 3.0
"""Calls to a service that only uses its stores."""
NESTED_CALL_TIMEOUT = 5.0
"""Calls to a service that calls others in turn."""
READ_RETRIES = 1
"""Reads are tried once more after a failed attempt; writes are not repeated."""
CONNECTION_KEEPALIVE_S = 10.0
"""How long a connection to another service is reused: the originals' client pools retire a Thrift
connection older than ``keepalive_ms`` (10000 in their service-config.json)."""

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Peer:
    """A service another calls: its Kubernetes Service, its Thrift service and the IDL's namespace."""

    service: str
    thrift: str
    namespace: str

    def path(self, method: str) -> str:
        return rpc_path(self.namespace, self.thrift, method)


def rpc_path(namespace: str, thrift_service: str, method: str) -> str:
    """``/social_network.TextService/ComposeText`` for ``("social_network", "TextService", "ComposeText")``."""
    return f"/{namespace}.{thrift_service}/{method}"


def methods(peer: Peer, table: Mapping[str, Method]) -> dict[str, Method]:
    """The paths of ``peer``'s methods, for :func:`remedlab.apps.kit.rpc.service_app`."""
    return {peer.path(name): method for name, method in table.items()}


def use_client_pool(app: web.Application, log: Logger) -> None:
    """The service's client for calling others (``app[CLIENT]``), its connections retired as the
    originals' client pools retire theirs."""
    use_client(app, log, max_connection_age=CONNECTION_KEEPALIVE_S)


async def call(
    client: ServiceClient,
    peer: Peer,
    method: str,
    body: Mapping[str, Any],
    *,
    timeout: float = CALL_TIMEOUT,
    read: bool = False,
) -> dict[str, Any]:
    """Call ``peer``'s ``method`` with ``body``; its answer, which must be a JSON object."""
    reply = await client.post_json(
        peer.service, peer.path(method), dict(body), timeout=timeout, retries=READ_RETRIES if read else 0
    )
    if not isinstance(reply, dict):
        raise UpstreamError(peer.service, reason="the answer is not a JSON object")
    return reply


def read_answer(reply: Mapping[str, Any], peer: Peer, reader: Callable[[Mapping[str, Any]], T]) -> T:
    """``reader`` applied to another service's answer; an answer it finds malformed is that service's fault."""
    try:
        return reader(reply)
    except BadRequest as exc:
        raise UpstreamError(peer.service, reason=f"malformed answer: {exc.message}") from None


def answer_list(reply: Mapping[str, Any], key: str, peer: Peer) -> list[Any]:
    value = reply.get(key)
    if not isinstance(value, list):
        raise UpstreamError(peer.service, reason=f"answer has no {key!r} list")
    return value


def answer_objects(reply: Mapping[str, Any], key: str, peer: Peer, parse: Callable[[Any], T]) -> list[T]:
    """The list under ``key``, each item read by ``parse``."""
    items = answer_list(reply, key, peer)
    return read_answer(reply, peer, lambda _: [parse(item) for item in items])


def tables_readable(database: Database, *tables: str) -> ReadyCheck:
    """A check that passes when the service's role can read each of ``tables``."""

    async def check() -> bool:
        for table in tables:
            await database.check(f"SELECT 1 FROM {table} LIMIT 1")
        return True

    return check


def stored_service_app(log: Logger, handlers: Mapping[str, Method], table: str) -> web.Application:
    """A service with its database and its cache, Ready once its role can read ``table`` and the cache
    answers (the check latches: later failures show in the service's answers, not its readiness)."""
    database, cache = Database.from_env(), Cache.from_env()
    ready = latched(all_of(tables_readable(database, table), cache.check))
    app = service_app(log, handlers, ready_check=ready)
    use_database(app, database)
    use_cache(app, cache)
    return app


def unique(values: Sequence[T]) -> list[T]:
    """``values`` without repeats, in order."""
    return list(dict.fromkeys(values))
