"""TCP-level network faults (the NetworkChaos actions) as dataplane connection hooks.

The lab has no netem qdisc, so the faults act where all service traffic already
passes: the userspace proxy in `remedlab.cluster.dataplane.dataplane`. A hook sees a
connection when it opens (`on_open`, standing for the TCP handshake) and every
chunk of bytes that crosses it afterwards, in order per direction. Chunks are
byte-stream pieces, not packets, so each fault models what TCP would make of
the packet-level fault and applies that to the stream:

* `DelayHook` holds chunks back by a latency (with correlated jitter), keeping
  order and not adding up delays of chunks that queued behind each other.
* `LossHook` (and `CorruptHook`, since a corrupted segment fails its checksum
  and is dropped) stalls the stream by TCP retransmission timeouts, with
  exponential backoff, and resets the connection when TCP would give up.
* `DuplicateHook` changes nothing visible (TCP discards duplicates) but counts.
* `BandwidthHook` is a token bucket shared by all the connections it sees.
* `PartitionHook` refuses new connections and resets open ones.

Scope. The dataplane already chooses the connections (a hook is attached to a
pod's inbound, outbound or all connections). Within those, every fault but the
partition takes three keyword-only options:

* `flows`: the chunk directions affected, "request" (client to endpoint) and/or
  "response"; both by default.
* `egress_of`: a pod UID; when given, only the bytes that pod sends are affected
  (request chunks of its outbound connections, response chunks of its inbound
  ones), which is where netem sits on a real pod's interface (NetworkChaos
  direction `to`); `ingress_of` likewise keeps only the bytes the pod receives
  (direction `from`).
* `peers`: pod UIDs; when given, only connections whose other side (source or
  destination pod) is one of them are affected, the shape of a `target`
  selector.

Randomness comes from a `random.Random(seed)` per hook instance, so a fixed seed
reproduces the same sequence of faults for the same sequence of chunks.
Per-connection state lives in `weakref.WeakKeyDictionary` instances keyed by the
`ConnectionInfo`, as hooks get no end-of-connection call; it disappears with the
connection. No hook runs background tasks: an idle hook costs nothing.
"""

from __future__ import annotations

import asyncio
import random
import weakref
from collections.abc import Collection
from dataclasses import dataclass
from typing import NoReturn, TypedDict, Unpack

from remedlab.cluster.dataplane.connection_hooks import (
    ConnectionInfo,
    ConnectionRefused,
    FlowDirection,
    PassthroughHook,
)

__all__ = [
    "ALL_FLOWS",
    "MSS",
    "BandwidthHook",
    "BandwidthStats",
    "CorruptHook",
    "DelayHook",
    "DuplicateHook",
    "DuplicateStats",
    "FaultScope",
    "LossHook",
    "LossStats",
    "PartitionHook",
    "PartitionStats",
]

MSS = 1460
"""Bytes per modelled TCP segment (an Ethernet MTU of 1500 minus IP and TCP headers)."""

ALL_FLOWS: frozenset[FlowDirection] = frozenset(("request", "response"))
"""Both chunk directions: the default scope of a fault."""


def _segments(size: int, mss: int) -> int:
    return -(-size // mss)


class _CorrelatedEvents:
    """Yes/no draws that happen `percent` % of the time, with a lag-one correlation.

    With probability `correlation` % a draw repeats the previous outcome,
    otherwise it is drawn afresh. This keeps the long-run rate at exactly
    `percent` % while making runs (bursts of losses) longer as the
    correlation grows.
    """

    __slots__ = ("_correlation", "_last", "_probability", "_rng", "_started")

    def __init__(self, percent: float, correlation: float, rng: random.Random) -> None:
        self._probability = percent / 100.0
        self._correlation = correlation / 100.0
        self._rng = rng
        self._last = False
        self._started = False

    @property
    def never(self) -> bool:
        return self._probability <= 0.0

    def occurs(self) -> bool:
        probability = self._probability
        if probability <= 0.0:
            return False
        if probability >= 1.0:
            return True
        rng = self._rng
        if self._started and self._correlation > 0.0 and rng.random() < self._correlation:
            return self._last
        self._started = True
        self._last = rng.random() < probability
        return self._last


class _CorrelatedNoise:
    """Values in [-1, 1], each blended with the previous one by `correlation` %."""

    __slots__ = ("_correlation", "_last", "_rng")

    def __init__(self, correlation: float, rng: random.Random) -> None:
        self._correlation = correlation / 100.0
        self._rng = rng
        self._last = 0.0

    def next(self) -> float:
        fresh = self._rng.uniform(-1.0, 1.0)
        value = (1.0 - self._correlation) * fresh + self._correlation * self._last
        self._last = value
        return value


class FaultScope(TypedDict, total=False):
    """The keyword-only scope options of the faults but the partition (see the module docstring)."""

    peers: Collection[str] | None
    flows: Collection[FlowDirection]
    egress_of: str | None
    ingress_of: str | None


class _PeerScope(PassthroughHook):
    """The `peers` option: which connections a fault applies to."""

    def __init__(self, peers: Collection[str] | None) -> None:
        self.peers: frozenset[str] | None = None if peers is None else frozenset(peers)

    def in_scope(self, conn: ConnectionInfo) -> bool:
        """Whether the connection is one this fault applies to (the `peers` option)."""
        peers = self.peers
        return peers is None or conn.source_pod in peers or conn.dest_pod in peers


class _ScopedFault(_PeerScope):
    """The scope options shared by the faults (`FaultScope`)."""

    def __init__(
        self,
        *,
        peers: Collection[str] | None = None,
        flows: Collection[FlowDirection] = ALL_FLOWS,
        egress_of: str | None = None,
        ingress_of: str | None = None,
    ) -> None:
        super().__init__(peers)
        self.flows: frozenset[FlowDirection] = frozenset(flows)
        self.egress_of = egress_of
        self.ingress_of = ingress_of

    def affects(self, conn: ConnectionInfo, direction: FlowDirection) -> bool:
        """Whether chunks going `direction` on the connection are subject to the fault."""
        if direction not in self.flows:
            return False
        sender = conn.source_pod if direction == "request" else conn.dest_pod
        if self.egress_of is not None and sender != self.egress_of:
            return False
        if self.ingress_of is not None and sender == self.ingress_of:
            return False
        return self.in_scope(conn)


class _Timeline:
    """When the last chunk of one direction of a connection arrived and was released."""

    __slots__ = ("arrival", "release", "yielded")

    def __init__(self) -> None:
        self.arrival = 0.0
        self.release = 0.0
        self.yielded = True

    def mark_yielded(self) -> None:
        self.yielded = True


class DelayHook(_ScopedFault):
    """Mirrors NetworkChaos `delay` (netem `delay LATENCY JITTER CORRELATION`).

    A new connection's handshake (`on_open`) takes one extra latency, and
    each affected chunk is released `latency` (plus jitter) after it arrived,
    so a request and its response on a kept-alive connection take one extra
    latency per affected direction, as with netem.

    Jitter is uniform in [-jitter, +jitter]; `correlation` (0-100) blends each
    draw with the previous one. Order within a connection is kept: a chunk is
    released at max(arrival + delay, release of the previous chunk), so a
    smaller draw never overtakes (netem would reorder instead).

    The dataplane hands a direction's chunks to its hooks one at a time, so a
    chunk that queued while the previous one was held is seen only once that
    one is released. Such a chunk is recognised by being handed over without
    the event loop running in between, and is timed from the arrival of the
    chunk before it, its earliest possible arrival: delays of back-to-back
    chunks overlap instead of adding up, and a bulk transfer keeps its
    throughput, shifted by the latency. A chunk that queued behind a slow
    receiver is timed from when it could be sent, like a packet a sender
    held back for want of window.
    """

    def __init__(
        self,
        latency_s: float,
        jitter_s: float = 0.0,
        correlation: float = 0.0,
        *,
        seed: int | None = None,
        **scope: Unpack[FaultScope],
    ) -> None:
        super().__init__(**scope)
        if latency_s < 0 or jitter_s < 0:
            raise ValueError("latency and jitter must not be negative")
        self.latency_s = float(latency_s)
        self.jitter_s = float(jitter_s)
        self.correlation = float(correlation)
        self._noise = _CorrelatedNoise(self.correlation, random.Random(seed))
        self._timelines: weakref.WeakKeyDictionary[ConnectionInfo, dict[FlowDirection, _Timeline]] = (
            weakref.WeakKeyDictionary()
        )

    def draw(self) -> float:
        """The next delay in seconds: latency plus correlated jitter, never negative."""
        if self.jitter_s <= 0.0:
            return self.latency_s
        return max(0.0, self.latency_s + self.jitter_s * self._noise.next())

    async def on_open(self, conn: ConnectionInfo) -> None:
        if not self.in_scope(conn):
            return
        delay = self.draw()
        if delay > 0.0:
            await asyncio.sleep(delay)

    async def on_data(self, conn: ConnectionInfo, direction: FlowDirection, data: bytes) -> bytes:
        if not self.affects(conn, direction):
            return data
        loop = asyncio.get_running_loop()
        now = loop.time()
        timelines = self._timelines.get(conn)
        if timelines is None:
            timelines = {}
            self._timelines[conn] = timelines
        timeline = timelines.get(direction)
        if timeline is None:
            timeline = _Timeline()
            timelines[direction] = timeline
        # Handed over with no loop iteration since our last return: the chunk was queued meanwhile.
        arrival = now if timeline.yielded else timeline.arrival
        release = max(arrival + self.draw(), timeline.release)
        timeline.arrival = arrival
        timeline.release = release
        wait = release - now
        if wait > 0.0:
            await asyncio.sleep(wait)
        timeline.yielded = False
        loop.call_soon(timeline.mark_yielded)
        return data


@dataclass
class LossStats:
    """What a `LossHook` (or `CorruptHook`) did so far."""

    syns: int = 0
    """Handshakes seen."""
    syns_lost: int = 0
    """SYN transmissions lost, retransmissions included."""
    packets: int = 0
    """Data segments sent (each counted once however often it was retransmitted)."""
    lost: int = 0
    """Data segment transmissions lost, retransmissions included."""
    stall_s: float = 0.0
    """Seconds of retransmission stall added to handshakes and chunks."""
    resets: int = 0
    """Connections given up (reset or refused) after too many retransmissions."""


class _LossOptions(FaultScope, total=False):
    """The keyword-only options of `LossHook` (defaults there)."""

    seed: int | None
    rto_s: float
    max_rto_s: float
    syn_rto_s: float
    give_up_s: float
    mss: int


class LossHook(_ScopedFault):
    """Mirrors NetworkChaos `loss` (netem `loss PERCENT CORRELATION`) as TCP experiences it.

    TCP hides loss behind retransmission, so the application sees stalls, not
    errors. A chunk is taken as ceil(size / mss) segments. Each transmission
    of a segment is lost with `loss_percent` % (correlated, see
    `_CorrelatedEvents`); a lost segment is resent after the retransmission
    timeout: `rto_s` (200 ms, Linux's minimum) doubling with each further loss
    of that segment, capped at `max_rto_s`. The stalls of the segments of a
    chunk add up (after a timeout TCP restarts from a window of one segment)
    and the chunk is released after them, so order is kept and later chunks
    queue behind (head-of-line blocking).

    The handshake is subject to loss too: a lost SYN is resent after
    `syn_rto_s` (1 s), doubling likewise, in `on_open`.

    Linux gives up on a segment after about 15 retransmissions; here a segment
    (or SYN) whose accumulated stall exceeds `give_up_s` makes the hook wait
    `give_up_s` and then reset the connection (`ConnectionRefused`). At 100 %
    loss a connection thus never progresses: its handshake stalls until the
    give-up and is refused.

    The realistic symptom at high rates: at 50 % a ten-segment response
    typically stalls for seconds, and clients with timeouts give up on some
    requests.
    """

    def __init__(
        self,
        loss_percent: float,
        correlation: float = 0.0,
        *,
        seed: int | None = None,
        rto_s: float = 0.2,
        max_rto_s: float = 60.0,
        syn_rto_s: float = 1.0,
        give_up_s: float = 120.0,
        mss: int = MSS,
        **scope: Unpack[FaultScope],
    ) -> None:
        super().__init__(**scope)
        if rto_s <= 0 or syn_rto_s <= 0 or max_rto_s <= 0 or give_up_s <= 0 or mss <= 0:
            raise ValueError("timeouts and segment size must be positive")
        self.loss_percent = float(loss_percent)
        self.correlation = float(correlation)
        self.rto_s = float(rto_s)
        self.max_rto_s = float(max_rto_s)
        self.syn_rto_s = float(syn_rto_s)
        self.give_up_s = float(give_up_s)
        self.mss = int(mss)
        self.stats = LossStats()
        self._events = _CorrelatedEvents(self.loss_percent, self.correlation, random.Random(seed))

    def _segment_stall(self, first_rto: float) -> tuple[float | None, int]:
        """Seconds until one segment gets through (None: TCP gives up) and how many transmissions were lost."""
        stall = 0.0
        lost = 0
        rto = first_rto
        while self._events.occurs():
            lost += 1
            stall += rto
            if stall > self.give_up_s:
                return None, lost
            rto = min(rto * 2.0, self.max_rto_s)
        return stall, lost

    async def _give_up(self, stalled: float) -> NoReturn:
        self.stats.resets += 1
        self.stats.stall_s += stalled + self.give_up_s
        await asyncio.sleep(stalled + self.give_up_s)
        raise ConnectionRefused("retransmissions exhausted under packet loss")

    async def on_open(self, conn: ConnectionInfo) -> None:
        if self._events.never or not self.in_scope(conn):
            return
        self.stats.syns += 1
        stall, lost = self._segment_stall(self.syn_rto_s)
        self.stats.syns_lost += lost
        if stall is None:
            await self._give_up(0.0)
        if stall > 0.0:
            self.stats.stall_s += stall
            await asyncio.sleep(stall)

    async def on_data(self, conn: ConnectionInfo, direction: FlowDirection, data: bytes) -> bytes:
        if self._events.never or not self.affects(conn, direction):
            return data
        total = 0.0
        stats = self.stats
        for _ in range(_segments(len(data), self.mss)):
            stats.packets += 1
            stall, lost = self._segment_stall(self.rto_s)
            stats.lost += lost
            if stall is None:
                await self._give_up(total)
            total += stall
        if total > 0.0:
            stats.stall_s += total
            await asyncio.sleep(total)
        return data


class CorruptHook(LossHook):
    """Mirrors NetworkChaos `corrupt` (netem `corrupt PERCENT CORRELATION`).

    A segment with a flipped bit fails the receiver's TCP checksum and is
    dropped; the sender retransmits it after a timeout as if it had been
    lost. The byte stream the application reads is never corrupted, so the
    visible effect is exactly that of `LossHook` at the same rate, which this
    class is (its `stats.lost` counts corrupted transmissions).
    """

    def __init__(self, corrupt_percent: float, correlation: float = 0.0, **options: Unpack[_LossOptions]) -> None:
        super().__init__(corrupt_percent, correlation, **options)
        self.corrupt_percent = float(corrupt_percent)


@dataclass
class DuplicateStats:
    """What a `DuplicateHook` counted so far."""

    packets: int = 0
    """Segments seen."""
    duplicated: int = 0
    """Segments that were (notionally) sent twice."""


class DuplicateHook(_ScopedFault):
    """Mirrors NetworkChaos `duplicate` (netem `duplicate PERCENT CORRELATION`).

    The receiving TCP recognises a duplicate segment by its sequence number and
    discards it, so the byte stream, its timing included, is unchanged: the
    hook passes every chunk through untouched. It still draws, per segment,
    whether the segment would have been duplicated and counts that in
    `stats`, so the fault is accepted and reported for what it is.
    """

    def __init__(
        self,
        duplicate_percent: float,
        correlation: float = 0.0,
        *,
        seed: int | None = None,
        mss: int = MSS,
        **scope: Unpack[FaultScope],
    ) -> None:
        super().__init__(**scope)
        if mss <= 0:
            raise ValueError("segment size must be positive")
        self.duplicate_percent = float(duplicate_percent)
        self.correlation = float(correlation)
        self.mss = int(mss)
        self.stats = DuplicateStats()
        self._events = _CorrelatedEvents(self.duplicate_percent, self.correlation, random.Random(seed))

    async def on_data(self, conn: ConnectionInfo, direction: FlowDirection, data: bytes) -> bytes:
        if self._events.never or not self.affects(conn, direction):
            return data
        segments = _segments(len(data), self.mss)
        self.stats.packets += segments
        self.stats.duplicated += sum(1 for _ in range(segments) if self._events.occurs())
        return data


@dataclass
class BandwidthStats:
    """What a `BandwidthHook` did so far."""

    bytes: int = 0
    """Bytes that went through the bucket."""
    throttled_s: float = 0.0
    """Seconds chunks waited for tokens, summed over connections."""
    drops: int = 0
    """Pieces that found the queue full and waited for a retransmission."""


class BandwidthHook(_ScopedFault):
    """Mirrors NetworkChaos `bandwidth` (a tbf qdisc: `rate`, `limit`, `buffer`).

    One token bucket per hook instance, shared by every connection (and
    direction in scope) the hook sees, as tbf shapes a pod's interface as a
    whole: tokens accrue at `rate_bytes_per_s` up to `buffer_bytes` (the burst)
    and each byte spends one.

    A chunk is split into pieces of about 20 ms of traffic (at least one
    segment, at most 64 KiB and half of `limit_bytes`) and each piece reserves
    its tokens in turn, waiting until the bucket has paid for it. Reserving
    ahead (the bucket runs into debt) keeps the long-run throughput at the
    rate however the waits round, and the pieces let concurrent connections
    interleave. The chunk is forwarded whole when its last piece is paid for,
    since a hook returns a chunk at once.

    `limit_bytes` bounds the queue: a piece arriving when the bytes already
    waiting for tokens plus itself exceed the limit is tail-dropped, and
    TCP resends it after `drop_penalty_s` (its minimum retransmission
    timeout). A single connection never meets the limit, as it waits for each
    piece before sending the next; several busy connections can.
    """

    def __init__(
        self,
        rate_bytes_per_s: float,
        limit_bytes: int,
        buffer_bytes: int,
        *,
        drop_penalty_s: float = 0.2,
        **scope: Unpack[FaultScope],
    ) -> None:
        super().__init__(**scope)
        if rate_bytes_per_s <= 0 or limit_bytes <= 0 or buffer_bytes <= 0:
            raise ValueError("rate, limit and buffer must be positive")
        self.rate_bytes_per_s = float(rate_bytes_per_s)
        self.limit_bytes = int(limit_bytes)
        self.buffer_bytes = int(buffer_bytes)
        self.drop_penalty_s = float(drop_penalty_s)
        self.stats = BandwidthStats()
        self._piece = max(MSS, min(64 * 1024, self.limit_bytes // 2, int(self.rate_bytes_per_s * 0.02)))
        self._tokens = float(self.buffer_bytes)
        self._stamp: float | None = None

    def _refill(self, now: float) -> None:
        if self._stamp is not None:
            self._tokens = min(float(self.buffer_bytes), self._tokens + (now - self._stamp) * self.rate_bytes_per_s)
        self._stamp = now

    async def on_data(self, conn: ConnectionInfo, direction: FlowDirection, data: bytes) -> bytes:
        if not self.affects(conn, direction):
            return data
        loop = asyncio.get_running_loop()
        stats = self.stats
        remaining = len(data)
        while remaining > 0:
            piece = min(remaining, self._piece)
            self._refill(loop.time())
            backlog = -self._tokens
            if backlog > 0.0 and backlog + piece > self.limit_bytes:
                stats.drops += 1
                await asyncio.sleep(self.drop_penalty_s)
                continue
            self._tokens -= piece
            remaining -= piece
            if self._tokens < 0.0:
                wait = -self._tokens / self.rate_bytes_per_s
                stats.throttled_s += wait
                await asyncio.sleep(wait)
        stats.bytes += len(data)
        return data


@dataclass
class PartitionStats:
    """What a `PartitionHook` did so far."""

    refused: int = 0
    """New connections refused."""
    cut: int = 0
    """Open connections reset."""


class PartitionHook(_PeerScope):
    """Mirrors NetworkChaos `partition`.

    New connections are refused (`ConnectionRefused` in `on_open`: the client
    sees a reset and the endpoint is never contacted) and open connections are
    reset on their next chunk in either direction.

    With `peers`, only connections whose other side, the source or the
    destination pod, is one of the given pod UIDs are cut: the partition
    between the hooked pods and a `target` group. Connections from the host
    or unknown addresses (no source pod) are then left alone.
    """

    def __init__(self, peers: Collection[str] | None = None) -> None:
        super().__init__(peers)
        self.stats = PartitionStats()
        self._cut: weakref.WeakSet[ConnectionInfo] = weakref.WeakSet()

    def cuts(self, conn: ConnectionInfo) -> bool:
        """Whether the partition separates the two sides of the connection."""
        return self.in_scope(conn)

    async def on_open(self, conn: ConnectionInfo) -> None:
        if self.cuts(conn):
            self.stats.refused += 1
            raise ConnectionRefused("network partition")

    async def on_data(self, conn: ConnectionInfo, direction: FlowDirection, data: bytes) -> bytes:
        if not self.cuts(conn):
            return data
        if conn not in self._cut:
            self._cut.add(conn)
            self.stats.cut += 1
        raise ConnectionRefused("network partition")
