"""Liveness (``/healthz``) and readiness (``/readyz``) endpoints.

With a logger, readiness tells its changes in the service's log, as a service that cannot reach
what it needs says why: a warning with the reason when it stops being ready (again every
``NOT_READY_LOG_EVERY_S`` while it stays so, or when the reason changes), an info line when it is
ready again.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from aiohttp import web

from remedlab.apps.kit.structured_log import Logger

ReadyCheck = Callable[[], Awaitable[bool]]
"""Awaited by ``/readyz``: True when the service can take traffic; raising counts as not ready."""
NOT_READY_LOG_EVERY_S = 10.0


class _ReadinessLog:
    """Tells readiness changes in the service's log, without a line per probe."""

    def __init__(self, log: Logger | None) -> None:
        self.log = log
        self.reason: str | None = None  # None while ready
        self.said_at = 0.0

    def ready(self) -> None:
        if self.log is not None and self.reason is not None:
            self.log.info("ready again")
        self.reason = None

    def not_ready(self, reason: str) -> None:
        now = time.monotonic()
        if self.log is not None and (reason != self.reason or now - self.said_at >= NOT_READY_LOG_EVERY_S):
            self.log.warning(f"not ready: {reason}")
            self.said_at = now
        self.reason = reason


async def _healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


def readyz_handler(
    check: ReadyCheck | None = None, *, timeout: float = 1.0, log: Logger | None = None
) -> Callable[[web.Request], Awaitable[web.Response]]:
    """A readiness handler: 200 when ``check`` (if any) answers True within ``timeout`` s, else 503."""
    told = _ReadinessLog(log)

    def not_ready(reason: str) -> web.Response:
        told.not_ready(reason)
        return web.json_response({"status": "not ready", "reason": reason}, status=503)

    async def handle(request: web.Request) -> web.Response:
        if check is None:
            return web.json_response({"status": "ready"})
        try:
            ready = await asyncio.wait_for(check(), timeout)
        except TimeoutError:
            return not_ready(f"readiness check took longer than {timeout:g}s")
        except Exception as exc:
            return not_ready(f"{type(exc).__name__}: {exc}")
        if not ready:
            return not_ready("dependency not ready")
        told.ready()
        return web.json_response({"status": "ready"})

    return handle


def add_health_routes(
    app: web.Application,
    *,
    ready_check: ReadyCheck | None = None,
    ready_timeout: float = 1.0,
    log: Logger | None = None,
) -> None:
    """Add ``GET /healthz`` (always 200 while the process serves) and ``GET /readyz`` (its changes told
    in ``log`` when given)."""
    app.router.add_get("/healthz", _healthz)
    app.router.add_get("/readyz", readyz_handler(ready_check, timeout=ready_timeout, log=log))


def latched(check: ReadyCheck) -> ReadyCheck:
    """A check that keeps answering True once ``check`` has succeeded.

    For a dependency a service needs to start (its database at first contact),
    not to stay up: afterwards its failures show as failed requests, in logs,
    metrics and traces, not as an unready pod, as in services that connect at
    start and then report errors per request.
    """
    passed = False

    async def once() -> bool:
        nonlocal passed
        if not passed:
            passed = bool(await check())
        return passed

    return once


def all_of(*checks: ReadyCheck) -> ReadyCheck:
    """A check that passes when every one of ``checks`` does (they run one after another)."""

    async def every() -> bool:
        for check in checks:
            if not await check():
                return False
        return True

    return every
