"""time-service: answers the current UTC time (simple-micro, port 5001)."""

from __future__ import annotations

import asyncio
import os
import time
from datetime import UTC, datetime
from pathlib import Path

from aiohttp import web

from remedlab.apps.kit.health import add_health_routes
from remedlab.apps.kit.metrics import add_metrics_route
from remedlab.apps.kit.serving import run_service
from remedlab.apps.kit.structured_log import timestamp
from remedlab.apps.kit.volumes import container_path

SERVICE = "time-service"
PORT = 5001


def _journal(path: Path, line: str) -> None:
    with path.open("a", encoding="utf-8") as fh:
        fh.write(line)


async def current_time(request: web.Request) -> web.Response:
    epoch = time.time()
    stamp = timestamp(datetime.fromtimestamp(epoch, UTC))
    journal: Path | None = request.app.get(JOURNAL)
    if journal is not None:
        # every answer is journaled on the data volume, as a clock service with an audit trail would
        await asyncio.to_thread(_journal, journal, f"{stamp} {request.remote}\n")
    return web.json_response({"time": stamp, "epoch": epoch})


JOURNAL = web.AppKey("journal", Path)


def create_app() -> web.Application:
    app = web.Application()
    data_dir = os.environ.get("DATA_DIR")
    if data_dir:
        directory = Path(container_path(data_dir))
        directory.mkdir(parents=True, exist_ok=True)
        app[JOURNAL] = directory / "requests.log"
    app.router.add_get("/time", current_time)
    add_health_routes(app)
    add_metrics_route(app)
    return app


def main() -> None:
    run_service(create_app(), service=SERVICE, port=PORT)


if __name__ == "__main__":
    main()
