"""TCP-level network faults, through a real dataplane and loopback servers, and as models."""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import random
import time
from collections.abc import Awaitable
from typing import Any

import pytest

from remedlab.cluster.dataplane.dataplane import ConnectionRefused, FlowDirection
from remedlab.cluster.dataplane.network_faults import (
    BandwidthHook,
    CorruptHook,
    DelayHook,
    DuplicateHook,
    LossHook,
    PartitionHook,
)
from tests.unit.dataplane_lab import (
    FAULT_SUBNETS,
    digest_until_eof,
    echo,
    exchange,
    get,
    http_call,
    http_server,
    info,
    is_closed_by_peer,
    lab,
    run,
)

pod_ip = FAULT_SUBNETS.pod_ip


async def timed(awaitable: Awaitable[Any]) -> float:
    started = time.monotonic()
    await awaitable
    return time.monotonic() - started


# -- delay -------------------------------------------------------------------


def test_delay_adds_one_latency_per_affected_direction() -> None:
    async def test() -> None:
        async with lab() as the_lab:
            backend = await the_lab.serve("b", echo)
            ip, port = await the_lab.service("default/slow", backend)
            reader, writer = await the_lab.connect(ip, port)
            baseline = await timed(exchange(reader, writer, b"warm"))

            # Where netem sits: the bytes the backend sends, i.e. its responses.
            egress = the_lab.dataplane.add_hook(backend.pod_uid, DelayHook(0.3, egress_of=backend.pod_uid), "in")
            kept_alive = await timed(exchange(reader, writer, b"ping"))
            assert 0.3 <= kept_alive < 0.3 + baseline + 0.2
            fresh_reader, fresh_writer = await the_lab.connect(ip, port)
            fresh = await timed(exchange(fresh_reader, fresh_writer, b"new!"))
            assert 0.6 <= fresh < 0.6 + baseline + 0.25  # the handshake and the response
            the_lab.dataplane.remove_hook(egress)

            # By default every chunk the hook sees is delayed: request and response.
            the_lab.dataplane.add_hook(backend.pod_uid, DelayHook(0.2), "in")
            both = await timed(exchange(reader, writer, b"pong"))
            assert 0.4 <= both < 0.4 + baseline + 0.2

    run(test)


def test_delay_keeps_order_and_does_not_add_up_over_a_bulk_transfer() -> None:
    async def test() -> None:
        async with lab() as the_lab:
            backend = await the_lab.serve("b", echo)
            ip, port = await the_lab.service("default/bulk", backend)
            hook = DelayHook(0.2, jitter_s=0.1, correlation=25, seed=3)
            the_lab.dataplane.add_hook(backend.pod_uid, hook, "in")
            payload = random.Random(5).randbytes(1 << 20)
            reader, writer = await the_lab.connect(ip, port)

            async def send() -> None:
                for offset in range(0, len(payload), 64 * 1024):
                    writer.write(payload[offset : offset + 64 * 1024])
                    await writer.drain()
                writer.write_eof()

            started = time.monotonic()
            sender = asyncio.create_task(send())
            received = await reader.read()
            elapsed = time.monotonic() - started
            await sender
            assert received == payload
            # Handshake, request and response each take at most 0.3 s; 1 MiB of chunks delayed one after
            # another would take many times that.
            assert 0.3 <= elapsed < 1.5, elapsed

    run(test)


def test_delay_jitter_stays_within_bounds_and_is_reproducible() -> None:
    hook = DelayHook(0.1, jitter_s=0.05, correlation=50, seed=11)
    draws = [hook.draw() for _ in range(2000)]
    assert all(0.05 <= draw <= 0.15 for draw in draws)
    assert abs(sum(draws) / len(draws) - 0.1) < 0.005
    same = DelayHook(0.1, jitter_s=0.05, correlation=50, seed=11)
    assert draws == [same.draw() for _ in range(2000)]
    steps = [abs(a - b) for a, b in itertools.pairwise(draws)]
    free = DelayHook(0.1, jitter_s=0.05, seed=11)
    free_draws = [free.draw() for _ in range(2000)]
    free_steps = [abs(a - b) for a, b in itertools.pairwise(free_draws)]
    assert sum(steps) < 0.8 * sum(free_steps)  # correlated draws move less from one to the next


def test_scope_options_select_connections_and_directions() -> None:
    a_to_b, c_to_b, host_to_b = info("uid-a"), info("uid-c"), info(None)
    egress = DelayHook(0.1, egress_of="uid-b")
    assert egress.affects(a_to_b, "response") and not egress.affects(a_to_b, "request")
    assert egress.affects(info("uid-b", "uid-x"), "request")
    only_requests: tuple[FlowDirection, ...] = ("request",)
    requests = DelayHook(0.1, flows=only_requests)
    assert requests.affects(a_to_b, "request") and not requests.affects(a_to_b, "response")
    peers = LossHook(10, peers={"uid-a"})
    assert peers.in_scope(a_to_b) and not peers.in_scope(c_to_b) and not peers.in_scope(host_to_b)


# -- loss, corruption, duplication -----------------------------------------------


def test_loss_slows_an_http_exchange_by_retransmission_timeouts() -> None:
    async def test() -> None:
        async with lab() as the_lab:
            seen: list[str] = []
            backend = await the_lab.serve("web", http_server(seen))
            ip, port = await the_lab.service("default/web", backend)
            reader, writer = await the_lab.connect(ip, port)
            rounds = 4
            baseline = 0.0
            for index in range(rounds):
                started = time.monotonic()
                assert await http_call(reader, writer, get(f"/plain/{index}")) == f"GET /plain/{index} 0".encode()
                baseline += time.monotonic() - started
            # A request and its response are one segment each: eight segments at 50 % loss.
            hook = LossHook(50, seed=10)
            the_lab.dataplane.add_hook(backend.pod_uid, hook, "in")
            lossy = 0.0
            for index in range(rounds):
                started = time.monotonic()
                assert await http_call(reader, writer, get(f"/lossy/{index}")) == f"GET /lossy/{index} 0".encode()
                lossy += time.monotonic() - started
            added = (lossy - baseline) / rounds
            assert added >= 0.2, added  # at least one retransmission timeout per exchange on average
            assert hook.stats.packets == 2 * rounds
            assert hook.stats.lost >= 1 and hook.stats.resets == 0
            assert lossy >= hook.stats.stall_s
            assert seen == [f"GET /plain/{i}" for i in range(rounds)] + [f"GET /lossy/{i}" for i in range(rounds)]

    run(test)


def test_loss_delivers_every_byte_intact_and_in_order() -> None:
    async def test() -> None:
        async with lab() as the_lab:
            backend = await the_lab.serve("b", echo)
            ip, port = await the_lab.service("default/lossy", backend)
            # Short timeouts keep the test quick; the stream sees the same kind of stalls.
            hook = LossHook(50, correlation=25, seed=4, rto_s=0.002, max_rto_s=0.008, syn_rto_s=0.01, give_up_s=5.0)
            the_lab.dataplane.add_hook(backend.pod_uid, hook, "in")
            payload = random.Random(9).randbytes(80_000)
            reader, writer = await the_lab.connect(ip, port)
            writer.write(payload)
            writer.write_eof()
            assert await reader.read() == payload
            assert hook.stats.lost > 0 and hook.stats.resets == 0
            assert hook.stats.packets >= 2 * len(payload) // 1460

    run(test)


def test_zero_loss_is_a_no_op() -> None:
    async def test() -> None:
        hook = LossHook(0, seed=1)
        conn = info()
        data = b"x" * 100_000
        started = time.monotonic()
        await hook.on_open(conn)
        for _ in range(100):
            assert await hook.on_data(conn, "request", data) is data
        assert time.monotonic() - started < 0.05
        assert hook.stats.packets == 0 and hook.stats.stall_s == 0.0

    run(test)


def test_loss_is_reproducible_with_a_seed_and_keeps_its_rate() -> None:
    async def stalls(hook: LossHook) -> list[float]:
        conn = info()
        trace = []
        for _ in range(100):
            await hook.on_data(conn, "response", b"y" * 29_200)
            trace.append(hook.stats.stall_s)
        return trace

    def quick(seed: int, correlation: float = 0.0) -> LossHook:
        return LossHook(30, correlation, seed=seed, rto_s=1e-5, max_rto_s=1e-4, give_up_s=1.0)

    async def test() -> None:
        first, again, other = await stalls(quick(21)), await stalls(quick(21)), await stalls(quick(22))
        assert first == again
        assert first != other
        for correlation in (0.0, 60.0):
            hook = quick(5, correlation)
            await stalls(hook)
            transmissions = hook.stats.packets + hook.stats.lost
            assert abs(hook.stats.lost / transmissions - 0.3) < 0.04
        corrupt = CorruptHook(30, seed=21, rto_s=1e-5, max_rto_s=1e-4, give_up_s=1.0)
        assert await stalls(corrupt) == first  # corruption is loss to TCP

    run(test)


def test_total_loss_stalls_the_handshake_then_refuses() -> None:
    async def test() -> None:
        async with lab() as the_lab:
            backend = await the_lab.serve("b", echo)
            ip, port = await the_lab.service("default/dark", backend)
            hook = LossHook(100, syn_rto_s=0.05, give_up_s=0.3)
            the_lab.dataplane.add_hook(backend.pod_uid, hook, "in")
            reader, _ = await the_lab.connect(ip, port)
            started = time.monotonic()
            assert await is_closed_by_peer(reader)
            assert time.monotonic() - started >= 0.25
            assert the_lab.accepted["b"] == 0
            assert hook.stats.resets == 1 and hook.stats.syns_lost >= 3
            with pytest.raises(ConnectionRefused):
                await hook.on_data(info(), "request", b"z")

    run(test)


def test_duplication_passes_bytes_through_and_counts() -> None:
    async def test() -> None:
        hook = DuplicateHook(40, seed=2)
        conn = info()
        data = b"d" * 14_600
        started = time.monotonic()
        for _ in range(200):
            assert await hook.on_data(conn, "request", data) is data
        assert time.monotonic() - started < 0.1
        assert hook.stats.packets == 2000
        assert 700 <= hook.stats.duplicated <= 900

    run(test)


# -- bandwidth -----------------------------------------------------------------


def test_bandwidth_shares_one_rate_between_connections() -> None:
    async def test() -> None:
        async with lab() as the_lab:
            backend = await the_lab.serve("b", digest_until_eof)
            ip, port = await the_lab.service("default/thin", backend)
            hook = BandwidthHook(1_000_000, limit_bytes=4_000_000, buffer_bytes=10_000)
            the_lab.dataplane.add_hook(backend.pod_uid, hook, "in")
            payloads = [random.Random(seed).randbytes(1_000_000) for seed in (1, 2)]

            async def upload(payload: bytes) -> None:
                reader, writer = await the_lab.connect(ip, port)
                writer.write(payload)
                writer.write_eof()
                answer = await reader.read()
                assert answer == f"{len(payload)} {hashlib.sha256(payload).hexdigest()}".encode()

            started = time.monotonic()
            await asyncio.gather(*(upload(payload) for payload in payloads))
            elapsed = time.monotonic() - started
            assert 1.6 <= elapsed < 2.8, elapsed  # 2 MB through one 1 MB/s bucket
            assert hook.stats.bytes >= 2_000_000
            assert hook.stats.drops == 0

    run(test)


def test_bandwidth_queue_limit_drops_when_many_connections_crowd_it() -> None:
    async def test() -> None:
        hook = BandwidthHook(1_000_000, limit_bytes=20_000, buffer_bytes=1_000, drop_penalty_s=0.01)
        data = b"q" * 10_000
        started = time.monotonic()
        await asyncio.gather(*(hook.on_data(info(f"uid-{i}"), "request", data) for i in range(6)))
        assert time.monotonic() - started >= 0.05
        assert hook.stats.drops > 0
        assert hook.stats.bytes == 60_000

    run(test)


# -- partition -------------------------------------------------------------------


def test_partition_refuses_new_connections_and_cuts_open_ones() -> None:
    async def test() -> None:
        async with lab() as the_lab:
            backend = await the_lab.serve("b", echo)
            ip, port = await the_lab.service("default/cut", backend)
            reader, writer = await the_lab.connect(ip, port)
            assert await exchange(reader, writer, b"before") == b"before"
            hook = PartitionHook()
            handle = the_lab.dataplane.add_hook(backend.pod_uid, hook, "in")
            writer.write(b"during")
            assert await is_closed_by_peer(reader)
            new_reader, _ = await the_lab.connect(ip, port)
            assert await is_closed_by_peer(new_reader)
            assert the_lab.accepted["b"] == 1
            assert hook.stats.refused == 1 and hook.stats.cut == 1
            the_lab.dataplane.remove_hook(handle)
            reader, writer = await the_lab.connect(ip, port)
            assert await exchange(reader, writer, b"after") == b"after"

    run(test)


def test_partition_with_peers_only_cuts_the_peer_pods() -> None:
    async def test() -> None:
        async with lab() as the_lab:
            backend = await the_lab.serve("b", echo)
            ip, port = await the_lab.service("default/split", backend)
            ip_a, ip_c = pod_ip(), pod_ip()
            the_lab.dataplane.register_pod("uid-a", ip_a, "default", "a")
            the_lab.dataplane.register_pod("uid-c", ip_c, "default", "c")
            a_reader, a_writer = await the_lab.connect(ip, port, ip_a)
            c_reader, c_writer = await the_lab.connect(ip, port, ip_c)
            assert await exchange(a_reader, a_writer, b"a1") == b"a1"
            assert await exchange(c_reader, c_writer, b"c1") == b"c1"
            hook = PartitionHook(peers={"uid-a"})
            the_lab.dataplane.add_hook(backend.pod_uid, hook, "in")
            a_writer.write(b"a2")
            assert await is_closed_by_peer(a_reader)
            assert await exchange(c_reader, c_writer, b"c2") == b"c2"
            new_a, _ = await the_lab.connect(ip, port, ip_a)
            assert await is_closed_by_peer(new_a)
            new_c_reader, new_c_writer = await the_lab.connect(ip, port, ip_c)
            assert await exchange(new_c_reader, new_c_writer, b"c3") == b"c3"
            host_reader, host_writer = await the_lab.connect(ip, port, "127.0.0.1")
            assert await exchange(host_reader, host_writer, b"h1") == b"h1"
            assert hook.stats.refused == 1 and hook.stats.cut == 1

    run(test)
