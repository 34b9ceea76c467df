"""Running a service: bind the pod IP, log and measure every request, stop gracefully.

``run_service`` listens on ``REMEDLAB_POD_IP`` (``0.0.0.0`` on a real cluster),
adds the middleware that opens the request's SERVER span (its context is the
request's trace context), writes one access line per request and records the
``http_*`` metrics, and on SIGTERM or SIGINT stops accepting, lets in-flight
requests finish (5 s at most), sends the spans still queued and exits 0.
A second signal during that wait exits at once (the same signal repeated
within 0.2 s counts as one: a process and its group are often signalled
together). Spans are exported when the
environment names an OTLP endpoint (see :mod:`remedlab.apps.kit.otlp_export`);
probe and scrape paths get a trace context but no span.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import Iterable

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from remedlab.apps.kit.metrics import HTTP_REQUEST_DURATION, HTTP_REQUESTS
from remedlab.apps.kit.otlp_export import configure_tracing, shutdown_tracing
from remedlab.apps.kit.structured_log import Logger, get_logger, route_stdlib_logging
from remedlab.apps.kit.tracing import (
    TRACEPARENT,
    AttributeValue,
    Span,
    SpanKind,
    StatusCode,
    TraceContext,
    current_span,
    current_trace,
    new_trace,
    parse_traceparent,
    start_span,
)

QUIET_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})
"""Paths counted in metrics but not written to the access log (probes and scrapes)."""

SHUTDOWN_TIMEOUT = 5.0
DUPLICATE_SIGNAL_WINDOW = 0.2
"""The same signal again within this many seconds is one signal delivered twice, not a second one."""
UNMATCHED_ROUTE = "unmatched"


def bind_host() -> str:
    """The address to listen on: the pod IP on the embedded cluster, else every interface."""
    return os.environ.get("REMEDLAB_POD_IP", "").strip() or "0.0.0.0"


def _route_label(request: web.Request) -> str:
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else UNMATCHED_ROUTE


def _server_span(request: web.Request, incoming: TraceContext | None) -> Span:
    """The SERVER span of a request, child of the caller's span when it sent one."""
    resource = request.match_info.route.resource
    route = resource.canonical if resource is not None else None
    attributes: dict[str, AttributeValue] = {
        "http.request.method": request.method,
        "url.path": request.path,
        "url.scheme": request.scheme,
        "network.protocol.version": f"{request.version.major}.{request.version.minor}",
    }
    if route is not None:
        attributes["http.route"] = route
    if request.query_string:
        attributes["url.query"] = request.query_string
    host = request.host
    if host:
        attributes["server.address"] = host.rsplit(":", 1)[0] if not host.endswith("]") else host
    if request.remote:
        attributes["client.address"] = request.remote
    agent = request.headers.get("User-Agent")
    if agent:
        attributes["user_agent.original"] = agent
    name = f"{request.method} {route}" if route is not None else request.method
    return start_span(name, kind=SpanKind.SERVER, attributes=attributes, parent=incoming)


def _end_server_span(span: Span, status: int) -> None:
    span.set_attribute("http.response.status_code", status)
    if status >= 500:
        span.attributes.setdefault("error.type", str(status))
        if span.status_code != StatusCode.ERROR:  # keep an exception's message
            span.set_status(StatusCode.ERROR, f"HTTP {status}")
    span.end()


def observe_middleware(logger: Logger, quiet_paths: Iterable[str] = QUIET_PATHS) -> Middleware:
    """Trace context, access log line and ``http_*`` metrics for every request."""
    quiet = frozenset(quiet_paths)

    @web.middleware
    async def observe(request: web.Request, handler: Handler) -> web.StreamResponse:
        incoming = parse_traceparent(request.headers.get(TRACEPARENT))
        server_span: Span | None = None
        if request.path in quiet:
            token = current_trace.set(incoming.child() if incoming is not None else new_trace())
        else:
            server_span = _server_span(request, incoming)
            token = current_trace.set(server_span.context)
        span_token = current_span.set(server_span)
        started = time.perf_counter()
        status = 500
        try:
            response = await handler(request)
            status = response.status
            return response
        except web.HTTPException as exc:
            status = exc.status
            raise
        except asyncio.CancelledError:
            status = 499  # the client went away before the answer
            if server_span is not None:
                server_span.set_attribute("error.type", "cancelled")
            raise
        except Exception as exc:
            logger.exception("unhandled error", method=request.method, path=request.path)
            if server_span is not None:
                server_span.record_exception(exc)
                server_span.set_attribute("error.type", type(exc).__name__)
            return web.json_response({"error": "internal server error"}, status=500)
        finally:
            elapsed = time.perf_counter() - started
            route = _route_label(request)
            if server_span is not None:
                _end_server_span(server_span, status)
            current_span.reset(span_token)
            HTTP_REQUESTS.inc(route=route, method=request.method, status=status)
            HTTP_REQUEST_DURATION.observe(elapsed, route=route)
            if request.path not in quiet:
                logger.info(
                    f"{request.method} {request.path} {status}",
                    method=request.method,
                    path=request.path,
                    status=status,
                    duration_ms=round(elapsed * 1000, 3),
                    remote=request.remote,
                )
            current_trace.reset(token)

    return observe


def run_service(
    app: web.Application,
    *,
    service: str,
    port: int,
    quiet_paths: Iterable[str] = QUIET_PATHS,
    shutdown_timeout: float = SHUTDOWN_TIMEOUT,
) -> None:
    """Serve ``app`` until SIGTERM or SIGINT; raises ``SystemExit(1)`` when it cannot start."""
    logger = get_logger(service)
    route_stdlib_logging(logger)
    app.middlewares.insert(0, observe_middleware(logger, quiet_paths))
    configure_tracing(
        service,
        on_error=lambda message: logger.warning(message),
        on_recover=lambda message: logger.info(message),
    )
    try:
        code = asyncio.run(_serve(app, logger, bind_host(), port, shutdown_timeout))
    finally:
        shutdown_tracing()
    if code:
        raise SystemExit(code)


async def _serve(app: web.Application, logger: Logger, host: str, port: int, shutdown_timeout: float) -> int:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    received: list[signal.Signals] = []
    first_at = 0.0

    def on_signal(sig: signal.Signals) -> None:
        nonlocal first_at
        if received:
            if sig == received[0] and time.monotonic() - first_at < DUPLICATE_SIGNAL_WINDOW:
                return  # one signal delivered twice (to the process group and to the process)
            logger.warning("second signal while stopping, exiting now", signal=sig.name)
            os._exit(128 + sig.value)
        received.append(sig)
        first_at = time.monotonic()
        stop.set()

    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, on_signal, sig)

    runner = web.AppRunner(app, handle_signals=False, access_log=None, shutdown_timeout=shutdown_timeout)
    try:
        await runner.setup()
    except Exception:
        logger.exception("startup failed")
        return 1
    site = web.TCPSite(runner, host, port)
    try:
        await site.start()
    except OSError as exc:
        logger.error(f"cannot listen on {host}:{port}", exc=exc, address=host, port=port)
        await runner.cleanup()
        return 1
    logger.info(f"listening on {host}:{port}", address=host, port=port, pid=os.getpid())

    await stop.wait()
    logger.info(
        "stopping: no new connections, finishing in-flight requests",
        signal=received[0].name,
        grace_seconds=shutdown_timeout,
    )
    started = time.perf_counter()
    await runner.cleanup()
    logger.info("stopped", shutdown_ms=round((time.perf_counter() - started) * 1000, 1))
    # the last spans go while the signal handlers are still in place (a repeated signal is absorbed)
    await asyncio.to_thread(shutdown_tracing)
    return 0
