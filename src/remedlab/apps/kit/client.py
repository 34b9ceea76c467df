"""Calling other services: discovery, source address, timeouts, retries, trace propagation.

Every attempt is a CLIENT span (``GET time-service /time``), child of the
current span, and its context is the ``traceparent`` the callee continues; a
call made outside any trace opens an INTERNAL root span around its attempts.

Connections leave from the pod's own IP (``REMEDLAB_POD_IP``) so the cluster's
proxy can tell which pod is calling; on a real cluster the variable is absent
and the kernel picks the source address. Kept-alive connections are reused for as
long as they are in use, unless ``max_connection_age`` retires them (as Thrift client
pools do): then a change behind a Service, a new targetPort say, reaches the caller
once its connections are that old.
"""

from __future__ import annotations

import asyncio
import os
import random
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import aiohttp

from remedlab.apps.kit.discovery import ServiceNotFoundError, resolve_address, service_address
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

RETIRED_SESSION_GRACE_S = 60.0
"""How long calls begun on connections that were retired may still run before those connections close."""

Method = Literal["GET", "POST", "PUT", "DELETE"]
Outcome = Literal["ok", "http_error", "timeout", "connect_error", "connection_error", "bad_response", "no_address"]


class UpstreamError(Exception):
    """A call to another service failed: it answered an error ``status`` or failed for ``reason``."""

    def __init__(
        self,
        service: str,
        status: int | None = None,
        reason: str | None = None,
        *,
        attempts: int = 1,
        detail: str | None = None,
    ) -> None:
        self.service = service
        self.status = status
        self.detail = detail
        if reason is None and status is not None:
            reason = f"HTTP {status}: {detail}" if detail else f"HTTP {status}"
        self.reason = reason or "request failed"
        self.attempts = attempts
        tail = f" (after {attempts} attempts)" if attempts > 1 else ""
        super().__init__(f"{service}: {self.reason}{tail}")


class _AttemptError(Exception):
    def __init__(
        self, outcome: Outcome, retryable: bool, status: int | None, reason: str | None, detail: str | None = None
    ) -> None:
        super().__init__(reason or (f"HTTP {status}: {detail}" if detail else f"HTTP {status}"))
        self.outcome: Outcome = outcome
        self.retryable = retryable
        self.status = status
        self.reason = reason
        self.detail = detail


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
        max_connection_age: float | None = None,
    ) -> None:
        self._source_ip = os.environ.get("REMEDLAB_POD_IP", "") if source_ip is None else source_ip
        self._logger = logger
        self._backoff = backoff
        self._max_backoff = max_backoff
        self._limit = connection_limit
        self._max_age = max_connection_age
        self._session: aiohttp.ClientSession | None = None
        self._session_opened = 0.0
        self._retired: set[aiohttp.ClientSession] = set()

    @property
    def source_ip(self) -> str | None:
        return self._source_ip or None

    def _get_session(self) -> aiohttp.ClientSession:
        now = time.monotonic()
        if self._session is not None and self._max_age is not None and now - self._session_opened > self._max_age:
            self._retire(self._session)
            self._session = None
        if self._session is None or self._session.closed:
            local_addr = (self._source_ip, 0) if self._source_ip else None
            connector = aiohttp.TCPConnector(local_addr=local_addr, limit=self._limit)
            self._session = aiohttp.ClientSession(connector=connector)
            self._session_opened = now
        return self._session

    def _retire(self, session: aiohttp.ClientSession) -> None:
        """Open no more connections on ``session``; close it once the calls still on it are over."""
        self._retired.add(session)

        def close_later() -> None:
            task = asyncio.ensure_future(session.close())
            task.add_done_callback(lambda _: self._retired.discard(session))

        asyncio.get_running_loop().call_later(RETIRED_SESSION_GRACE_S, close_later)

    async def close(self) -> None:
        sessions = [*self._retired, *([self._session] if self._session is not None else [])]
        self._session = None
        self._retired.clear()
        for session in sessions:
            await session.close()

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
        """GET ``path`` on ``service`` and decode its JSON answer (see :meth:`request_json`)."""
        return await self.request_json("GET", service, path, timeout=timeout, retries=retries, params=params)

    async def post_json(
        self,
        service: str,
        path: str,
        body: Any,
        *,
        timeout: float = 2.0,
        retries: int = 0,
    ) -> Any:
        """POST ``body`` as JSON to ``path`` on ``service`` and decode its JSON answer.

        No retry by default: a POST may change state, and the caller knows whether repeating it is safe.
        """
        return await self.request_json("POST", service, path, timeout=timeout, retries=retries, body=body)

    async def request_json(
        self,
        method: Method,
        service: str,
        path: str,
        *,
        timeout: float = 2.0,
        retries: int = 1,
        params: Mapping[str, str] | None = None,
        body: Any = None,
    ) -> Any:
        """Send ``method path`` to ``service`` (``body`` as JSON, if any) and decode its JSON answer.

        ``service`` is a Service name, found through its ``*_SERVICE_HOST/PORT``
        variables, or ``name:port`` (e.g. ``cartservice:7070``), as DNS would resolve it.

        ``timeout`` (seconds) bounds each attempt; up to ``retries`` more
        attempts follow, with jittered exponential backoff, after connection
        failures, timeouts, 429 and 5xx answers.  Raises :class:`UpstreamError`,
        whose ``status`` and ``detail`` carry the callee's error answer.
        """
        if ":" in service:  # "cartservice:7070", as a service's *_ADDR variables say
            service, host_port = service.rpartition(":")[0].split(".", 1)[0], service
        else:
            host_port = ""
        call = _Call(method, service, path, timeout, max(0, retries) + 1, params, body)
        try:
            host, port = resolve_address(host_port) if host_port else service_address(service)
        except ServiceNotFoundError as exc:
            UPSTREAM_REQUESTS.inc(service=service, outcome="no_address")
            if current_trace.get() is not None:
                failed = start_span(
                    call.span_name,
                    kind=SpanKind.CLIENT,
                    attributes={"http.request.method": method, "peer.service": service, "error.type": "no_address"},
                )
                failed.set_status(StatusCode.ERROR, str(exc))
                failed.end()
            raise UpstreamError(service, reason=str(exc)) from exc
        url = _url(host, port, path)
        if current_trace.get() is None:
            root = start_span(f"call {service}", kind=SpanKind.INTERNAL, attributes={"peer.service": service})
            try:
                with use_span(root):
                    return await self._call(call, host, port, url)
            except BaseException as exc:
                root.record_exception(exc)
                raise
            finally:
                root.end()
        return await self._call(call, host, port, url)

    async def _call(self, call: _Call, host: str, port: int, url: str) -> Any:
        service = call.service
        for attempt in range(1, call.attempts + 1):
            if attempt > 1:
                await asyncio.sleep(self._delay(attempt - 1))
            started = time.perf_counter()
            outcome: Outcome = "ok"
            attributes = _client_attributes(call.method, service, host, port, url, attempt)
            attempt_span = start_span(call.span_name, kind=SpanKind.CLIENT, attributes=attributes)
            try:
                headers = {TRACEPARENT: attempt_span.context.header()}
                return await self._attempt(call, url, headers, attempt_span)
            except _AttemptError as failure:
                outcome = failure.outcome
                attempt_span.set_attribute("error.type", outcome)
                attempt_span.set_status(StatusCode.ERROR, str(failure))
                if failure.retryable and attempt < call.attempts:
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
                error = UpstreamError(service, failure.status, failure.reason, attempts=attempt, detail=failure.detail)
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

    async def _attempt(self, call: _Call, url: str, headers: Mapping[str, str], attempt_span: Span) -> Any:
        session = self._get_session()
        timeout = call.timeout
        try:
            async with session.request(
                call.method,
                url,
                headers=headers,
                params=call.params,
                json=call.body if call.method != "GET" else None,
                timeout=aiohttp.ClientTimeout(total=timeout),
            ) as resp:
                attempt_span.set_attribute("http.response.status_code", resp.status)
                if resp.status >= 400:
                    retryable = resp.status >= 500 or resp.status == 429
                    detail = await _error_detail(resp)
                    raise _AttemptError("http_error", retryable, resp.status, None, detail)
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


@dataclass(frozen=True, slots=True)
class _Call:
    method: Method
    service: str
    path: str
    timeout: float
    attempts: int
    params: Mapping[str, str] | None
    body: Any

    @property
    def span_name(self) -> str:
        return f"{self.method} {self.service} {_route(self.path)}"


async def _error_detail(resp: aiohttp.ClientResponse) -> str | None:
    """The ``error`` (or ``message``) an error answer carries, if it is JSON that says one."""
    try:
        answer = await resp.json(content_type=None)
    except (ValueError, aiohttp.ClientError):
        return None
    if isinstance(answer, dict):
        for key in ("error", "message"):
            value = answer.get(key)
            if isinstance(value, str) and value:
                return value[:500]
    return None


def _route(path: str) -> str:
    """The path part of ``path`` (no query), with a leading slash."""
    return "/" + path.split("?", 1)[0].lstrip("/")


def _client_attributes(
    method: str, service: str, host: str, port: int, url: str, attempt: int
) -> dict[str, AttributeValue]:
    attributes: dict[str, AttributeValue] = {
        "http.request.method": method,
        "url.full": url,
        "server.address": host,
        "server.port": port,
        "peer.service": service,
    }
    if attempt > 1:
        attributes["http.request.resend_count"] = attempt - 1
    return attributes
