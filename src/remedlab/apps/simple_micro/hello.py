"""hello-service: greets, with the time it asks time-service for (simple-micro, port 5000)."""

from __future__ import annotations

import os
import socket
from collections.abc import AsyncIterator

from aiohttp import web

from remedlab.apps.kit.client import ServiceClient, UpstreamError
from remedlab.apps.kit.health import add_health_routes
from remedlab.apps.kit.metrics import add_metrics_route
from remedlab.apps.kit.serving import run_service
from remedlab.apps.kit.structured_log import get_logger

SERVICE = "hello-service"
PORT = 5000
TIME_SERVICE = "time-service"
TIME_TIMEOUT = 2.0
TIME_RETRIES = 1

CLIENT = web.AppKey("client", ServiceClient)
log = get_logger(SERVICE)


def pod_name() -> str:
    return os.environ.get("HOSTNAME") or socket.gethostname()


async def hello(request: web.Request) -> web.Response:
    try:
        answer = await request.app[CLIENT].get_json(TIME_SERVICE, "/time", timeout=TIME_TIMEOUT, retries=TIME_RETRIES)
        if not isinstance(answer, dict) or "time" not in answer:
            raise UpstreamError(TIME_SERVICE, reason="answer has no 'time' field")
    except UpstreamError as exc:
        log.error("cannot get the time from time-service", exc=exc, upstream=TIME_SERVICE, status=exc.status)
        return web.json_response(
            {"error": "time-service unavailable", "detail": str(exc), "from": pod_name()}, status=503
        )
    return web.json_response({"message": "Hello, world!", "time": answer["time"], "from": pod_name()})


async def _client(app: web.Application) -> AsyncIterator[None]:
    app[CLIENT] = ServiceClient(logger=log)
    yield
    await app[CLIENT].close()


def create_app() -> web.Application:
    app = web.Application()
    app.cleanup_ctx.append(_client)
    app.router.add_get("/hello", hello)
    add_health_routes(app)
    add_metrics_route(app)
    return app


def main() -> None:
    run_service(create_app(), service=SERVICE, port=PORT)


if __name__ == "__main__":
    main()
