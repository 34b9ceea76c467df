"""The entry points: ts-gateway-service (18888) and ts-ui-dashboard (8080).

The gateway sends ``/api/v1/<prefix>/...`` to the service services.yaml names for that prefix
(the original's Spring Cloud Gateway routes), keeping the method, query, body and the
``Authorization`` header; it answers 404 for an unknown prefix and 502 when the service cannot be
reached. The dashboard serves its page at ``/`` and sends ``/api/...`` to the gateway, as the
original's nginx does.
"""

from __future__ import annotations

from typing import Any

import aiohttp
from aiohttp import web

from remedlab.apps.kit.client import Method
from remedlab.apps.kit.discovery import ServiceNotFoundError, service_address
from remedlab.apps.kit.tracing import TRACEPARENT, SpanKind, StatusCode, start_span
from remedlab.apps.train_ticket.service_base import Context, Program, Route, ServiceSpec, service_specs

METHODS: tuple[Method, ...] = ("GET", "POST", "PUT", "DELETE")
FORWARDED_HEADERS = ("Authorization", "Content-Type", "Cookie")
TIMEOUT_S = 30.0
PAGE = (
    "<!doctype html><html><head><title>Train Ticket</title></head><body>"
    "<h1>Train Ticket</h1><p>The booking API is under <code>/api/v1/</code>.</p></body></html>"
)


def route_table() -> dict[str, str]:
    """Path prefix (``travelservice``) → service (``ts-travel-service``)."""
    return {prefix: spec.name for spec in service_specs().values() for prefix in spec.prefixes}


def target_of(path: str, table: dict[str, str]) -> str | None:
    parts = path.split("/")
    if len(parts) < 4 or parts[1] != "api" or parts[2] != "v1":
        return None
    return table.get(parts[3])


_session: aiohttp.ClientSession | None = None


def _get_session() -> aiohttp.ClientSession:
    global _session
    if _session is None or _session.closed:
        _session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=TIMEOUT_S))
    return _session


async def forward(request: web.Request, service: str) -> web.Response:
    try:
        host, port = service_address(service)
    except ServiceNotFoundError as exc:
        return web.json_response({"status": 0, "msg": str(exc), "data": None}, status=502)
    span = start_span(
        f"{request.method} {service}",
        kind=SpanKind.CLIENT,
        attributes={"http.request.method": request.method, "peer.service": service, "url.path": request.path},
    )
    headers = {h: request.headers[h] for h in FORWARDED_HEADERS if h in request.headers}
    headers[TRACEPARENT] = span.context.header()
    body = await request.read() if request.can_read_body else None
    url = f"http://{host}:{port}{request.rel_url}"
    try:
        async with _get_session().request(request.method, url, headers=headers, data=body) as answer:
            payload = await answer.read()
            span.set_attribute("http.response.status_code", answer.status)
            if answer.status >= 500:
                span.set_status(StatusCode.ERROR, f"{service} answered {answer.status}")
            return web.Response(body=payload, status=answer.status, content_type=answer.content_type)
    except (aiohttp.ClientError, TimeoutError) as exc:
        span.record_exception(exc)
        reason = f"{service} cannot be reached: {type(exc).__name__} {exc}".strip()
        return web.json_response({"status": 0, "msg": reason, "data": None}, status=502)
    finally:
        span.end()


def program(spec: ServiceSpec) -> Program:
    if spec.name == "ts-ui-dashboard":

        async def page(ctx: Context, request: web.Request) -> Any:
            return web.Response(text=PAGE, content_type="text/html")

        async def to_gateway(ctx: Context, request: web.Request) -> Any:
            return await forward(request, "ts-gateway-service")

        return Program([Route("GET", "/", page), *(Route(m, "/api/{tail:.*}", to_gateway) for m in METHODS)])

    table = route_table()

    async def gateway(ctx: Context, request: web.Request) -> Any:
        service = target_of(request.path, table)
        if service is None:
            return web.json_response({"status": 0, "msg": f"no route for {request.path}", "data": None}, status=404)
        return await forward(request, service)

    return Program([Route(m, "/api/{tail:.*}", gateway) for m in METHODS])
