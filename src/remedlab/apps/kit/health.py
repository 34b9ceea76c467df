"""Liveness (``/healthz``) and readiness (``/readyz``) endpoints."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from aiohttp import web

ReadyCheck = Callable[[], Awaitable[bool]]
"""Awaited by ``/readyz``: True when the service can take traffic; raising counts as not ready."""


async def _healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


def readyz_handler(
    check: ReadyCheck | None = None, *, timeout: float = 1.0
) -> Callable[[web.Request], Awaitable[web.Response]]:
    """A readiness handler: 200 when ``check`` (if any) answers True within ``timeout`` s, else 503."""

    async def handle(request: web.Request) -> web.Response:
        if check is None:
            return web.json_response({"status": "ready"})
        try:
            ready = await asyncio.wait_for(check(), timeout)
        except TimeoutError:
            reason = f"readiness check took longer than {timeout:g}s"
            return web.json_response({"status": "not ready", "reason": reason}, status=503)
        except Exception as exc:
            reason = f"{type(exc).__name__}: {exc}"
            return web.json_response({"status": "not ready", "reason": reason}, status=503)
        if not ready:
            return web.json_response({"status": "not ready", "reason": "dependency not ready"}, status=503)
        return web.json_response({"status": "ready"})

    return handle


def add_health_routes(
    app: web.Application, *, ready_check: ReadyCheck | None = None, ready_timeout: float = 1.0
) -> None:
    """Add ``GET /healthz`` (always 200 while the process serves) and ``GET /readyz``."""
    app.router.add_get("/healthz", _healthz)
    app.router.add_get("/readyz", readyz_handler(ready_check, timeout=ready_timeout))


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
