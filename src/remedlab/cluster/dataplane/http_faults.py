"""HTTP-level faults (the HTTPChaos actions) as dataplane connection hooks.

The hooks follow the HTTP/1.x messages on a pod's inbound connections to one
port: the request stream is parsed incrementally (keep-alive with several
requests per connection, pipelining, Content-Length and chunked bodies) to
find each request's method and path, and, when the fault targets responses,
the response stream is parsed too, so the n-th response is known to answer
the n-th request.

A stream that is not HTTP/1.x (or not well-formed) is passed through unchanged
from the point where parsing failed: the fault never breaks traffic it does not
understand. A request for a protocol upgrade (or a CONNECT) ends parsing of its
connection, which is a tunnel from then on. A connection that was already
open when the hook was added may be passed through if its first chunk does
not start a message.

Per-connection state is kept in a `weakref.WeakKeyDictionary` keyed by the
`ConnectionInfo` and goes away with the connection.
"""

from __future__ import annotations

import asyncio
import collections
import fnmatch
import random
import re
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

from remedlab.cluster.dataplane.connection_hooks import (
    ConnectionInfo,
    ConnectionRefused,
    FlowDirection,
    PassthroughHook,
)

__all__ = ["HttpAbortHook", "HttpDelayHook", "HttpFaultStats", "HttpTarget"]

HttpTarget = Literal["Request", "Response"]
"""Which message of an exchange the fault acts on, as in HTTPChaos's `target`."""

_MAX_HEAD = 64 * 1024
_MAX_LINE = 8 * 1024
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_DIGITS = re.compile(r"[0-9]+")
_HEX = re.compile(rb"[0-9A-Fa-f]{1,16}")
_PARTIAL_REQUEST_LINE = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]*(?: [^ \r\n]*(?: [HTP/1.]{0,7}[0-9]?\r?)?)?")


class _ParseError(ValueError):
    """The stream is not well-formed HTTP/1.x."""


# Parser states.
_HEAD, _BODY, _CHUNK_SIZE, _CHUNK_DATA, _CHUNK_END, _TRAILER, _RAW = range(7)

# Body framings, decided per message head.
_NO_BODY, _LENGTH, _CHUNKED, _UNTIL_CLOSE, _TUNNEL = range(5)


@dataclass(eq=False)
class _Head:
    """The parts of a message head the faults need."""

    method: str = ""
    """Requests: the method."""
    path: str = ""
    """Requests: the target's path, without query."""
    status: int = 0
    """Responses: the status code."""
    content_length: int | None = None
    transfer_codings: tuple[str, ...] = ()
    upgrade: bool = False
    matched: bool = False
    """Set by the hook: this message is subject to the fault."""

    @property
    def chunked(self) -> bool:
        return bool(self.transfer_codings) and self.transfer_codings[-1] == "chunked"


def _path_of(target: str) -> str:
    if target.startswith("/"):
        return target.split("?", 1)[0]
    if "://" in target:
        return urlsplit(target).path or "/"
    return target  # "*" (OPTIONS) or an authority (CONNECT)


def _parse_start_line(start: str, is_request: bool, head: _Head) -> None:
    if is_request:
        parts = start.split(" ")
        if len(parts) != 3 or not _TOKEN.fullmatch(parts[0]) or not parts[1] or not parts[2].startswith("HTTP/1."):
            raise _ParseError(f"bad request line {start[:80]!r}")
        head.method = parts[0]
        head.path = _path_of(parts[1])
    else:
        parts = start.split(" ", 2)
        if len(parts) < 2 or not parts[0].startswith("HTTP/1.") or not (len(parts[1]) == 3 and parts[1].isdecimal()):
            raise _ParseError(f"bad status line {start[:80]!r}")
        head.status = int(parts[1])


def _check_partial_head(buf: bytes | bytearray, is_request: bool) -> None:
    """Fail early on a head that cannot become HTTP/1.x, rather than hold bytes of another protocol."""
    end = buf.find(b"\r\n")
    if end >= 0:
        _parse_start_line(bytes(buf[:end]).decode("latin-1"), is_request, _Head())
        return
    if len(buf) > _MAX_LINE:
        raise _ParseError("start line too long")
    if is_request:
        if not _PARTIAL_REQUEST_LINE.fullmatch(buf):
            raise _ParseError("not an HTTP request")
    elif not b"HTTP/1.".startswith(bytes(buf[:7])):
        raise _ParseError("not an HTTP response")


def _parse_head(block: bytes, is_request: bool) -> _Head:
    lines = block.decode("latin-1").split("\r\n")
    head = _Head()
    _parse_start_line(lines[0], is_request, head)
    codings: list[str] = []
    for line in lines[1:]:
        name, colon, value = line.partition(":")
        if not colon or not _TOKEN.fullmatch(name):
            raise _ParseError(f"bad header line {line[:80]!r}")
        key = name.lower()
        value = value.strip(" \t")
        if key == "content-length":
            if not _DIGITS.fullmatch(value):
                raise _ParseError(f"bad Content-Length {value[:40]!r}")
            length = int(value)
            if head.content_length is not None and head.content_length != length:
                raise _ParseError("conflicting Content-Length headers")
            head.content_length = length
        elif key == "transfer-encoding":
            codings.extend(coding.strip().lower() for coding in value.split(",") if coding.strip())
        elif key == "upgrade":
            head.upgrade = True
    head.transfer_codings = tuple(codings)
    return head


class _Http1Stream:
    """Incremental framing of the HTTP/1.x messages of one direction of a connection.

    `feed` takes the stream's bytes in any slicing and returns the message
    heads completed by them. `frame` (supplied by the hook) tells, for each
    head, how the message's body is delimited.
    """

    __slots__ = ("_buf", "_frame", "_is_request", "_remaining", "_state")

    def __init__(self, is_request: bool, frame: Callable[[_Head], int]) -> None:
        self._is_request = is_request
        self._frame = frame
        self._state = _HEAD
        self._buf = bytearray()
        self._remaining = 0

    @property
    def raw(self) -> bool:
        """Parsing has ended: the rest of the stream is a body read until close, or a tunnel."""
        return self._state == _RAW

    @property
    def incomplete_head(self) -> int:
        """How many bytes at the end of what was fed belong to a message head not yet complete."""
        return len(self._buf) if self._state == _HEAD else 0

    def _take_until(self, data: bytes, index: int, separator: bytes, limit: int) -> tuple[bytes | None, int]:
        """Bytes up to `separator` (buffered ones first) and the index after it, or None when not there yet."""
        buf = self._buf
        if buf:
            tail = bytes(buf[-(len(separator) - 1) :])
            found = (tail + data[index : index + len(separator) - 1]).find(separator)
            if 0 <= found < len(tail):
                block = bytes(buf[: len(buf) - len(tail) + found])
                buf.clear()
                return block, index + found + len(separator) - len(tail)
        position = data.find(separator, index)
        if position < 0:
            buf += data[index:]
            if len(buf) > limit:
                raise _ParseError("head or line too long")
            return None, len(data)
        block = bytes(buf) + data[index:position]
        buf.clear()
        return block, position + len(separator)

    def _start_body(self, head: _Head) -> None:
        framing = self._frame(head)
        if framing == _NO_BODY:
            self._state = _HEAD
        elif framing == _LENGTH:
            self._remaining = head.content_length or 0
            self._state = _BODY if self._remaining else _HEAD
        elif framing == _CHUNKED:
            self._state = _CHUNK_SIZE
        else:
            self._state = _RAW

    def feed(self, data: bytes) -> list[_Head]:
        heads: list[_Head] = []
        index = 0
        size = len(data)
        while index < size:
            state = self._state
            if state == _RAW:
                break
            if state in (_BODY, _CHUNK_DATA):
                take = min(self._remaining, size - index)
                index += take
                self._remaining -= take
                if not self._remaining:
                    self._state = _HEAD if state == _BODY else _CHUNK_END
                continue
            if state == _HEAD:
                if not self._buf:
                    # Empty lines between messages are allowed and skipped.
                    while index < size and data[index] in b"\r\n":
                        index += 1
                    if index == size:
                        break
                block, index = self._take_until(data, index, b"\r\n\r\n", _MAX_HEAD)
                if block is None:
                    _check_partial_head(self._buf, self._is_request)
                    break
                head = _parse_head(block, self._is_request)
                heads.append(head)
                self._start_body(head)
                continue
            line, index = self._take_until(data, index, b"\r\n", _MAX_LINE)
            if line is None:
                break
            if state == _CHUNK_SIZE:
                digits = line.split(b";", 1)[0].strip(b" \t")
                if not _HEX.fullmatch(digits):
                    raise _ParseError(f"bad chunk size {digits[:20]!r}")
                chunk = int(digits, 16)
                self._remaining = chunk
                self._state = _CHUNK_DATA if chunk else _TRAILER
            elif state == _CHUNK_END:
                if line:
                    raise _ParseError("chunk data longer than its size")
                self._state = _CHUNK_SIZE
            elif not line:  # _TRAILER: an empty line ends the message
                self._state = _HEAD
        return heads


@dataclass(frozen=True)
class _Pending:
    """A request whose response has not started yet."""

    method: str
    matched: bool


class _ConnectionState:
    __slots__ = ("held", "pending", "request", "response", "unparsed")

    def __init__(self, hook: _HttpFault) -> None:
        self.pending: collections.deque[_Pending] = collections.deque()
        self.held = b""
        self.unparsed = False
        self.request = _Http1Stream(True, lambda head: hook.frame_request(self, head))
        self.response = _Http1Stream(False, lambda head: hook.frame_response(self, head))


@dataclass
class HttpFaultStats:
    """What an HTTP fault hook did so far."""

    matched: int = 0
    """Messages the fault acted on (after the `percent` draw)."""
    aborted: int = 0
    """Connections aborted."""
    delayed: int = 0
    """Messages delayed."""
    unparsed: int = 0
    """Connections passed through from some point on because their stream was not HTTP/1.x."""


class _HttpFault(PassthroughHook):
    """Request matching and stream tracking shared by the HTTP faults."""

    def __init__(
        self,
        port: int,
        path_glob: str,
        method: str | None,
        target: HttpTarget,
        percent: float,
        seed: int | None,
    ) -> None:
        if target not in ("Request", "Response"):
            raise ValueError(f"bad HTTP fault target {target!r}")
        self.port = int(port)
        self.path_glob = path_glob
        self.method = None if method is None else method.upper()
        self.target: HttpTarget = target
        self.percent = float(percent)
        self.stats = HttpFaultStats()
        self._rng = random.Random(seed)
        self._states: weakref.WeakKeyDictionary[ConnectionInfo, _ConnectionState] = weakref.WeakKeyDictionary()

    def matches(self, method: str, path: str) -> bool:
        """Whether a request with this method and path is selected (before the `percent` draw)."""
        if self.method is not None and method != self.method:
            return False
        return self.path_glob == "*" or fnmatch.fnmatchcase(path, self.path_glob)

    def frame_request(self, state: _ConnectionState, head: _Head) -> int:
        head.matched = self.matches(head.method, head.path) and (
            self.percent >= 100.0 or self._rng.random() * 100.0 < self.percent
        )
        if self.target == "Response":
            state.pending.append(_Pending(head.method, head.matched))
        if head.method == "CONNECT" or head.upgrade:
            return _TUNNEL
        if head.transfer_codings:
            if not head.chunked:
                raise _ParseError("request body with an unknown length")
            return _CHUNKED
        return _LENGTH if head.content_length else _NO_BODY

    def frame_response(self, state: _ConnectionState, head: _Head) -> int:
        status = head.status
        if status == 101:
            return _TUNNEL
        if status < 200:
            return _NO_BODY  # an interim response; the final one follows
        pending = state.pending.popleft() if state.pending else None
        method = "" if pending is None else pending.method
        head.matched = pending is not None and pending.matched
        if method == "HEAD" or status in (204, 304):
            return _NO_BODY
        if method == "CONNECT" and status < 300:
            return _TUNNEL
        if head.transfer_codings:
            return _CHUNKED if head.chunked else _UNTIL_CLOSE
        return _UNTIL_CLOSE if head.content_length is None else _LENGTH

    async def inject(self, conn: ConnectionInfo, messages: int) -> None:
        """Act on `messages` matched messages that start in the chunk about to be forwarded."""
        raise NotImplementedError

    async def on_data(self, conn: ConnectionInfo, direction: FlowDirection, data: bytes) -> bytes:
        if conn.dest_port != self.port:
            return data
        targeted = direction == ("request" if self.target == "Request" else "response")
        if not targeted and direction == "response":
            return data  # faults on requests do not need the responses
        state = self._states.get(conn)
        if state is None:
            state = _ConnectionState(self)
            self._states[conn] = state
        out = state.held + data if state.held else data
        state.held = b""
        if state.unparsed:
            return out
        stream = state.request if direction == "request" else state.response
        if stream.raw:
            return out
        try:
            heads = stream.feed(data)
        except _ParseError:
            state.unparsed = True
            self.stats.unparsed += 1
            return out
        if not targeted:
            return out
        keep = stream.incomplete_head
        if keep:
            # Hold a partial head back until it is complete and can be matched.
            state.held = out[len(out) - keep :]
            out = out[: len(out) - keep]
        matched = sum(1 for head in heads if head.matched)
        if matched:
            self.stats.matched += matched
            await self.inject(conn, matched)
        return out


class HttpAbortHook(_HttpFault):
    """Mirrors HTTPChaos `abort: true` on a pod's inbound traffic to `port`.

    Target "Request": a matching request never reaches the server; its
    connection is reset as soon as the request's head has arrived.
    Target "Response": the server handles the request, but when its response
    starts the connection is reset instead of the response being delivered.
    A request matches when its method is `method` (any when None) and its
    path (without query) matches `path_glob`; then `percent` % of matching
    requests are aborted. Bytes that come before the aborted message in the
    same chunk (pipelined messages) are lost with the connection.
    """

    def __init__(
        self,
        port: int,
        path_glob: str = "*",
        method: str | None = None,
        target: HttpTarget = "Request",
        percent: float = 100.0,
        *,
        seed: int | None = None,
    ) -> None:
        super().__init__(port, path_glob, method, target, percent, seed)

    async def inject(self, conn: ConnectionInfo, messages: int) -> None:
        self.stats.aborted += 1
        raise ConnectionRefused(f"HTTP fault: {self.target.lower()} aborted")


class HttpDelayHook(_HttpFault):
    """Mirrors HTTPChaos `delay` on a pod's inbound traffic to `port`.

    Target "Request": a matching request reaches the server `delay_s` late.
    Target "Response": the response to a matching request reaches the client
    `delay_s` late. Matching is as for `HttpAbortHook`. Messages behind a
    delayed one on the same connection wait for it, as HTTP/1.1 keeps order;
    matching messages that start in the same chunk share one delay.
    """

    def __init__(
        self,
        port: int,
        delay_s: float,
        path_glob: str = "*",
        method: str | None = None,
        target: HttpTarget = "Request",
        percent: float = 100.0,
        *,
        seed: int | None = None,
    ) -> None:
        super().__init__(port, path_glob, method, target, percent, seed)
        if delay_s < 0:
            raise ValueError("delay must not be negative")
        self.delay_s = float(delay_s)

    async def inject(self, conn: ConnectionInfo, messages: int) -> None:
        self.stats.delayed += messages
        if self.delay_s > 0.0:
            await asyncio.sleep(self.delay_s)
