"""The service dataplane: one asyncio TCP proxy for every Service in the cluster.

Each Service port is a listener on the Service's cluster IP. An accepted
connection is spliced to one Ready endpoint pod, chosen round-robin. The
client's peer IP tells which pod it comes from, so connection hooks (the
network faults) of the source pod ("out") and of the endpoint pod ("in")
apply to it.

A connection with no hook runs on the fast path: two asyncio protocols write
straight into each other's transport, with flow control from the write buffer
water marks and no coroutine per chunk. A connection with hooks runs on the
slow path: each direction has a queue and a pump task that awaits the hooks
chunk by chunk, in order. A connection switches to the slow path as soon as a
hook that concerns it is added, and back once the hooks are gone and its
queues are empty.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import dataclasses
import errno
import itertools
import logging
import socket
import struct
import time
from dataclasses import dataclass
from typing import Literal, cast

from remedlab.cluster.dataplane.connection_hooks import (
    ConnectionHook,
    ConnectionInfo,
    ConnectionRefused,
    FlowDirection,
    HookDirection,
    HookHandle,
    PassthroughHook,
)

__all__ = [
    "ConnectionHook",
    "ConnectionInfo",
    "ConnectionRefused",
    "Dataplane",
    "Endpoint",
    "FlowDirection",
    "HookDirection",
    "HookHandle",
    "PassthroughHook",
    "ServicePortMap",
    "ServiceStats",
]

log = logging.getLogger(__name__)

_LINGER_ZERO = struct.pack("ii", 1, 0)
_HIGH_WATER = 512 * 1024
_LOW_WATER = 128 * 1024
_SLOW_QUEUE_LIMIT = 256 * 1024
_LISTEN_BACKLOG = 1024
_BIND_RETRIES = 20


@dataclass(frozen=True)
class Endpoint:
    """A Ready pod behind a service port."""

    pod_uid: str
    ip: str
    port: int


@dataclass(frozen=True)
class ServicePortMap:
    """A service port, listened on at `cluster_ip:port`, and its endpoints."""

    port: int
    endpoints: tuple[Endpoint, ...]


@dataclass
class ServiceStats:
    """Counters of one service; `Dataplane.stats` returns copies."""

    connections_total: int = 0
    """Connections accepted, refused ones included."""
    connections_active: int = 0
    """Connections accepted and not yet closed on both ends."""
    bytes_in: int = 0
    """Bytes delivered from clients to endpoints."""
    bytes_out: int = 0
    """Bytes delivered from endpoints back to clients."""
    refused: int = 0
    """Connections reset for want of an endpoint, by a hook, or because every endpoint refused."""


def _reset_transport(transport: asyncio.Transport) -> None:
    """Close a connection with an RST instead of a FIN."""
    sock = transport.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _LINGER_ZERO)
    transport.abort()


def _tune_transport(transport: asyncio.Transport) -> None:
    sock = transport.get_extra_info("socket")
    if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    transport.set_write_buffer_limits(high=_HIGH_WATER, low=_LOW_WATER)


@dataclass(eq=False)
class _HookEntry:
    hook_id: int
    hook: ConnectionHook
    direction: HookDirection


class _PortState:
    """A listening service port: its endpoints and round-robin position."""

    __slots__ = ("endpoints", "next_index", "port", "server", "service")

    def __init__(self, service: _Service, port: int, endpoints: tuple[Endpoint, ...]) -> None:
        self.service = service
        self.port = port
        self.endpoints = endpoints
        self.next_index = 0
        self.server: asyncio.AbstractServer | None = None

    def pick_order(self) -> tuple[Endpoint, ...]:
        """The endpoints in the order to try for one new connection."""
        endpoints = self.endpoints
        count = len(endpoints)
        if count == 0:
            return ()
        start = self.next_index % count
        self.next_index = start + 1
        return endpoints[start:] + endpoints[:start]


class _Service:
    __slots__ = ("cluster_ip", "key", "ports", "stats")

    def __init__(self, key: str, cluster_ip: str, stats: ServiceStats) -> None:
        self.key = key
        self.cluster_ip = cluster_ip
        self.ports: dict[int, _PortState] = {}
        self.stats = stats


class _Side(asyncio.Protocol):
    """One of the two TCP connections of a spliced connection."""

    __slots__ = (
        "conn",
        "drain_waiter",
        "inbound",
        "lost",
        "outbound",
        "reading_paused",
        "transport",
        "write_paused",
    )

    def __init__(self, conn: _Connection, outbound: _Flow, inbound: _Flow) -> None:
        self.conn = conn
        self.outbound = outbound
        """The flow carrying what this side receives."""
        self.inbound = inbound
        """The flow writing into this side."""
        self.transport: asyncio.Transport | None = None
        self.write_paused = False
        self.reading_paused = False
        self.lost = False
        self.drain_waiter: asyncio.Future[None] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)
        self.conn.side_made(self)

    def data_received(self, data: bytes) -> None:
        self.outbound.feed(data)

    def eof_received(self) -> bool:
        self.outbound.feed_eof()
        return True  # keep the other direction open: half-close

    def pause_writing(self) -> None:
        self.write_paused = True
        self.inbound.update_reading()

    def resume_writing(self) -> None:
        self.write_paused = False
        waiter = self.drain_waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)
        self.inbound.update_reading()

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True
        waiter = self.drain_waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)
        self.conn.side_lost(self, exc)

    def itself(self) -> _Side:
        """A protocol factory handing out this very protocol."""
        return self

    async def drained(self) -> None:
        while self.write_paused and not self.lost:
            self.drain_waiter = asyncio.get_running_loop().create_future()
            try:
                await self.drain_waiter
            finally:
                self.drain_waiter = None


class _Flow:
    """One direction of a spliced connection: what `src` receives goes to `dst`.

    Chunks wait in `queue` while the flow is on the slow path (its pump task
    takes them through the hooks) and while `dst` is not connected yet.
    """

    __slots__ = (
        "conn",
        "direction",
        "dst",
        "eof_done",
        "eof_pending",
        "eof_seen",
        "out",
        "pump",
        "queue",
        "queued",
        "slow",
        "src",
        "waiter",
    )

    def __init__(self, conn: _Connection, direction: FlowDirection) -> None:
        self.conn = conn
        self.direction: FlowDirection = direction
        self.src: _Side | None = None
        self.dst: _Side | None = None
        self.out: asyncio.Transport | None = None
        """The transport of `dst` once it is connected."""
        self.slow = False
        self.queue: collections.deque[bytes] = collections.deque()
        self.queued = 0
        self.eof_seen = False
        self.eof_pending = False
        self.eof_done = False
        self.pump: asyncio.Task[None] | None = None
        self.waiter: asyncio.Future[None] | None = None

    def _count(self, size: int) -> None:
        if self.direction == "request":
            self.conn.stats.bytes_in += size
        else:
            self.conn.stats.bytes_out += size

    def feed(self, data: bytes) -> None:
        if self.conn.closing:
            return
        out = self.out
        if out is None or self.slow:
            self.queue.append(data)
            self.queued += len(data)
            if self.queued >= _SLOW_QUEUE_LIMIT:
                self.update_reading()
            self._wake()
            return
        out.write(data)
        self._count(len(data))

    def feed_eof(self) -> None:
        if self.conn.closing or self.eof_seen:
            return
        self.eof_seen = True
        if self.out is None or self.slow:
            self.eof_pending = True
            self._wake()
        else:
            self._forward_eof()

    def _forward_eof(self) -> None:
        self.eof_pending = False
        self.eof_done = True
        out = self.out
        if out is not None and not out.is_closing() and out.can_write_eof():
            try:
                out.write_eof()
            except OSError:
                # The receiving end is gone already (reset); so is the connection.
                self.conn.close(reset=True)
                return
        self.conn.check_both_eof()

    def connected(self, out: asyncio.Transport) -> None:
        """`dst` is connected: deliver what waited for it."""
        self.out = out
        if self.slow:
            self._wake()
        else:
            while self.queue:
                data = self.queue.popleft()
                out.write(data)
                self._count(len(data))
            self.queued = 0
            if self.eof_pending:
                self._forward_eof()
        self.update_reading()

    def update_reading(self) -> None:
        """Pause or resume reading from `src` as buffers fill and drain."""
        src = self.src
        if src is None or src.transport is None:
            return
        dst = self.dst
        want_pause = self.out is None or dst is None or dst.write_paused or self.queued >= _SLOW_QUEUE_LIMIT
        if want_pause == src.reading_paused:
            return
        src.reading_paused = want_pause
        if src.transport.is_closing():
            return
        if want_pause:
            src.transport.pause_reading()
        else:
            src.transport.resume_reading()

    def _wake(self) -> None:
        waiter = self.waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def go_slow(self) -> None:
        """Route the following chunks through the hooks."""
        self.slow = True
        if self.pump is None and not self.eof_done and not self.conn.closing:
            self.pump = asyncio.get_running_loop().create_task(self._pump())
        else:
            self._wake()

    def wake(self) -> None:
        self._wake()

    async def _pump(self) -> None:
        conn = self.conn
        loop = asyncio.get_running_loop()
        try:
            while not conn.closing:
                out = self.out
                if out is None or not self.queue:
                    if out is not None and self.eof_pending:
                        self._forward_eof()
                        return
                    if out is not None and not conn.hooks(self.direction):
                        self.slow = False
                        return
                    self.waiter = loop.create_future()
                    try:
                        await self.waiter
                    finally:
                        self.waiter = None
                    continue
                data = self.queue.popleft()
                self.queued -= len(data)
                if self.src is not None and self.src.reading_paused:
                    self.update_reading()
                info = conn.info
                assert info is not None
                for hook in conn.hooks(self.direction):
                    data = await hook.on_data(info, self.direction, data)
                    if not data or conn.closing:
                        break
                if conn.closing or not data:
                    continue
                out.write(data)
                self._count(len(data))
                dst = self.dst
                if dst is not None and dst.write_paused:
                    await dst.drained()
        except ConnectionRefusedError:
            conn.close(reset=True)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("connection hook failed on %s; resetting the connection", conn.describe())
            conn.close(reset=True)
        finally:
            self.pump = None


class _Connection:
    """A client connection spliced to one endpoint, through its hooks."""

    __slots__ = (
        "client",
        "closing",
        "dataplane",
        "finished",
        "hooks_cache",
        "info",
        "port_state",
        "request",
        "response",
        "service_key",
        "setup_task",
        "source_pod",
        "stats",
        "upstream",
    )

    def __init__(
        self,
        dataplane: Dataplane,
        service_key: str | None,
        stats: ServiceStats,
        port_state: _PortState | None,
    ) -> None:
        self.dataplane = dataplane
        self.service_key = service_key
        self.stats = stats
        self.port_state = port_state
        self.request = _Flow(self, "request")
        self.response = _Flow(self, "response")
        self.client = _Side(self, self.request, self.response)
        self.request.src = self.client
        self.response.dst = self.client
        self.upstream: _Side | None = None
        self.info: ConnectionInfo | None = None
        self.source_pod: str | None = None
        self.closing = False
        self.finished = False
        self.setup_task: asyncio.Task[None] | None = None
        self.hooks_cache: tuple[int, tuple[ConnectionHook, ...], tuple[ConnectionHook, ...]] = (-1, (), ())

    def describe(self) -> str:
        info = self.info
        if info is None:
            return f"service {self.service_key}"
        return (
            f"connection #{info.conn_id} {info.source_ip}:{info.source_port} -> "
            f"{info.dest_pod} {info.dest_ip}:{info.dest_port} (service {self.service_key})"
        )

    # -- hooks -------------------------------------------------------------

    def hooks(self, direction: FlowDirection) -> tuple[ConnectionHook, ...]:
        """Hooks per chunk: source "out" then dest "in" for requests, the reverse for responses."""
        info = self.info
        if info is None:
            return ()
        version = self.dataplane.hook_version
        cached = self.hooks_cache
        if cached[0] != version:
            outbound = self.dataplane.hooks_of(info.source_pod, "out")
            inbound = self.dataplane.hooks_of(info.dest_pod, "in")
            cached = (version, outbound + inbound, inbound + outbound)
            self.hooks_cache = cached
        return cached[1] if direction == "request" else cached[2]

    def hooks_changed(self) -> None:
        """Move to the slow path if a hook now applies; the pumps return to the fast path by themselves."""
        if self.closing:
            return
        if self.hooks("request"):
            self.request.go_slow()
            self.response.go_slow()
        else:
            self.request.wake()
            self.response.wake()

    def concerns(self, pod_uid: str) -> bool:
        info = self.info
        return info is not None and pod_uid in (info.source_pod, info.dest_pod)

    # -- sides -------------------------------------------------------------

    def new_upstream(self) -> _Side:
        side = _Side(self, self.response, self.request)
        self.upstream = side
        self.request.dst = side
        self.response.src = side
        return side

    def side_made(self, side: _Side) -> None:
        transport = side.transport
        assert transport is not None
        _tune_transport(transport)
        if side is self.client:
            self.response.out = transport
            self.client_made(transport)
            return
        if self.closing:
            _reset_transport(transport)
            return
        self.request.connected(transport)

    def client_made(self, transport: asyncio.Transport) -> None:
        dataplane = self.dataplane
        dataplane.connections.add(self)
        self.stats.connections_total += 1
        self.stats.connections_active += 1
        # Hold the client's bytes in its socket until an endpoint is connected. Some loops start
        # reading only after connection_made returns, so the pause has to come after that.
        asyncio.get_running_loop().call_soon(self.request.update_reading)
        port_state = self.port_state
        if port_state is None:
            return  # a probe: open_to_pod drives the set-up
        order = port_state.pick_order()
        if not order:
            self.refuse()
            return
        peer = transport.get_extra_info("peername")
        source_ip, source_port = (str(peer[0]), int(peer[1])) if peer else ("", 0)
        self.source_pod = dataplane.pod_by_ip(source_ip)
        self.setup_task = asyncio.get_running_loop().create_task(
            self.establish(order, source_ip, source_port, time.monotonic())
        )

    def refuse(self) -> None:
        self.stats.refused += 1
        self.close(reset=True)

    async def establish(self, order: tuple[Endpoint, ...], source_ip: str, source_port: int, opened_at: float) -> None:
        """Connect to the first endpoint, in round-robin order, that accepts."""
        dataplane = self.dataplane
        loop = asyncio.get_running_loop()
        try:
            for endpoint in order:
                self.info = ConnectionInfo(
                    service_key=self.service_key,
                    source_pod=self.source_pod,
                    dest_pod=endpoint.pod_uid,
                    dest_ip=endpoint.ip,
                    dest_port=endpoint.port,
                    opened_at=opened_at,
                    source_ip=source_ip,
                    source_port=source_port,
                )
                hooks = self.hooks("request")
                try:
                    for hook in hooks:
                        await hook.on_open(self.info)
                except ConnectionRefusedError:
                    self.refuse()
                    return
                upstream = self.new_upstream()
                if hooks:
                    self.request.go_slow()
                    self.response.go_slow()
                try:
                    async with asyncio.timeout(dataplane.connect_timeout):
                        await loop.create_connection(upstream.itself, endpoint.ip, endpoint.port)
                except (OSError, TimeoutError) as exc:
                    log.debug("%s: endpoint %s failed: %r", self.service_key, endpoint, exc)
                    continue
                # Hooks added while connecting have to be seen too.
                self.hooks_changed()
                return
            self.refuse()
        except asyncio.CancelledError:
            self.close(reset=True)
            raise
        except Exception:
            log.exception("setting up %s failed", self.describe())
            self.close(reset=True)
        finally:
            self.setup_task = None
            self.maybe_finish()

    def check_both_eof(self) -> None:
        if self.request.eof_done and self.response.eof_done:
            self.close(reset=False)

    def close(self, reset: bool) -> None:
        """Close both ends, gracefully (after flushing) or with an RST."""
        if self.closing:
            return
        self.closing = True
        for side in (self.client, self.upstream):
            if side is None or side.transport is None or side.lost:
                continue
            if reset:
                _reset_transport(side.transport)
            else:
                side.transport.close()
        current = asyncio.current_task()
        for task in (self.request.pump, self.response.pump, self.setup_task):
            if task is not None and task is not current:
                task.cancel()
        self.maybe_finish()

    def side_lost(self, side: _Side, exc: Exception | None) -> None:
        if not self.closing:
            # Only a failure (a reset, a write error) ends a side we have not closed ourselves.
            self.close(reset=True)
        self.maybe_finish()

    def maybe_finish(self) -> None:
        if self.finished or not self.closing or self.setup_task is not None:
            return
        for side in (self.client, self.upstream):
            if side is not None and side.transport is not None and not side.lost:
                return
        self.finished = True
        self.stats.connections_active -= 1
        self.dataplane.connections.discard(self)


class Dataplane:
    """Listeners for every service port and the connections spliced through them."""

    def __init__(self, *, connect_timeout: float = 10.0) -> None:
        self.connect_timeout = connect_timeout
        self._services: dict[str, _Service] = {}
        self._pods: dict[str, tuple[str, str, str]] = {}
        self._pod_by_ip: dict[str, str] = {}
        self._hooks: dict[str, list[_HookEntry]] = {}
        self._hook_ids = itertools.count(1)
        self.hook_version = 0
        self.connections: set[_Connection] = set()
        self._lock = asyncio.Lock()

    # -- lifecycle ---------------------------------------------------------

    async def start(self) -> None:
        """Nothing to do until services are set; kept for symmetry with `stop`."""

    async def stop(self) -> None:
        """Close every listener and reset every open connection."""
        async with self._lock:
            for service in self._services.values():
                for port_state in service.ports.values():
                    self._close_listener(port_state)
                service.ports.clear()
            self._services.clear()
        connections = list(self.connections)
        tasks: list[asyncio.Task[None]] = []
        for conn in connections:
            for task in (conn.request.pump, conn.response.pump, conn.setup_task):
                if task is not None:
                    tasks.append(task)
            conn.close(reset=True)
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        # Let the transports deliver connection_lost.
        for _ in range(3):
            await asyncio.sleep(0)

    # -- services ----------------------------------------------------------

    async def set_service(self, key: str, cluster_ip: str, ports: list[ServicePortMap]) -> None:
        """Create or update a service; listeners follow the ports, open connections are kept."""
        wanted: dict[int, tuple[Endpoint, ...]] = {}
        for port_map in ports:
            if port_map.port in wanted:
                raise ValueError(f"service {key}: port {port_map.port} listed twice")
            wanted[port_map.port] = tuple(port_map.endpoints)
        async with self._lock:
            service = self._services.get(key)
            if service is None:
                service = _Service(key, cluster_ip, ServiceStats())
                self._services[key] = service
            elif service.cluster_ip != cluster_ip:
                for port_state in service.ports.values():
                    self._close_listener(port_state)
                service.ports.clear()
                service.cluster_ip = cluster_ip
                await self._settle()
            removed = [port for port in service.ports if port not in wanted]
            for port in removed:
                self._close_listener(service.ports.pop(port))
            if removed:
                await self._settle()
            for port, endpoints in wanted.items():
                existing = service.ports.get(port)
                if existing is not None:
                    existing.endpoints = endpoints
                    continue
                added = _PortState(service, port, endpoints)
                added.server = await self._listen(cluster_ip, added)
                service.ports[port] = added

    async def remove_service(self, key: str) -> None:
        """Close the service's listeners; established connections run to their end."""
        async with self._lock:
            service = self._services.pop(key, None)
            if service is None:
                return
            for port_state in service.ports.values():
                self._close_listener(port_state)
            service.ports.clear()
            await self._settle()

    async def _listen(self, cluster_ip: str, port_state: _PortState) -> asyncio.AbstractServer:
        loop = asyncio.get_running_loop()
        service = port_state.service

        def accept() -> _Side:
            return _Connection(self, service.key, service.stats, port_state).client

        for attempt in range(_BIND_RETRIES):
            try:
                return await loop.create_server(
                    accept, host=cluster_ip, port=port_state.port, reuse_address=True, backlog=_LISTEN_BACKLOG
                )
            except OSError as exc:
                # A listener closed a moment ago may still hold the address on some loops.
                if exc.errno != errno.EADDRINUSE or attempt == _BIND_RETRIES - 1:
                    raise
                await asyncio.sleep(0.01)
        raise AssertionError("unreachable")

    @staticmethod
    def _close_listener(port_state: _PortState) -> None:
        if port_state.server is not None:
            port_state.server.close()
            port_state.server = None

    @staticmethod
    async def _settle() -> None:
        # Closed listening sockets are released on the next loop iterations.
        for _ in range(2):
            await asyncio.sleep(0)

    def stats(self) -> dict[str, ServiceStats]:
        """Per service key, a copy of its counters."""
        return {key: dataclasses.replace(service.stats) for key, service in self._services.items()}

    # -- pods --------------------------------------------------------------

    def register_pod(self, pod_uid: str, ip: str, namespace: str, name: str) -> None:
        """Connections from `ip` are from this pod from now on."""
        previous = self._pods.get(pod_uid)
        if previous is not None and self._pod_by_ip.get(previous[0]) == pod_uid:
            del self._pod_by_ip[previous[0]]
        self._pods[pod_uid] = (ip, namespace, name)
        self._pod_by_ip[ip] = pod_uid

    def unregister_pod(self, pod_uid: str) -> None:
        """Forget the pod's IP; its hooks stay until removed."""
        previous = self._pods.pop(pod_uid, None)
        if previous is not None and self._pod_by_ip.get(previous[0]) == pod_uid:
            del self._pod_by_ip[previous[0]]

    def pod_by_ip(self, ip: str) -> str | None:
        return self._pod_by_ip.get(ip)

    def pod_name(self, pod_uid: str) -> tuple[str, str] | None:
        """The registered (namespace, name) of a pod."""
        entry = self._pods.get(pod_uid)
        return None if entry is None else (entry[1], entry[2])

    # -- hooks -------------------------------------------------------------

    def add_hook(self, pod_uid: str, hook: ConnectionHook, direction: HookDirection) -> HookHandle:
        """Attach a hook to a pod's inbound, outbound or all connections, open ones included."""
        if direction not in ("in", "out", "both"):
            raise ValueError(f"bad hook direction {direction!r}")
        entry = _HookEntry(next(self._hook_ids), hook, direction)
        self._hooks.setdefault(pod_uid, []).append(entry)
        self._hooks_changed(pod_uid)
        return HookHandle(entry.hook_id, pod_uid, direction)

    def remove_hook(self, handle: HookHandle) -> None:
        entries = self._hooks.get(handle.pod_uid)
        if not entries:
            return
        kept = [entry for entry in entries if entry.hook_id != handle.hook_id]
        if len(kept) == len(entries):
            return
        if kept:
            self._hooks[handle.pod_uid] = kept
        else:
            del self._hooks[handle.pod_uid]
        self._hooks_changed(handle.pod_uid)

    def hooks_of(self, pod_uid: str | None, direction: Literal["in", "out"]) -> tuple[ConnectionHook, ...]:
        """The pod's hooks for one direction, in the order they were added."""
        if pod_uid is None:
            return ()
        entries = self._hooks.get(pod_uid)
        if not entries:
            return ()
        return tuple(entry.hook for entry in entries if entry.direction in (direction, "both"))

    def _hooks_changed(self, pod_uid: str) -> None:
        self.hook_version += 1
        for conn in list(self.connections):
            if conn.concerns(pod_uid):
                conn.hooks_changed()

    # -- probes ------------------------------------------------------------

    async def open_to_pod(
        self, pod_uid: str, ip: str, port: int, timeout: float
    ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        """Connect straight to a pod, through the pod's "in" hooks (probes see network faults).

        Raises `ConnectionRefusedError` when the pod or a hook refuses and
        `TimeoutError` when hooks and connecting take longer than `timeout`.
        """
        if not self.hooks_of(pod_uid, "in"):
            async with asyncio.timeout(timeout):
                return await asyncio.open_connection(ip, port)
        return await self._open_hooked(pod_uid, ip, port, timeout)

    async def _open_hooked(
        self, pod_uid: str, ip: str, port: int, timeout: float
    ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        # The caller gets one end of a socket pair; the other end is spliced to the pod like a
        # service connection with no source pod.
        loop = asyncio.get_running_loop()
        conn = _Connection(self, None, ServiceStats(), None)
        caller_sock, splice_sock = socket.socketpair()
        caller_sock.setblocking(False)
        splice_sock.setblocking(False)
        writer: asyncio.StreamWriter | None = None
        try:
            await loop.connect_accepted_socket(conn.client.itself, sock=splice_sock)
            reader, writer = await asyncio.open_connection(sock=caller_sock)
            conn.info = ConnectionInfo(
                service_key=None,
                source_pod=None,
                dest_pod=pod_uid,
                dest_ip=ip,
                dest_port=port,
                opened_at=time.monotonic(),
            )
            async with asyncio.timeout(timeout):
                for hook in conn.hooks("request"):
                    await hook.on_open(conn.info)
                upstream = conn.new_upstream()
                conn.request.go_slow()
                conn.response.go_slow()
                await loop.create_connection(upstream.itself, ip, port)
            conn.hooks_changed()
            return reader, writer
        except BaseException:
            conn.close(reset=True)
            if writer is not None:
                writer.close()
            else:
                caller_sock.close()
            if conn.client.transport is None:
                splice_sock.close()
            raise
