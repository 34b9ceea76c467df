"""Running a service: bind the pod IP, log and measure every request, stop gracefully.

``run_service`` listens on ``REMEDLAB_POD_IP`` (``0.0.0.0`` on a real cluster),
adds the middleware that sets the request's trace context, writes one access
line per request and records the ``http_*`` metrics, and on SIGTERM or SIGINT
stops accepting, lets in-flight requests finish (5 s at most) and exits 0.
A second signal during that wait exits at once.
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
from remedlab.apps.kit.structured_log import Logger, get_logger, route_stdlib_logging
from remedlab.apps.kit.tracing import TRACEPARENT, current_trace, new_trace, parse_traceparent

QUIET_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})
"""Paths counted in metrics but not written to the access log (probes and scrapes)."""

SHUTDOWN_TIMEOUT = 5.0
UNMATCHED_ROUTE = "unmatched"


def bind_host() -> str:
    """The address to listen on: the pod IP on the embedded cluster, else every interface."""
    return os.environ.get("REMEDLAB_POD_IP", "").strip() or "0.0.0.0"


def _route_label(request: web.Request) -> str:
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else UNMATCHED_ROUTE


def observe_middleware(logger: Logger, quiet_paths: Iterable[str] = QUIET_PATHS) -> Middleware:
    """Trace context, access log line and ``http_*`` metrics for every request."""
    quiet = frozenset(quiet_paths)

    @web.middleware
    async def observe(request: web.Request, handler: Handler) -> web.StreamResponse:
        incoming = parse_traceparent(request.headers.get(TRACEPARENT))
        token = current_trace.set(incoming.child() if incoming is not None else new_trace())
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
            raise
        except Exception:
            logger.exception("unhandled error", method=request.method, path=request.path)
            return web.json_response({"error": "internal server error"}, status=500)
        finally:
            elapsed = time.perf_counter() - started
            route = _route_label(request)
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
    code = asyncio.run(_serve(app, logger, bind_host(), port, shutdown_timeout))
    if code:
        raise SystemExit(code)


async def _serve(app: web.Application, logger: Logger, host: str, port: int, shutdown_timeout: float) -> int:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    received: list[signal.Signals] = []

    def on_signal(sig: signal.Signals) -> None:
        if received:
            logger.warning("second signal while stopping, exiting now", signal=sig.name)
            os._exit(128 + sig.value)
        received.append(sig)
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
    return 0
