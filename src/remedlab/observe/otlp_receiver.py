"""The node-local OTLP/HTTP trace receiver: ``POST /v1/traces`` on ``<node IP>:4318``.

It runs on the server's event loop next to the API (a separate listener, so a
burst of exports never queues behind API calls and vice versa); parsing and
writing happen in a worker thread. JSON exports (``application/json``, gzip
allowed) are stored in the :class:`~remedlab.observe.trace_store.TraceStore`;
protobuf exports are answered 415. Answers follow OTLP/HTTP: ``{}`` on
success, ``{"partialSuccess": {...}}`` when some spans were rejected, and a
``google.rpc.Status``-shaped body (``{"code", "message"}``) with 400 or 415.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass

from aiohttp import web

from remedlab.observe.otlp_json import OtlpFormatError, ParsedExport, parse_export
from remedlab.observe.trace_store import TraceStore

OTLP_HTTP_PORT = 4318
MAX_BODY_BYTES = 16 * 1024 * 1024
INVALID_ARGUMENT = 3  # google.rpc.Code

log = logging.getLogger(__name__)


@dataclass
class ReceiverStats:
    requests: int = 0
    spans: int = 0
    rejected_spans: int = 0
    bad_requests: int = 0


def _status(http_status: int, message: str) -> web.Response:
    return web.json_response({"code": INVALID_ARGUMENT, "message": message}, status=http_status)


class OtlpReceiver:
    def __init__(self, store: TraceStore, host: str, port: int = OTLP_HTTP_PORT) -> None:
        self.store = store
        self.host = host
        self.port = port
        self.stats = ReceiverStats()
        self.error: str | None = None
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def running(self) -> bool:
        return self._runner is not None

    def application(self) -> web.Application:
        app = web.Application(client_max_size=MAX_BODY_BYTES)
        app.router.add_post("/v1/traces", self._traces)
        return app

    async def start(self) -> None:
        """Listen; raises OSError when the address is taken (``error`` says so too)."""
        runner = web.AppRunner(self.application(), handle_signals=False, access_log=None, shutdown_timeout=1.0)
        await runner.setup()
        site = web.TCPSite(runner, self.host, self.port)
        try:
            await site.start()
        except OSError as exc:
            await runner.cleanup()
            self.error = f"cannot listen on {self.host}:{self.port}: {exc.strerror or exc}"
            raise
        if self.port == 0 and runner.addresses:
            self.port = int(runner.addresses[0][1])
        self.error = None
        self._runner = runner

    async def stop(self) -> None:
        runner, self._runner = self._runner, None
        if runner is not None:
            with contextlib.suppress(Exception):
                await runner.cleanup()

    async def _traces(self, request: web.Request) -> web.Response:
        self.stats.requests += 1
        media = request.content_type
        if media in ("application/x-protobuf", "application/protobuf"):
            self.stats.bad_requests += 1
            return _status(
                415,
                "protobuf OTLP is not supported here: export with the JSON encoding "
                "(OTEL_EXPORTER_OTLP_PROTOCOL=http/json, Content-Type: application/json)",
            )
        if media != "application/json":
            self.stats.bad_requests += 1
            return _status(415, f"unsupported Content-Type {media or '(none)'!r}: send application/json")
        body = await request.read()
        try:
            parsed = await asyncio.to_thread(self._store, body)
        except OtlpFormatError as exc:
            self.stats.bad_requests += 1
            return _status(400, f"invalid OTLP JSON: {exc}")
        except Exception as exc:  # the store failed: tell the exporter to retry later
            log.warning("storing spans failed: %s: %s", type(exc).__name__, exc)
            return _status(503, f"cannot store spans: {type(exc).__name__}")
        self.stats.spans += len(parsed.spans)
        self.stats.rejected_spans += parsed.rejected
        if parsed.rejected:
            return web.json_response(
                {"partialSuccess": {"rejectedSpans": str(parsed.rejected), "errorMessage": parsed.first_error or ""}}
            )
        return web.json_response({})

    def _store(self, body: bytes) -> ParsedExport:
        parsed = parse_export(body)
        self.store.insert(parsed.spans)
        return parsed
