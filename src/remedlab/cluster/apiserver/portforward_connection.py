"""One forwarded connection of `pods/portforward`: a TCP connection to a pod's port, relayed to a client.

The node opens the connection (`PodPorts.connect`, to the pod's IP). Bytes from the client arrive
through `from_client` (in order, from the session's read loop), those from the pod go out through
the `to_client` callback. The relay ends as the kubelet's does (containerd's port-forward): once
one direction has ended (the client's half closed, the pod's half closed or failed) the other gets
CLOSE_GRACE seconds to end too, then both are closed. A client that resets its stream ends it at
once. A client's closed half is passed on to the pod (its write side is shut), so a server that
answers once its request is complete still answers.

What the client's error stream carries comes from here, in the kubelet's words:
`error forwarding port 8080 to pod NAME_NAMESPACE, uid UID: dial tcp 127.0.2.5:8080: connect: connection refused`.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Awaitable, Callable
from typing import Protocol

CLOSE_GRACE = 0.5
"""How long one direction may go on once the other has ended (containerd's, after socat's)."""
CHUNK = 32 * 1024
"""The most bytes read from the pod at a time (one data frame each)."""
HIGH_WATER = 1 << 20
"""Bytes from the client waiting for the pod to read them before the session waits for it."""


class PodPorts(Protocol):
    """A running pod's ports as the node reaches them (the kubelet's `open_port_forward`)."""

    @property
    def pod(self) -> str:
        """How the node names the pod in its errors."""
        ...

    @property
    def uid(self) -> str: ...

    async def connect(self, port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        """A TCP connection to the pod's `port`; OSError, whose text says why (Go's words), when none."""
        ...


SendData = Callable[[bytes], Awaitable[None]]
SendEnd = Callable[[], Awaitable[None]]


class PodConnection:
    """The relay of one forwarded connection; `run` it once the client's streams are all there."""

    def __init__(self, ports: PodPorts, port: int, to_client: SendData, end_to_client: SendEnd) -> None:
        self.ports = ports
        self.port = port
        self.to_client = to_client
        self.end_to_client = end_to_client
        self._writer: asyncio.StreamWriter | None = None
        self._early = bytearray()
        self._client_ended = asyncio.Event()
        self._reset = False
        self._closed = False

    # ------------------------------------------------------------------ from the client

    async def from_client(self, data: bytes) -> None:
        """Bytes the client sent: to the pod (kept until it is connected); waits while the pod lags far behind."""
        if self._client_ended.is_set() or self._closed:
            return
        if self._writer is None:
            self._early += data
            return
        with contextlib.suppress(OSError):
            self._writer.write(data)
            if self._writer.transport.get_write_buffer_size() > HIGH_WATER:
                await self._writer.drain()

    def client_ended(self) -> None:
        """The client closed its half: the pod's write side is shut once the early bytes are sent."""
        if self._client_ended.is_set():
            return
        self._client_ended.set()
        if self._writer is not None and not self._closed:
            _write_eof(self._writer)

    def reset(self) -> None:
        """The client abandoned the connection: it ends now."""
        self._reset = True
        self._client_ended.set()

    # ------------------------------------------------------------------ the relay

    async def run(self) -> str | None:
        """Connect and relay until the connection ends; the error the client's error stream gets, if any."""
        try:
            reader, writer = await self.ports.connect(self.port)
        except OSError as exc:
            return self.failure(str(exc))
        self._writer = writer
        if self._early:
            writer.write(bytes(self._early))
            self._early.clear()
        if self._client_ended.is_set() and not self._reset:
            _write_eof(writer)
        from_pod = asyncio.create_task(self._from_pod(reader))
        client_ended = asyncio.create_task(self._client_ended.wait())
        try:
            await asyncio.wait({from_pod, client_ended}, return_when=asyncio.FIRST_COMPLETED)
            if not self._reset:
                await asyncio.wait({from_pod, client_ended}, timeout=CLOSE_GRACE)
            return from_pod.result() if from_pod.done() and not from_pod.cancelled() else None
        finally:
            for task in (from_pod, client_ended):
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
            self._closed = True
            writer.close()
            with contextlib.suppress(OSError, asyncio.CancelledError):
                await writer.wait_closed()

    async def _from_pod(self, reader: asyncio.StreamReader) -> str | None:
        """Relay the pod's bytes until it closes its half (then tell the client); an error's text if it fails."""
        try:
            while chunk := await reader.read(CHUNK):
                await self.to_client(chunk)
        except OSError as exc:
            return self.failure(f"read: {_reason(exc)}")
        await self.end_to_client()
        return None

    def failure(self, reason: str) -> str:
        return f"error forwarding port {self.port} to pod {self.ports.pod}, uid {self.ports.uid}: {reason}"


def _write_eof(writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(OSError, RuntimeError):
        if writer.can_write_eof():
            writer.write_eof()


def _reason(exc: OSError) -> str:
    """An OSError as Go words a syscall error: `connection reset by peer`."""
    return (os.strerror(exc.errno) if exc.errno else str(exc) or type(exc).__name__).lower()
