"""SPDY/3.1 frames: reading them from a byte stream and writing them, header blocks compressed.

The subset kubectl's port-forward needs, from the protocol's draft 3.1. Every frame has an 8-byte
header. A control frame: the control bit and the version (3) in 16 bits, the type in 16, then
flags (8 bits) and the payload's length (24). A data frame: the stream id in 31 bits (control bit
clear), then flags and length the same way; FIN (0x01) ends the sender's half of the stream.

    SYN_STREAM (1)    stream id, associated stream id, priority (3 bits) and slot, header block
    SYN_REPLY (2)     stream id, header block
    RST_STREAM (3)    stream id, status
    SETTINGS (4)      a count, then (flags 8 bits | id 24 bits, value 32 bits) entries
    PING (6)          an id (odd from the client, even from the server); the peer echoes it
    GOAWAY (7)        the last stream id accepted, status
    HEADERS (8)       stream id, header block
    WINDOW_UPDATE (9) stream id, delta

A header block is a count of name/value pairs, each name and value prefixed by its 32-bit length;
names are lower case and several values of one name are joined by NUL. Each direction compresses
all its header blocks as one zlib stream primed with `HEADER_DICTIONARY`, flushed (Z_SYNC_FLUSH)
at the end of each block, so a `FrameReader` and a `FrameWriter` each live as long as their
connection and see every frame in order.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import IntEnum

from remedlab.cluster.apiserver.spdy_dictionary import HEADER_DICTIONARY

VERSION = 3
FLAG_FIN = 0x01
FLAG_UNIDIRECTIONAL = 0x02
MAX_DATA_LENGTH = (1 << 24) - 1
MAX_HEADER_BLOCK = 256 * 1024
"""The most bytes a header block may inflate to (the port-forward's blocks are tens of bytes)."""

_HEADER = struct.Struct(">II")
_STREAM_ID_MASK = 0x7FFFFFFF


class ControlType(IntEnum):
    SYN_STREAM = 1
    SYN_REPLY = 2
    RST_STREAM = 3
    SETTINGS = 4
    PING = 6
    GOAWAY = 7
    HEADERS = 8
    WINDOW_UPDATE = 9


class RstStatus(IntEnum):
    PROTOCOL_ERROR = 1
    INVALID_STREAM = 2
    REFUSED_STREAM = 3
    UNSUPPORTED_VERSION = 4
    CANCEL = 5
    INTERNAL_ERROR = 6
    FLOW_CONTROL_ERROR = 7
    STREAM_IN_USE = 8
    STREAM_ALREADY_CLOSED = 9
    FRAME_TOO_LARGE = 11


class GoAwayStatus(IntEnum):
    OK = 0
    PROTOCOL_ERROR = 1
    INTERNAL_ERROR = 2


class SpdyError(Exception):
    """Bytes that are not the SPDY/3.1 the reader understands; the connection cannot go on."""


Headers = Mapping[str, Sequence[str]]
"""A header block: lower-case names, each with its values."""


def header(headers: Headers, name: str) -> str | None:
    """The first value of `name` (any case) in a header block; None when it is absent."""
    values = headers.get(name.lower())
    return values[0] if values else None


@dataclass(frozen=True)
class DataFrame:
    stream_id: int
    data: bytes = b""
    fin: bool = False


@dataclass(frozen=True)
class SynStream:
    stream_id: int
    headers: Headers = field(default_factory=dict)
    associated_to: int = 0
    priority: int = 0
    fin: bool = False
    unidirectional: bool = False


@dataclass(frozen=True)
class SynReply:
    stream_id: int
    headers: Headers = field(default_factory=dict)
    fin: bool = False


@dataclass(frozen=True)
class RstStream:
    stream_id: int
    status: int


@dataclass(frozen=True)
class Settings:
    entries: tuple[tuple[int, int, int], ...] = ()
    """(flags, id, value) for each setting."""
    clear: bool = False


@dataclass(frozen=True)
class Ping:
    ping_id: int


@dataclass(frozen=True)
class GoAway:
    last_good_stream_id: int
    status: int = GoAwayStatus.OK


@dataclass(frozen=True)
class HeadersFrame:
    stream_id: int
    headers: Headers = field(default_factory=dict)
    fin: bool = False


@dataclass(frozen=True)
class WindowUpdate:
    stream_id: int
    delta: int


@dataclass(frozen=True)
class UnknownControl:
    """A control frame of a type this module does not read (NOOP, CREDENTIAL...): skipped."""

    frame_type: int
    flags: int
    payload: bytes


Frame = (
    DataFrame
    | SynStream
    | SynReply
    | RstStream
    | Settings
    | Ping
    | GoAway
    | HeadersFrame
    | WindowUpdate
    | UnknownControl
)


# ---------------------------------------------------------------------------------------- header blocks


def encode_header_block(headers: Headers) -> bytes:
    """A header block, uncompressed: names lower-cased, several values joined by NUL."""
    parts = [len(headers).to_bytes(4, "big")]
    for name, values in headers.items():
        raw_name = name.lower().encode()
        raw_value = b"\0".join(v.encode() for v in values)
        parts += [len(raw_name).to_bytes(4, "big"), raw_name, len(raw_value).to_bytes(4, "big"), raw_value]
    return b"".join(parts)


def decode_header_block(block: bytes) -> dict[str, list[str]]:
    """The name/value pairs of an uncompressed header block; SpdyError when it is malformed."""
    view = memoryview(block)

    def take(size: int) -> bytes:
        nonlocal view
        if len(view) < size:
            raise SpdyError("header block is truncated")
        chunk, view = bytes(view[:size]), view[size:]
        return chunk

    def string() -> str:
        return take(int.from_bytes(take(4), "big")).decode("utf-8", errors="replace")

    headers: dict[str, list[str]] = {}
    for _ in range(int.from_bytes(take(4), "big")):
        name = string().lower()
        headers.setdefault(name, []).extend(string().split("\0"))
    if len(view):
        raise SpdyError("header block has bytes after its last pair")
    return headers


class HeaderCompressor:
    """One direction's header compression: a zlib stream primed with the SPDY dictionary."""

    def __init__(self) -> None:
        self._zlib = zlib.compressobj(zlib.Z_BEST_COMPRESSION, zlib.DEFLATED, 15, 9, zdict=HEADER_DICTIONARY)

    def compress(self, headers: Headers) -> bytes:
        return self._zlib.compress(encode_header_block(headers)) + self._zlib.flush(zlib.Z_SYNC_FLUSH)


class HeaderDecompressor:
    """The other direction's: every compressed block of the connection, in order."""

    def __init__(self) -> None:
        self._zlib = zlib.decompressobj(zdict=HEADER_DICTIONARY)

    def decompress(self, compressed: bytes) -> dict[str, list[str]]:
        try:
            block = self._zlib.decompress(compressed, MAX_HEADER_BLOCK)
        except zlib.error as exc:
            raise SpdyError(f"header block does not decompress: {exc}") from None
        if self._zlib.unconsumed_tail:
            raise SpdyError(f"header block inflates to more than {MAX_HEADER_BLOCK} bytes")
        return decode_header_block(block)


# ---------------------------------------------------------------------------------------- writing


def _control(frame_type: ControlType, flags: int, payload: bytes) -> bytes:
    if len(payload) > MAX_DATA_LENGTH:
        raise SpdyError(f"a {frame_type.name} frame cannot carry {len(payload)} bytes")
    return _HEADER.pack(0x80000000 | VERSION << 16 | frame_type, flags << 24 | len(payload)) + payload


def _fin(fin: bool) -> int:
    return FLAG_FIN if fin else 0


class FrameWriter:
    """Frames to bytes, for one direction of a connection (it owns that direction's header compression)."""

    def __init__(self) -> None:
        self._headers = HeaderCompressor()

    def encode(self, frame: Frame) -> bytes:
        match frame:
            case DataFrame(stream_id, data, fin):
                if len(data) > MAX_DATA_LENGTH:
                    raise SpdyError(f"a data frame cannot carry {len(data)} bytes")
                return _HEADER.pack(stream_id & _STREAM_ID_MASK, _fin(fin) << 24 | len(data)) + data
            case SynStream(stream_id, headers, associated_to, priority, fin, unidirectional):
                flags = _fin(fin) | (FLAG_UNIDIRECTIONAL if unidirectional else 0)
                fields = struct.pack(">IIBB", stream_id, associated_to, (priority & 0x7) << 5, 0)
                return _control(ControlType.SYN_STREAM, flags, fields + self._headers.compress(headers))
            case SynReply(stream_id, headers, fin):
                payload = stream_id.to_bytes(4, "big") + self._headers.compress(headers)
                return _control(ControlType.SYN_REPLY, _fin(fin), payload)
            case HeadersFrame(stream_id, headers, fin):
                payload = stream_id.to_bytes(4, "big") + self._headers.compress(headers)
                return _control(ControlType.HEADERS, _fin(fin), payload)
            case RstStream(stream_id, status):
                return _control(ControlType.RST_STREAM, 0, struct.pack(">II", stream_id, status))
            case Settings(entries, clear):
                body = b"".join(struct.pack(">II", flags << 24 | ident, value) for flags, ident, value in entries)
                return _control(ControlType.SETTINGS, int(clear), len(entries).to_bytes(4, "big") + body)
            case Ping(ping_id):
                return _control(ControlType.PING, 0, ping_id.to_bytes(4, "big"))
            case GoAway(last_good_stream_id, status):
                return _control(ControlType.GOAWAY, 0, struct.pack(">II", last_good_stream_id, status))
            case WindowUpdate(stream_id, delta):
                return _control(ControlType.WINDOW_UPDATE, 0, struct.pack(">II", stream_id, delta))
            case UnknownControl(frame_type, flags, payload):
                header_word = 0x80000000 | VERSION << 16 | frame_type
                return _HEADER.pack(header_word, flags << 24 | len(payload)) + payload
        raise TypeError(f"not a SPDY frame: {frame!r}")


# ---------------------------------------------------------------------------------------- reading


class FrameReader:
    """Frames from a byte stream that arrives in pieces of any size (a tunnel's messages, say)."""

    def __init__(self) -> None:
        self._pending = bytearray()
        self._headers = HeaderDecompressor()

    def feed(self, data: bytes) -> list[Frame]:
        """The frames `data` completes, in order (a partial frame waits for the next bytes)."""
        self._pending += data
        frames: list[Frame] = []
        while len(self._pending) >= _HEADER.size:
            first, flags_length = _HEADER.unpack_from(self._pending)
            end = _HEADER.size + (flags_length & MAX_DATA_LENGTH)
            if len(self._pending) < end:
                break
            payload = bytes(self._pending[_HEADER.size : end])
            del self._pending[:end]
            flags = flags_length >> 24
            if first & 0x80000000:
                frames.append(self._control((first >> 16) & 0x7FFF, first & 0xFFFF, flags, payload))
            else:
                frames.append(DataFrame(first & _STREAM_ID_MASK, payload, bool(flags & FLAG_FIN)))
        return frames

    def _control(self, version: int, frame_type: int, flags: int, payload: bytes) -> Frame:
        if version != VERSION:
            raise SpdyError(f"SPDY version {version} is not spoken here (only {VERSION})")
        fin = bool(flags & FLAG_FIN)
        if frame_type == ControlType.SYN_STREAM:
            if len(payload) < 10:
                raise SpdyError(f"a SYN_STREAM frame of {len(payload)} bytes is malformed")
            stream_id, associated, priority = struct.unpack_from(">IIB", payload)
            return SynStream(
                stream_id & _STREAM_ID_MASK,
                self._headers.decompress(payload[10:]),
                associated & _STREAM_ID_MASK,
                priority >> 5,
                fin,
                bool(flags & FLAG_UNIDIRECTIONAL),
            )
        if frame_type in (ControlType.SYN_REPLY, ControlType.HEADERS):
            (stream_id,) = _words(payload, 1, frame_type, exact=False)
            headers = self._headers.decompress(payload[4:])
            if frame_type == ControlType.SYN_REPLY:
                return SynReply(stream_id & _STREAM_ID_MASK, headers, fin)
            return HeadersFrame(stream_id & _STREAM_ID_MASK, headers, fin)
        if frame_type == ControlType.RST_STREAM:
            stream_id, status = _words(payload, 2, frame_type)
            return RstStream(stream_id & _STREAM_ID_MASK, status)
        if frame_type == ControlType.SETTINGS:
            (count,) = _words(payload, 1, frame_type, exact=False)
            words = _words(payload[4:], 2 * count, frame_type)
            entries = tuple((words[i] >> 24, words[i] & 0xFFFFFF, words[i + 1]) for i in range(0, len(words), 2))
            return Settings(entries, bool(flags & 0x01))
        if frame_type == ControlType.PING:
            (ping_id,) = _words(payload, 1, frame_type)
            return Ping(ping_id)
        if frame_type == ControlType.GOAWAY:
            last, status = _words(payload, 2, frame_type)
            return GoAway(last & _STREAM_ID_MASK, status)
        if frame_type == ControlType.WINDOW_UPDATE:
            stream_id, delta = _words(payload, 2, frame_type)
            return WindowUpdate(stream_id & _STREAM_ID_MASK, delta & _STREAM_ID_MASK)
        return UnknownControl(frame_type, flags, payload)


def _words(payload: bytes, count: int, frame_type: int, exact: bool = True) -> tuple[int, ...]:
    """The first `count` 32-bit big-endian words of a control frame's payload."""
    size = 4 * count
    if len(payload) < size or (exact and len(payload) != size):
        name = ControlType(frame_type).name
        raise SpdyError(f"a {name} frame of {len(payload)} bytes is malformed")
    return struct.unpack_from(f">{count}I", payload)
