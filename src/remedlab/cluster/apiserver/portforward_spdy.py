"""`pods/portforward` as kubectl speaks it: SPDY/3.1 tunnelled through a WebSocket.

kubectl 1.31+ asks for the WebSocket subprotocol `SPDY/3.1+portforward.k8s.io` (the
PortForwardWebsockets feature) and then writes a SPDY/3.1 connection into binary messages as into
a TCP connection: frames are split across messages and joined in them at will, so the session
reads the messages as one byte stream and writes each of its frames as one message.

Each local connection kubectl accepts opens two streams (SYN_STREAM, answered with SYN_REPLY),
with headers `streamType` (`error` or `data`), `port` and `requestID` (the same for both): the
pair is one forwarded connection, relayed as `PodConnection` does once both have arrived. The
error stream carries a message when the forward fails, then both streams end (FIN). Streams
without a valid `port` or `streamType` are reset, as the kubelet resets them; a stream of a type
its request already has gets an error message on that request's error stream. Streams without a
`requestID` (old clients) pair as the kubelet pairs them: an error stream's own id, a data
stream's id minus 2. A pair still incomplete after STREAM_PAIR_TIMEOUT is given up.

kubectl PINGs every 10 seconds (odd ids); each is echoed. After a GOAWAY no new stream is
accepted. Bytes that are not SPDY/3 end the session with a GOAWAY (PROTOCOL_ERROR). The session
ends when the client closes the WebSocket; its connections to the pod are closed with it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field
from typing import Literal

from starlette.websockets import WebSocket

from remedlab.cluster.apiserver.portforward_connection import PodConnection, PodPorts
from remedlab.cluster.apiserver.spdy_frames import (
    DataFrame,
    Frame,
    FrameReader,
    FrameWriter,
    GoAway,
    GoAwayStatus,
    Headers,
    Ping,
    RstStatus,
    RstStream,
    SpdyError,
    SynReply,
    SynStream,
    header,
)
from remedlab.cluster.apiserver.websocket_channels import SEND_ERRORS, next_message

log = logging.getLogger(__name__)

STREAM_PAIR_TIMEOUT = 30.0
"""How long the second stream of a forwarded connection may take to come (the kubelet's default)."""

StreamType = Literal["error", "data"]


@dataclass
class _Stream:
    stream_id: int
    kind: StreamType
    port: int
    ended: bool = False
    """This side sent FIN (or the client reset the stream): nothing more goes out on it."""
    connection: PodConnection | None = None


@dataclass
class _Pair:
    request_id: str
    error: _Stream | None = None
    data: _Stream | None = None
    waiting: asyncio.Task[None] | None = None
    """Gives the pair up if it is still incomplete after STREAM_PAIR_TIMEOUT."""
    forwarding: asyncio.Task[None] | None = None
    streams: list[_Stream] = field(default_factory=list)


def stream_problem(headers: Headers) -> str | None:
    """Why the kubelet refuses a new stream with these headers; None when it takes it."""
    port = header(headers, "port")
    if not port:
        return '"port" header is required'
    if not (port.isascii() and port.isdigit()) or int(port) > 0xFFFF:
        return f'unable to parse "{port}" as a port'
    if int(port) < 1:
        return f'port "{port}" must be > 0'
    kind = header(headers, "streamType")
    if not kind:
        return '"streamType" header is required'
    if kind not in ("error", "data"):
        return f'invalid stream type "{kind}"'
    return None


class SpdyPortForward:
    """One kubectl port-forward session on an accepted WebSocket, forwarding to one pod."""

    def __init__(self, websocket: WebSocket, ports: PodPorts) -> None:
        self.websocket = websocket
        self.ports = ports
        self._reader = FrameReader()
        self._writer = FrameWriter()
        self._sending = asyncio.Lock()
        self._streams: dict[int, _Stream] = {}
        self._pairs: dict[str, _Pair] = {}
        self._last_stream = 0
        self._going_away = False
        self._closed = False

    async def serve(self) -> None:
        """Read the client's frames until it leaves; then close every forwarded connection."""
        try:
            while not self._closed:
                data = await next_message(self.websocket)
                if data is None:
                    break
                try:
                    frames = self._reader.feed(data)
                except SpdyError as exc:
                    log.info("port-forward to %s ends: %s", self.ports.pod, exc)
                    await self._send(GoAway(self._last_stream, GoAwayStatus.PROTOCOL_ERROR))
                    break
                for frame in frames:
                    await self._handle(frame)
        except SEND_ERRORS:
            pass  # the client went mid-read
        finally:
            self._closed = True
            await self._stop_all()
            with contextlib.suppress(*SEND_ERRORS):
                await self.websocket.close(1000)

    async def _send(self, frame: Frame) -> bool:
        """Send one frame (one message); False once the client has gone."""
        if self._closed:
            return False
        async with self._sending:
            try:
                await self.websocket.send_bytes(self._writer.encode(frame))
            except SEND_ERRORS:
                self._closed = True
                return False
        return True

    async def _handle(self, frame: Frame) -> None:
        match frame:
            case SynStream():
                await self._open(frame)
            case DataFrame(stream_id, data, fin):
                stream = self._streams.get(stream_id)
                if stream is not None and stream.connection is not None:
                    if data:
                        await stream.connection.from_client(data)
                    if fin:
                        stream.connection.client_ended()
            case RstStream(stream_id):
                stream = self._streams.pop(stream_id, None)
                if stream is not None:
                    stream.ended = True
                    if stream.connection is not None:
                        stream.connection.reset()
            case Ping(ping_id) if ping_id % 2 == 1:
                await self._send(frame)  # the client's: echoed (even ids would be answers to ours)
            case GoAway():
                self._going_away = True
            case _:
                pass  # SETTINGS, WINDOW_UPDATE, HEADERS...: nothing the port-forward needs

    async def _open(self, syn: SynStream) -> None:
        if syn.stream_id in self._streams or syn.stream_id % 2 == 0 or self._going_away:
            await self._send(RstStream(syn.stream_id, RstStatus.REFUSED_STREAM))
            return
        problem = stream_problem(syn.headers)
        if problem is not None:
            log.info("port-forward stream %d to %s rejected: %s", syn.stream_id, self.ports.pod, problem)
            await self._send(RstStream(syn.stream_id, RstStatus.CANCEL))
            return
        self._last_stream = max(self._last_stream, syn.stream_id)
        kind: StreamType = "error" if header(syn.headers, "streamType") == "error" else "data"
        stream = _Stream(syn.stream_id, kind, int(header(syn.headers, "port") or 0))
        if kind == "data":
            stream.connection = self._connection(stream)
        self._streams[syn.stream_id] = stream
        await self._send(SynReply(syn.stream_id))
        request_id = header(syn.headers, "requestID") or str(syn.stream_id - (2 if kind == "data" else 0))
        pair = self._pairs.get(request_id)
        if pair is None:
            pair = self._pairs[request_id] = _Pair(request_id)
            pair.waiting = asyncio.create_task(self._expire(pair))
        pair.streams.append(stream)
        if getattr(pair, kind) is not None:
            await self._print_error(
                pair, f"error processing stream for request {request_id}: {kind} stream already assigned"
            )
            return
        setattr(pair, kind, stream)
        if pair.error is not None and pair.data is not None and pair.forwarding is None:
            if pair.waiting is not None:
                pair.waiting.cancel()
            pair.forwarding = asyncio.create_task(self._forward(pair, pair.error, pair.data))

    def _connection(self, data: _Stream) -> PodConnection:
        """The relay behind a data stream (it keeps what the client sends until the pair is complete)."""

        async def to_client(chunk: bytes) -> None:
            if not data.ended:
                await self._send(DataFrame(data.stream_id, chunk))

        async def end_to_client() -> None:
            await self._end(data)

        return PodConnection(self.ports, data.port, to_client, end_to_client)

    async def _forward(self, pair: _Pair, error: _Stream, data: _Stream) -> None:
        """Relay the pair's connection, report how it failed (if it did), end both streams."""
        assert data.connection is not None
        try:
            message = await data.connection.run()
            if message is not None and not error.ended:
                await self._send(DataFrame(error.stream_id, message.encode()))
            await self._end(error)
            await self._end(data)
        finally:
            self._forget(pair)

    async def _print_error(self, pair: _Pair, message: str) -> None:
        log.info("port-forward to %s: %s", self.ports.pod, message)
        if pair.error is not None and not pair.error.ended:
            await self._send(DataFrame(pair.error.stream_id, message.encode()))

    async def _expire(self, pair: _Pair) -> None:
        """A pair whose second stream never came: say so on its error stream and end what it has."""
        await asyncio.sleep(STREAM_PAIR_TIMEOUT)
        if pair.forwarding is not None or self._pairs.get(pair.request_id) is not pair:
            return
        await self._print_error(pair, f"(conn={id(self):x}, request={pair.request_id}) timed out waiting for streams")
        for stream in pair.streams:
            await self._end(stream)
        self._forget(pair)

    async def _end(self, stream: _Stream) -> None:
        """This side is done with the stream: FIN, once."""
        if not stream.ended:
            stream.ended = True
            await self._send(DataFrame(stream.stream_id, fin=True))

    def _forget(self, pair: _Pair) -> None:
        if pair.waiting is not None and pair.waiting is not asyncio.current_task():
            pair.waiting.cancel()
        if self._pairs.get(pair.request_id) is pair:
            del self._pairs[pair.request_id]
        for stream in pair.streams:
            if self._streams.get(stream.stream_id) is stream:
                del self._streams[stream.stream_id]

    async def _stop_all(self) -> None:
        tasks = [t for pair in self._pairs.values() for t in (pair.waiting, pair.forwarding) if t is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._pairs.clear()
        self._streams.clear()
