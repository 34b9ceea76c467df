"""Connection hooks: the seam where network faults attach to dataplane connections.

A hook is attached to a pod for its inbound connections ("in"), its outbound
connections ("out") or both. The dataplane calls `on_open` once before it
connects a client to its endpoint and `on_data` for every chunk that crosses
the connection afterwards, so a hook can delay, throttle, stall, rewrite or
refuse traffic without the pods taking part.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Literal, Protocol

HookDirection = Literal["in", "out", "both"]
"""Which of a pod's connections a hook sees: inbound, outbound or both."""

FlowDirection = Literal["request", "response"]
"""Which way a chunk travels: client to endpoint ("request") or back ("response")."""


class ConnectionRefused(ConnectionRefusedError):
    """Raised by a hook to refuse a connection.

    From `on_open` the client's connection is reset before any endpoint is
    contacted; from `on_data` both ends of an open connection are reset.
    A probe opened with `Dataplane.open_to_pod` sees this exception itself.
    """


_connection_ids = itertools.count(1)


@dataclass(eq=False)
class ConnectionInfo:
    """What a hook knows about a connection.

    Instances compare by identity and are hashable, so a hook may keep
    per-connection state (a token bucket, a stall schedule) in a dict or a
    `weakref.WeakKeyDictionary` keyed by the instance.
    """

    service_key: str | None
    """The service the client connected to; None for a probe from `open_to_pod`."""
    source_pod: str | None
    """UID of the pod whose IP the connection comes from; None for the host or unknown peers."""
    dest_pod: str
    """UID of the endpoint pod the connection goes to."""
    dest_ip: str
    dest_port: int
    opened_at: float
    """`time.monotonic()` when the dataplane accepted the connection."""
    source_ip: str = ""
    source_port: int = 0
    conn_id: int = field(default_factory=lambda: next(_connection_ids))
    """A process-wide unique number, handy for logs."""


class ConnectionHook(Protocol):
    """A fault (or an observer) attached to a pod's connections."""

    async def on_open(self, conn: ConnectionInfo) -> None:
        """Called before the endpoint is contacted; may sleep or raise `ConnectionRefused`."""
        ...

    async def on_data(self, conn: ConnectionInfo, direction: FlowDirection, data: bytes) -> bytes:
        """Called per chunk, in order per direction; returns the bytes to forward.

        May sleep (delay, throttle, stall), return other bytes (corrupt,
        duplicate) or `b""` to drop the chunk, or raise `ConnectionRefused`
        to reset the connection.
        """
        ...


class PassthroughHook:
    """A hook that changes nothing; fault hooks subclass it and override what they need."""

    async def on_open(self, conn: ConnectionInfo) -> None:
        return None

    async def on_data(self, conn: ConnectionInfo, direction: FlowDirection, data: bytes) -> bytes:
        return data


@dataclass(frozen=True)
class HookHandle:
    """Returned by `Dataplane.add_hook`; pass it to `Dataplane.remove_hook`."""

    hook_id: int
    pod_uid: str
    direction: HookDirection
