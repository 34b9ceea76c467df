"""W3C trace context (``traceparent``) for remedlab services.

The serving middleware puts the context of the request being handled into
:data:`current_trace`; the structured logger stamps its ``trace_id`` on every
line and the service client sends a child span of it to the next service, so
one request can be followed through every pod it touches.
"""

from __future__ import annotations

import re
import secrets
from contextvars import ContextVar
from dataclasses import dataclass

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
