"""W3C trace context (``traceparent``) and spans for remedlab services.

The serving middleware opens a SERVER span for the request being handled and
puts its context into :data:`current_trace`; the structured logger stamps its
``trace_id`` on every line and the service client opens a CLIENT span per
attempt and sends that span's context to the next service, so one request can
be followed through every pod it touches.

Spans are light objects (no OpenTelemetry SDK): when they end they go to the
process's span processor, if one is set (see :mod:`remedlab.apps.kit.otlp_export`),
which ships them as OTLP. Without a processor, or for unsampled traces, spans
still carry the context but are not recorded. Code that calls a store or any
other dependency opens its own span::

    with span("postgres SELECT", kind=CLIENT, attributes={"db.system": "postgresql"}):
        rows = await fetch()

An exception leaving the block marks the span as an error and is re-raised.
"""

from __future__ import annotations

import asyncio
import re
import secrets
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from enum import IntEnum
from typing import Protocol, TypeAlias

TRACEPARENT = "traceparent"

_TRACEPARENT_RE = re.compile(
    r"^(?P<version>[0-9a-f]{2})-(?P<trace_id>[0-9a-f]{32})-(?P<span_id>[0-9a-f]{16})-(?P<flags>[0-9a-f]{2})"
    r"(?P<rest>-.*)?$"
)
_ZERO_TRACE = "0" * 32
_ZERO_SPAN = "0" * 16


@dataclass(frozen=True, slots=True)
class TraceContext:
    """One span of a trace: the ids a ``traceparent`` header carries."""

    trace_id: str
    span_id: str
    sampled: bool = True

    def child(self) -> TraceContext:
        """A new span in the same trace."""
        return TraceContext(self.trace_id, secrets.token_hex(8), self.sampled)

    def header(self) -> str:
        """This span as a ``traceparent`` header value (version 00)."""
        return f"00-{self.trace_id}-{self.span_id}-{'01' if self.sampled else '00'}"


def new_trace() -> TraceContext:
    """The root span of a new trace."""
    return TraceContext(secrets.token_hex(16), secrets.token_hex(8), True)


def parse_traceparent(value: str | None) -> TraceContext | None:
    """The context of a ``traceparent`` header, or None when it is absent or malformed."""
    if not value:
        return None
    match = _TRACEPARENT_RE.match(value.strip())
    if match is None:
        return None
    version = match["version"]
    if version == "ff" or (version == "00" and match["rest"] is not None):
        return None
    trace_id, span_id = match["trace_id"], match["span_id"]
    if trace_id == _ZERO_TRACE or span_id == _ZERO_SPAN:
        return None
    return TraceContext(trace_id, span_id, bool(int(match["flags"], 16) & 0x01))


current_trace: ContextVar[TraceContext | None] = ContextVar("remedlab_current_trace", default=None)


def current_trace_id() -> str | None:
    """The trace id of the request being handled, if any."""
    ctx = current_trace.get()
    return ctx.trace_id if ctx is not None else None


# --------------------------------------------------------------------------- spans

AttributeValue: TypeAlias = str | bool | int | float | Sequence[str] | Sequence[bool] | Sequence[int] | Sequence[float]
"""What an attribute may hold: the OTLP scalar types and homogeneous arrays of them."""


class SpanKind(IntEnum):
    """The OTLP span kinds, with their wire values."""

    INTERNAL = 1
    SERVER = 2
    CLIENT = 3
    PRODUCER = 4
    CONSUMER = 5


class StatusCode(IntEnum):
    """The OTLP span status codes, with their wire values."""

    UNSET = 0
    OK = 1
    ERROR = 2


INTERNAL = SpanKind.INTERNAL
SERVER = SpanKind.SERVER
CLIENT = SpanKind.CLIENT
PRODUCER = SpanKind.PRODUCER
CONSUMER = SpanKind.CONSUMER


@dataclass(frozen=True, slots=True)
class SpanEvent:
    """Something that happened during a span (e.g. an ``exception``)."""

    name: str
    time_ns: int
    attributes: dict[str, AttributeValue]


class Span:
    """One timed operation of a trace. End it exactly once (``end``); later calls do nothing."""

    __slots__ = (
        "_ended",
        "_start_perf",
        "attributes",
        "context",
        "end_ns",
        "events",
        "kind",
        "name",
        "parent_span_id",
        "recording",
        "start_ns",
        "status_code",
        "status_message",
    )

    def __init__(
        self,
        name: str,
        context: TraceContext,
        parent_span_id: str = "",
        kind: SpanKind = SpanKind.INTERNAL,
        attributes: Mapping[str, AttributeValue] | None = None,
        *,
        recording: bool = True,
    ) -> None:
        self.name = name
        self.context = context
        self.parent_span_id = parent_span_id
        self.kind = kind
        self.attributes: dict[str, AttributeValue] = dict(attributes or {})
        self.events: list[SpanEvent] = []
        self.status_code = StatusCode.UNSET
        self.status_message = ""
        self.recording = recording
        self.start_ns = time.time_ns()
        self._start_perf = time.perf_counter_ns()
        self.end_ns = 0
        self._ended = False

    @property
    def ended(self) -> bool:
        return self._ended

    def set_attribute(self, key: str, value: AttributeValue | None) -> None:
        """Set one attribute (None leaves it out)."""
        if value is not None:
            self.attributes[key] = value

    def set_attributes(self, attributes: Mapping[str, AttributeValue | None]) -> None:
        for key, value in attributes.items():
            self.set_attribute(key, value)

    def set_status(self, code: StatusCode, message: str = "") -> None:
        """Set the status; an ERROR is never downgraded, and only an ERROR carries a message."""
        if self.status_code == StatusCode.ERROR and code != StatusCode.ERROR:
            return
        self.status_code = code
        self.status_message = message if code == StatusCode.ERROR else ""

    def add_event(self, name: str, attributes: Mapping[str, AttributeValue] | None = None) -> None:
        self.events.append(SpanEvent(name, time.time_ns(), dict(attributes or {})))

    def record_exception(self, exc: BaseException, *, set_error: bool = True) -> None:
        """An ``exception`` event for ``exc``; with ``set_error``, the span's status becomes ERROR."""
        message = str(exc)
        self.add_event("exception", {"exception.type": type(exc).__name__, "exception.message": message})
        if set_error:
            described = f"{type(exc).__name__}: {message}" if message else type(exc).__name__
            self.set_status(StatusCode.ERROR, described)

    def end(self) -> None:
        """Stop the clock and hand a recording span to the span processor."""
        if self._ended:
            return
        self._ended = True
        self.end_ns = self.start_ns + (time.perf_counter_ns() - self._start_perf)
        processor = _processor
        if self.recording and processor is not None:
            try:
                processor.on_end(self)
            except Exception:  # recording must never break the operation it records
                pass

    @property
    def duration_ns(self) -> int:
        return max(0, self.end_ns - self.start_ns) if self._ended else 0

    def __repr__(self) -> str:
        return f"Span({self.name!r}, {self.kind.name}, trace={self.context.trace_id}, span={self.context.span_id})"


class SpanProcessor(Protocol):
    """Receives every recording span when it ends; must return at once (never block)."""

    def on_end(self, span: Span) -> None: ...


_processor: SpanProcessor | None = None


def set_span_processor(processor: SpanProcessor | None) -> SpanProcessor | None:
    """Send ended spans to ``processor`` (None: record nothing); returns the one it replaces."""
    global _processor
    previous, _processor = _processor, processor
    return previous


def span_processor() -> SpanProcessor | None:
    return _processor


current_span: ContextVar[Span | None] = ContextVar("remedlab_current_span", default=None)


class _Current:
    """Marker: the parent is whatever span is current."""


CURRENT = _Current()


def start_span(
    name: str,
    *,
    kind: SpanKind = SpanKind.INTERNAL,
    attributes: Mapping[str, AttributeValue] | None = None,
    parent: TraceContext | _Current | None = CURRENT,
) -> Span:
    """A started span, child of ``parent`` (by default the current context; None starts a new trace).

    It is not made current: see :func:`use_span`, or use :func:`span` for both.
    """
    parent_ctx = current_trace.get() if isinstance(parent, _Current) else parent
    if parent_ctx is None:
        context = new_trace()
        parent_id = ""
    else:
        context = parent_ctx.child()
        parent_id = parent_ctx.span_id
    recording = context.sampled and _processor is not None
    return Span(name, context, parent_id, kind, attributes, recording=recording)


@contextmanager
def use_span(active: Span) -> Iterator[Span]:
    """Make ``active`` the current span (and its context the one propagated) inside the block."""
    trace_token = current_trace.set(active.context)
    span_token = current_span.set(active)
    try:
        yield active
    finally:
        current_span.reset(span_token)
        current_trace.reset(trace_token)


@contextmanager
def span(
    name: str,
    *,
    kind: SpanKind = SpanKind.INTERNAL,
    attributes: Mapping[str, AttributeValue] | None = None,
) -> Iterator[Span]:
    """A current span around the block, child of the current one; an exception marks it ERROR."""
    opened = start_span(name, kind=kind, attributes=attributes)
    try:
        with use_span(opened):
            yield opened
    except asyncio.CancelledError:
        opened.set_status(StatusCode.ERROR, "cancelled")
        raise
    except BaseException as exc:
        opened.record_exception(exc)
        raise
    finally:
        opened.end()
