"""round-exporter: the ServerApp pod's exporter (port 9100). It follows the round records the digits
ServerApp appends to ``ROUND_LOG`` (a volume the pod's containers share), serves them as Prometheus
series on ``/metrics`` and as JSON on ``/rounds?after=N``, logs each on its stdout and sends a span per
round (``flower.round``) to the collector."""

from __future__ import annotations

import asyncio
import os
import secrets
import time
from collections.abc import AsyncIterator
from pathlib import Path

from aiohttp import web

from remedlab.apps.flower.rounds import RoundRecord, RoundSeries, parse_round
from remedlab.apps.kit.health import add_health_routes
from remedlab.apps.kit.metrics import CONTENT_TYPE
from remedlab.apps.kit.serving import run_service
from remedlab.apps.kit.tracing import Span, StatusCode, TraceContext
from remedlab.apps.kit.volumes import container_path

SERVICE = "flower-round-exporter"
PORT = 9100
POLL_SECONDS = 0.25

SERIES = web.AppKey("series", RoundSeries)


def round_span(record: RoundRecord) -> None:
    """A finished span for the round, timed as the round was."""
    trace_id = record.trace_id if len(record.trace_id) == 32 else secrets.token_hex(16)
    span = Span(
        "flower.round",
        TraceContext(trace_id, secrets.token_hex(8), True),
        attributes={
            "flower.run_id": str(record.run_id),
            "flower.round": record.round,
            "flower.nodes": record.nodes,
            "flower.clients": record.clients,
            "flower.failures": record.failures,
            "flower.loss": record.loss,
            "flower.accuracy": record.accuracy,
        },
    )
    span.start_ns = int(record.started * 1e9)
    span._start_perf = time.perf_counter_ns() - int(record.duration_seconds * 1e9)
    if record.failures:
        span.set_status(StatusCode.ERROR, "; ".join(record.errors) or f"{record.failures} clients failed")
    span.end()


async def follow(path: Path, series: RoundSeries) -> None:
    offset = 0
    pending = ""
    while True:
        try:
            size = path.stat().st_size
        except FileNotFoundError:
            size = 0
        if size < offset:
            offset, pending = 0, ""
        if size > offset:
            with path.open("r", encoding="utf-8") as fh:
                fh.seek(offset)
                chunk = fh.read()
                offset = fh.tell()
            lines = (pending + chunk).split("\n")
            pending = lines.pop()
            for line in lines:
                record = parse_round(line)
                if record is not None:
                    print(line, flush=True)
                    series.add(record)
                    round_span(record)
        await asyncio.sleep(POLL_SECONDS)


async def metrics(request: web.Request) -> web.Response:
    return web.Response(body=request.app[SERIES].exposition().encode(), headers={"Content-Type": CONTENT_TYPE})


async def rounds(request: web.Request) -> web.Response:
    """The round records after the first ``after`` (JSON): ``{"last": N, "rounds": [...]}``, N the
    number of the last record seen, which a reader passes as ``after`` next time."""
    series = request.app[SERIES]
    try:
        after = int(request.query.get("after", "0"))
    except ValueError:
        raise web.HTTPBadRequest(text="after must be a whole number") from None
    records = series.since(after)
    body = {"last": series.rounds, "rounds": [r.model_dump() for r in records]}
    return web.json_response(body)


def create_app(path: Path) -> web.Application:
    app = web.Application()
    app[SERIES] = RoundSeries()

    async def following(app: web.Application) -> AsyncIterator[None]:
        task = asyncio.create_task(follow(path, app[SERIES]))
        yield
        task.cancel()

    app.cleanup_ctx.append(following)
    app.router.add_get("/metrics", metrics)
    app.router.add_get("/rounds", rounds)
    add_health_routes(app)
    return app


def main() -> None:
    path = Path(container_path(os.environ.get("ROUND_LOG", "/var/lib/flower/rounds.jsonl")))
    path.parent.mkdir(parents=True, exist_ok=True)
    run_service(create_app(path), service=SERVICE, port=PORT)


if __name__ == "__main__":
    main()
