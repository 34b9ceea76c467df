"""Social Network's services as JSON over HTTP: method paths, calling another service, reading its
answer, readiness on a service's own stores.

A Thrift method ``Service.Method`` is ``POST /social_network.<Service>/<Method>`` (the IDL's
namespace, service and method names) on port 9090 of the Service that runs it
(``text-service``); the request body holds the method's arguments by name (``req_id``, ``text``, …;
the trace context goes as the ``traceparent`` header instead of a ``carrier`` argument) and the
answer is a JSON object. A Thrift ``ServiceException`` is an error answer, ``{"error": message}``
(see :mod:`remedlab.apps.kit.rpc`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from aiohttp import web

from remedlab.apps.kit.client import ServiceClient, UpstreamError
from remedlab.apps.kit.database import Database
from remedlab.apps.kit.health import ReadyCheck
from remedlab.apps.kit.rpc import BadRequest, Method, use_client
from remedlab.apps.kit.structured_log import Logger

NAMESPACE = "social_network"
PORT = 9090
CALL_TIMEOUT = 3.0
"""Calls to a service that only uses its stores."""
NESTED_CALL_TIMEOUT = 5.0
"""Calls to a service that calls others in turn (text, the timelines, compose-post)."""
READ_RETRIES = 1
"""Reads are tried once more after a failed attempt; writes are not repeated."""
CONNECTION_KEEPALIVE_S = 10.0
"""How long a connection to another service is reused: the original's client pools retire a Thrift
connection older than ``keepalive_ms`` (10000 in its service-config.json)."""

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Peer:
    """A service another calls: its Kubernetes Service and its Thrift service."""

    service: str
    thrift: str

    def path(self, method: str) -> str:
        return rpc_path(self.thrift, method)


COMPOSE_POST = Peer("compose-post-service", "ComposePostService")
HOME_TIMELINE = Peer("home-timeline-service", "HomeTimelineService")
MEDIA = Peer("media-service", "MediaService")
POST_STORAGE = Peer("post-storage-service", "PostStorageService")
SOCIAL_GRAPH = Peer("social-graph-service", "SocialGraphService")
TEXT = Peer("text-service", "TextService")
UNIQUE_ID = Peer("unique-id-service", "UniqueIdService")
URL_SHORTEN = Peer("url-shorten-service", "UrlShortenService")
USER_MENTION = Peer("user-mention-service", "UserMentionService")
USER = Peer("user-service", "UserService")
USER_TIMELINE = Peer("user-timeline-service", "UserTimelineService")


def rpc_path(thrift_service: str, method: str) -> str:
    """``/social_network.TextService/ComposeText`` for ``("TextService", "ComposeText")``."""
    return f"/{NAMESPACE}.{thrift_service}/{method}"


def methods(thrift_service: str, table: Mapping[str, Method]) -> dict[str, Method]:
    """The paths of a service's methods, for :func:`remedlab.apps.kit.rpc.service_app`."""
    return {rpc_path(thrift_service, name): method for name, method in table.items()}


def use_client_pool(app: web.Application, log: Logger) -> None:
    """The service's client for calling others (``app[CLIENT]``), its connections retired as the
    original's client pools retire theirs."""
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


def unique(values: Sequence[T]) -> list[T]:
    """``values`` without repeats, in order."""
    return list(dict.fromkeys(values))
