"""time-service: answers the current UTC time (simple-micro, port 5001)."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from aiohttp import web

from remedlab.apps.kit.health import add_health_routes
from remedlab.apps.kit.metrics import add_metrics_route
from remedlab.apps.kit.serving import run_service
from remedlab.apps.kit.structured_log import timestamp

SERVICE = "time-service"
PORT = 5001


async def current_time(request: web.Request) -> web.Response:
    epoch = time.time()
    return web.json_response({"time": timestamp(datetime.fromtimestamp(epoch, UTC)), "epoch": epoch})


def create_app() -> web.Application:
    app = web.Application()
    app.router.add_get("/time", current_time)
    add_health_routes(app)
    add_metrics_route(app)
    return app


def main() -> None:
    run_service(create_app(), service=SERVICE, port=PORT)


if __name__ == "__main__":
    main()
