"""Calling other services: discovery, source address, timeouts, retries, trace propagation.

Every attempt is a CLIENT span (``GET time-service /time``), child of the
current span, and its context is the ``traceparent`` the callee continues; a
call made outside any trace opens an INTERNAL root span around its attempts.

Connections leave from the pod's own IP (``REMEDLAB_POD_IP``) so the cluster's
proxy can tell which pod is calling; on a real cluster the variable is absent
and the kernel picks the source address.
"""

from __future__ import annotations

import asyncio
import os
import random
import time
from collections.abc import Mapping
from typing import Any, Literal

import aiohttp

from remedlab.apps.kit.discovery import ServiceNotFoundError, service_address
from remedlab.apps.kit.metrics import UPSTREAM_REQUEST_DURATION, UPSTREAM_REQUESTS
from remedlab.apps.kit.structured_log import Logger
from remedlab.apps.kit.tracing import (
    TRACEPARENT,
    AttributeValue,
    Span,
    SpanKind,
    StatusCode,
    current_trace,
    start_span,
    use_span,
)

Outcome = Literal["ok", "http_error", "timeout", "connect_error", "connection_error", "bad_response", "no_address"]


class UpstreamError(Exception):
    """A call to another service failed: it answered an error ``status`` or failed for ``reason``."""

    def __init__(
        self, service: str, status: int | None = None, reason: str | None = None, *, attempts: int = 1
    ) -> None:
        self.service = service
        self.status = status
        self.reason = reason or (f"HTTP {status}" if status is not None else "request failed")
        self.attempts = attempts
        tail = f" (after {attempts} attempts)" if attempts > 1 else ""
        super().__init__(f"{service}: {self.reason}{tail}")


class _AttemptError(Exception):
    def __init__(self, outcome: Outcome, retryable: bool, status: int | None, reason: str | None) -> None:
        super().__init__(reason or f"HTTP {status}")
        self.outcome: Outcome = outcome
        self.retryable = retryable
        self.status = status
        self.reason = reason


def _url(host: str, port: int, path: str) -> str:
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"http://{host}:{port}{path if path.startswith('/') else '/' + path}"


class ServiceClient:
    """One HTTP session for all calls a service makes to others.

    ``source_ip`` defaults to ``REMEDLAB_POD_IP``; pass ``""`` to let the kernel choose.
    Create it inside the running event loop (e.g. in an app's ``cleanup_ctx``)
    and ``await close()`` it when done.
    """

    def __init__(
        self,
        *,
        logger: Logger | None = None,
        source_ip: str | None = None,
        backoff: float = 0.05,
        max_backoff: float = 1.0,
        connection_limit: int = 100,
    ) -> None:
        self._source_ip = os.environ.get("REMEDLAB_POD_IP", "") if source_ip is None else source_ip
        self._logger = logger
        self._backoff = backoff
        self._max_backoff = max_backoff
        self._limit = connection_limit
        self._session: aiohttp.ClientSession | None = None

    @property
    def source_ip(self) -> str | None:
        return self._source_ip or None

    def _get_session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            local_addr = (self._source_ip, 0) if self._source_ip else None
            connector = aiohttp.TCPConnector(local_addr=local_addr, limit=self._limit)
            self._session = aiohttp.ClientSession(connector=connector)
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def __aenter__(self) -> ServiceClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    def _delay(self, retry: int) -> float:
        base = min(self._max_backoff, self._backoff * 2.0 ** (retry - 1))
        return base * (0.5 + random.random() / 2)

    async def get_json(
        self,
        service: str,
        path: str,
        *,
        timeout: float = 2.0,
        retries: int = 1,
        params: Mapping[str, str] | None = None,
    ) -> Any:
        """GET ``path`` on ``service`` and decode its JSON answer.

        ``timeout`` (seconds) bounds each attempt; up to ``retries`` more
        attempts follow, with jittered exponential backoff, after connection
        failures, timeouts, 429 and 5xx answers.  Raises :class:`UpstreamError`.
        """
        try:
            host, port = service_address(service)
        except ServiceNotFoundError as exc:
            UPSTREAM_REQUESTS.inc(service=service, outcome="no_address")
            if current_trace.get() is not None:
                failed = start_span(
                    f"GET {service} {_route(path)}",
                    kind=SpanKind.CLIENT,
                    attributes={"http.request.method": "GET", "peer.service": service, "error.type": "no_address"},
                )
                failed.set_status(StatusCode.ERROR, str(exc))
                failed.end()
            raise UpstreamError(service, reason=str(exc)) from exc
        url = _url(host, port, path)
        if current_trace.get() is None:
            root = start_span(f"call {service}", kind=SpanKind.INTERNAL, attributes={"peer.service": service})
            try:
                with use_span(root):
                    return await self._call(service, host, port, path, url, timeout, retries, params)
            except BaseException as exc:
                root.record_exception(exc)
                raise
            finally:
                root.end()
        return await self._call(service, host, port, path, url, timeout, retries, params)

    async def _call(
        self,
        service: str,
        host: str,
        port: int,
        path: str,
        url: str,
        timeout: float,
        retries: int,
        params: Mapping[str, str] | None,
    ) -> Any:
        name = f"GET {service} {_route(path)}"
        attempts = max(0, retries) + 1
        for attempt in range(1, attempts + 1):
            if attempt > 1:
                await asyncio.sleep(self._delay(attempt - 1))
            started = time.perf_counter()
            outcome: Outcome = "ok"
            attributes = _client_attributes(service, host, port, url, attempt)
            attempt_span = start_span(name, kind=SpanKind.CLIENT, attributes=attributes)
            try:
                headers = {TRACEPARENT: attempt_span.context.header()}
                return await self._attempt(url, headers, params, timeout, attempt_span)
            except _AttemptError as failure:
                outcome = failure.outcome
                attempt_span.set_attribute("error.type", outcome)
                attempt_span.set_status(StatusCode.ERROR, str(failure))
                if failure.retryable and attempt < attempts:
                    if self._logger is not None:
                        self._logger.warning(
                            "upstream call failed, retrying",
                            upstream=service,
                            url=url,
                            attempt=attempt,
                            outcome=outcome,
                            reason=str(failure),
                        )
                    continue
                error = UpstreamError(service, failure.status, failure.reason, attempts=attempt)
                raise error from failure.__cause__
            except asyncio.CancelledError:
                attempt_span.set_attribute("error.type", "cancelled")
                attempt_span.set_status(StatusCode.ERROR, "cancelled")
                raise
            except Exception as exc:
                attempt_span.record_exception(exc)
                raise
            finally:
                attempt_span.end()
                UPSTREAM_REQUESTS.inc(service=service, outcome=outcome)
                UPSTREAM_REQUEST_DURATION.observe(time.perf_counter() - started, service=service)
        raise AssertionError("unreachable: the last attempt returns or raises")

    async def _attempt(
        self,
        url: str,
        headers: Mapping[str, str],
        params: Mapping[str, str] | None,
        timeout: float,
        attempt_span: Span,
    ) -> Any:
        session = self._get_session()
        try:
            async with session.get(
                url, headers=headers, params=params, timeout=aiohttp.ClientTimeout(total=timeout)
            ) as resp:
                attempt_span.set_attribute("http.response.status_code", resp.status)
                if resp.status >= 400:
                    retryable = resp.status >= 500 or resp.status == 429
                    raise _AttemptError("http_error", retryable, resp.status, None)
                try:
                    return await resp.json(content_type=None)
                except ValueError as exc:
                    raise _AttemptError("bad_response", False, None, f"invalid JSON answer: {exc}") from exc
        except TimeoutError as exc:
            raise _AttemptError("timeout", True, None, f"no answer within {timeout:g}s") from exc
        except aiohttp.ClientConnectorError as exc:
            errno = exc.os_error.errno
            reason = f"cannot connect to {url}: {os.strerror(errno) if errno else exc.os_error}"
            raise _AttemptError("connect_error", True, None, reason) from exc
        except aiohttp.ClientError as exc:
            reason = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            raise _AttemptError("connection_error", True, None, reason) from exc


def _route(path: str) -> str:
    """The path part of ``path`` (no query), with a leading slash."""
    return "/" + path.split("?", 1)[0].lstrip("/")


def _client_attributes(service: str, host: str, port: int, url: str, attempt: int) -> dict[str, AttributeValue]:
    attributes: dict[str, AttributeValue] = {
        "http.request.method": "GET",
        "url.full": url,
        "server.address": host,
        "server.port": port,
        "peer.service": service,
    }
    if attempt > 1:
        attributes["http.request.resend_count"] = attempt - 1
    return attributes
