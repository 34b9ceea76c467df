"""The DeathStarBench apps' front ends (the originals' nginx with Lua handlers): request fields from a
form, a query string or a JSON body, a request id per request, and the answers of a failed request.

A missing or malformed field answers 400 (``Incomplete arguments``, or what is wrong); a failed call
to a service answers 500 with the handler's message and the callee's reason. Each request gets a
``req_id``, 60 random bits, as the originals take 15 hex digits of nginx's request id.
"""

from __future__ import annotations

import json
import random
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from aiohttp import web

from remedlab.apps.kit.client import ServiceClient, UpstreamError
from remedlab.apps.kit.rpc import CLIENT, BadRequest
from remedlab.apps.kit.structured_log import Logger
from remedlab.apps.kit.tracing import current_span

INCOMPLETE = "Incomplete arguments"

Fields = Mapping[str, Any]
Action = Callable[[ServiceClient, Fields], Awaitable[web.Response]]
Handler = Callable[[web.Request], Awaitable[web.Response]]

_random = random.SystemRandom()


def request_id() -> int:
    """A request's id: 60 random bits."""
    return _random.getrandbits(60)


def require(fields: Fields, names: tuple[str, ...]) -> None:
    if any(fields.get(name) in (None, "") for name in names):
        raise BadRequest(INCOMPLETE)


def text_answer(text: str, status: int = 200) -> web.Response:
    return web.Response(text=text + "\n", status=status, content_type="text/plain")


async def parameters(request: web.Request) -> dict[str, Any]:
    """The query string's fields, and a POSTed form's or JSON object's where the query does not set them."""
    fields: dict[str, Any] = dict(request.query.items())
    if request.method != "POST" or not request.can_read_body:
        return fields
    if request.content_type == "application/json":
        try:
            body = json.loads(await request.read())
        except (ValueError, UnicodeDecodeError):
            raise BadRequest("the body is not JSON") from None
        if not isinstance(body, dict):
            raise BadRequest("the body must be a JSON object")
        for key, value in body.items():
            fields.setdefault(key, value)
        return fields
    form = await request.post()
    for key, value in form.items():
        if isinstance(value, str):
            fields.setdefault(key, value)
    return fields


def handler(log: Logger, action: Action, failure: str) -> Handler:
    """A route running ``action``: 400 for bad fields, 500 ``<failure>: <reason>`` for a failed call."""

    async def handle(request: web.Request) -> web.Response:
        try:
            return await action(request.app[CLIENT], await parameters(request))
        except BadRequest as exc:
            log.warning(exc.message, path=request.path)
            return text_answer(exc.message, 400)
        except UpstreamError as exc:
            reason = exc.detail or exc.reason
            span = current_span.get()
            if span is not None:
                span.record_exception(exc)
            log.error(f"{failure}: {reason}", exc=exc, upstream=exc.service, status=exc.status, path=request.path)
            return text_answer(f"{failure}: {reason}", 500)

    return handle
