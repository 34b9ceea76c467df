"""One call to a data store: a CLIENT span, the ``upstream_*`` metrics, and a one-line error.

The store clients (:mod:`.database`, :mod:`.cache`, :mod:`.redis_store`) wrap
every command in :func:`store_call`, so a trace shows each query under the
request that made it, and ``/metrics`` counts store calls per store next to
calls to other services.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass

from remedlab.apps.kit.discovery import ServiceNotFoundError, is_ip, resolve_address
from remedlab.apps.kit.metrics import UPSTREAM_REQUEST_DURATION, UPSTREAM_REQUESTS
from remedlab.apps.kit.tracing import AttributeValue, Span, SpanKind, StatusCode, start_span, use_span


class StoreError(Exception):
    """A store call failed; ``kind`` is timeout, connect_error, denied or error."""

    def __init__(self, store: str, reason: str, *, kind: str = "error") -> None:
        super().__init__(f"{store}: {reason}")
        self.store = store
        self.reason = reason
        self.kind = kind


@dataclass(frozen=True, slots=True)
class StoreAddress:
    """Where a store is: its configured ``host:port`` and the Service name it names."""

    configured: str
    name: str

    @classmethod
    def parse(cls, configured: str) -> StoreAddress:
        host = configured.strip().rpartition(":")[0].strip("[]")
        name = host if is_ip(host) else host.split(".", 1)[0]  # a Service's short name
        return cls(configured.strip(), name or configured)

    def resolve(self) -> tuple[str, int]:
        try:
            return resolve_address(self.configured)
        except ServiceNotFoundError as exc:
            raise StoreError(self.name, str(exc), kind="connect_error") from exc


def classify(exc: BaseException) -> str:
    """The outcome label of a failed store call."""
    if isinstance(exc, StoreError):
        return exc.kind
    if isinstance(exc, TimeoutError | asyncio.TimeoutError):
        return "timeout"
    if isinstance(exc, ConnectionError | OSError):
        return "connect_error"
    return "error"


@asynccontextmanager
async def store_call(
    address: StoreAddress,
    system: str,
    operation: str,
    *,
    target: str = "",
    statement: str | None = None,
    attributes: Mapping[str, AttributeValue] | None = None,
) -> AsyncIterator[Span]:
    """A CLIENT span named ``<operation> <target>`` around one store command; records its outcome."""
    host, _, port = address.configured.rpartition(":")
    span_attributes: dict[str, AttributeValue] = {
        "db.system": system,
        "db.operation.name": operation,
        "peer.service": address.name,
        "server.address": host,
    }
    if port.isdigit():
        span_attributes["server.port"] = int(port)
    if target:
        span_attributes["db.collection.name"] = target
    if statement is not None:
        span_attributes["db.query.text"] = statement[:1000]
    if attributes:
        span_attributes.update(attributes)
    name = f"{operation} {target}".strip()
    opened = start_span(name, kind=SpanKind.CLIENT, attributes=span_attributes)
    started = time.perf_counter()
    outcome = "ok"
    try:
        with use_span(opened):
            yield opened
    except asyncio.CancelledError:
        outcome = "cancelled"
        opened.set_status(StatusCode.ERROR, "cancelled")
        raise
    except BaseException as exc:
        outcome = classify(exc)
        opened.set_attribute("error.type", outcome)
        opened.record_exception(exc)
        raise
    finally:
        opened.end()
        UPSTREAM_REQUESTS.inc(service=address.name, outcome=outcome)
        UPSTREAM_REQUEST_DURATION.observe(time.perf_counter() - started, service=address.name)
