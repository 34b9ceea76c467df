"""The service dataplane against real TCP servers on loopback addresses."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import os
import random
import socket
import struct
import time
from collections.abc import Callable

import pytest

from remedlab.cluster.dataplane.dataplane import (
    ConnectionInfo,
    ConnectionRefused,
    Endpoint,
    FlowDirection,
    PassthroughHook,
    ServicePortMap,
)
from tests.unit.dataplane_lab import (
    LOOPS,
    Handler,
    Lab,
    Runner,
    Subnets,
    digest_until_eof,
    echo,
    exchange,
    is_closed_by_peer,
    is_reset_by_peer,
    open_lab,
    run_on,
    service_port,
)

SUBNETS = Subnets(pods="127.88", services="127.77")
pod_ip = SUBNETS.pod_ip
cluster_ip = SUBNETS.cluster_ip


@pytest.fixture(params=LOOPS)
def run(request: pytest.FixtureRequest) -> Runner:
    """Run a test coroutine on a fresh event loop of the parametrised kind, with a deadline."""
    return functools.partial(run_on, str(request.param))


def lab() -> contextlib.AbstractAsyncContextManager[Lab]:
    """A lab on this module's address ranges."""
    return open_lab(SUBNETS)


def tagged_echo(tag: bytes) -> Handler:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while data := await reader.read(65536):
            writer.write(tag + data)
            await writer.drain()

    return handler


def says(name: bytes) -> Handler:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(name)
        await writer.drain()

    return handler


async def until(condition: Callable[[], bool], timeout: float = 2.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.01)


class Recorder(PassthroughHook):
    def __init__(self) -> None:
        self.opened: list[ConnectionInfo] = []
        self.chunks: list[tuple[FlowDirection, bytes]] = []

    async def on_open(self, conn: ConnectionInfo) -> None:
        self.opened.append(conn)

    async def on_data(self, conn: ConnectionInfo, direction: FlowDirection, data: bytes) -> bytes:
        self.chunks.append((direction, data))
        return data


class ByteCounter(PassthroughHook):
    def __init__(self) -> None:
        self.seen: dict[FlowDirection, int] = {"request": 0, "response": 0}

    async def on_data(self, conn: ConnectionInfo, direction: FlowDirection, data: bytes) -> bytes:
        self.seen[direction] += len(data)
        return data


class DelayResponses(PassthroughHook):
    def __init__(self, delay: float) -> None:
        self.delay = delay

    async def on_data(self, conn: ConnectionInfo, direction: FlowDirection, data: bytes) -> bytes:
        if direction == "response":
            await asyncio.sleep(self.delay)
        return data


class Refuse(PassthroughHook):
    async def on_open(self, conn: ConnectionInfo) -> None:
        raise ConnectionRefused("partitioned")


class Partition(PassthroughHook):
    async def on_data(self, conn: ConnectionInfo, direction: FlowDirection, data: bytes) -> bytes:
        raise ConnectionRefused("partitioned")


class Upper(PassthroughHook):
    async def on_data(self, conn: ConnectionInfo, direction: FlowDirection, data: bytes) -> bytes:
        return data.upper() if direction == "response" else data


class SlowOpen(PassthroughHook):
    async def on_open(self, conn: ConnectionInfo) -> None:
        await asyncio.sleep(5)


def test_round_robin_across_two_endpoints(run: Runner) -> None:
    async def test() -> None:
        async with lab() as the_lab:
            a = await the_lab.serve("a", says(b"a"))
            b = await the_lab.serve("b", says(b"b"))
            ip, port = await the_lab.service("default/web", a, b)
            seen = []
            for _ in range(4):
                reader, writer = await the_lab.connect(ip, port)
                seen.append(await reader.read())
                writer.close()
            assert seen == [b"a", b"b", b"a", b"b"]
            await until(lambda: the_lab.dataplane.stats()["default/web"].connections_active == 0)
            stats = the_lab.dataplane.stats()["default/web"]
            assert stats.connections_total == 4
            assert stats.bytes_out == 4
            assert stats.refused == 0

    run(test)


def test_endpoint_update_keeps_open_connections(run: Runner) -> None:
    async def test() -> None:
        async with lab() as the_lab:
            one = await the_lab.serve("one", tagged_echo(b"1:"))
            two = await the_lab.serve("two", tagged_echo(b"2:"))
            ip, port = await the_lab.service("default/api", one)
            reader, writer = await the_lab.connect(ip, port)
            assert await exchange(reader, writer, b"x", 3) == b"1:x"
            await the_lab.dataplane.set_service("default/api", ip, [ServicePortMap(port, (two,))])
            await the_lab.dataplane.set_service("default/api", ip, [ServicePortMap(port, (two,))])
            assert await exchange(reader, writer, b"y", 3) == b"1:y"
            new_reader, new_writer = await the_lab.connect(ip, port)
            assert await exchange(new_reader, new_writer, b"z", 3) == b"2:z"
            writer.close()
            new_writer.close()

    run(test)


def test_service_without_endpoints_resets_connections(run: Runner) -> None:
    async def test() -> None:
        async with lab() as the_lab:
            ip, port = await the_lab.service("default/empty")
            reader, writer = await the_lab.connect(ip, port)
            assert await is_reset_by_peer(reader)
            writer.close()
            await until(lambda: the_lab.dataplane.stats()["default/empty"].connections_active == 0)
            assert the_lab.dataplane.stats()["default/empty"].refused == 1

    run(test)


def test_removing_a_service_or_port_closes_its_listener(run: Runner) -> None:
    async def test() -> None:
        async with lab() as the_lab:
            backend = await the_lab.serve("b", says(b"ok"))
            ip, port = cluster_ip(), service_port()
            other = port + 1
            await the_lab.dataplane.set_service(
                "default/svc", ip, [ServicePortMap(port, (backend,)), ServicePortMap(other, (backend,))]
            )
            reader, writer = await the_lab.connect(ip, other)
            assert await reader.read() == b"ok"
            writer.close()
            await the_lab.dataplane.set_service("default/svc", ip, [ServicePortMap(port, (backend,))])
            with pytest.raises(ConnectionRefusedError):
                await asyncio.open_connection(ip, other)
            reader, writer = await the_lab.connect(ip, port)
            assert await reader.read() == b"ok"
            writer.close()
            await the_lab.dataplane.remove_service("default/svc")
            with pytest.raises(ConnectionRefusedError):
                await asyncio.open_connection(ip, port)
            assert "default/svc" not in the_lab.dataplane.stats()
            # The same address and port can be served again right away.
            await the_lab.dataplane.set_service("default/svc", ip, [ServicePortMap(port, (backend,))])
            reader, writer = await the_lab.connect(ip, port)
            assert await reader.read() == b"ok"
            writer.close()

    run(test)


def test_refused_endpoint_falls_over_to_the_next(run: Runner) -> None:
    async def test() -> None:
        async with lab() as the_lab:
            live = await the_lab.serve("live", says(b"live"))
            dead = Endpoint("uid-dead", pod_ip(), service_port())
            ip, port = await the_lab.service("default/half", dead, live)
            for _ in range(3):
                reader, writer = await the_lab.connect(ip, port)
                assert await reader.read() == b"live"
                writer.close()
            await the_lab.dataplane.set_service("default/half", ip, [ServicePortMap(port, (dead,))])
            reader, writer = await the_lab.connect(ip, port)
            assert await is_closed_by_peer(reader)
            writer.close()
            await until(lambda: the_lab.dataplane.stats()["default/half"].refused == 1)

    run(test)


def test_endpoint_reset_reaches_the_client(run: Runner) -> None:
    async def abort_on_data(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(1)
        sock = writer.get_extra_info("socket")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        writer.transport.abort()

    async def test() -> None:
        async with lab() as the_lab:
            backend = await the_lab.serve("b", abort_on_data)
            ip, port = await the_lab.service("default/rst", backend)
            reader, writer = await the_lab.connect(ip, port)
            writer.write(b"x")
            assert await is_reset_by_peer(reader)
            await until(lambda: the_lab.dataplane.stats()["default/rst"].connections_active == 0)

    run(test)


def test_delay_hook_on_destination_delays_responses(run: Runner) -> None:
    async def test() -> None:
        async with lab() as the_lab:
            backend = await the_lab.serve("b", echo)
            ip, port = await the_lab.service("default/slow", backend)
            the_lab.dataplane.add_hook(backend.pod_uid, DelayResponses(0.2), "in")
            reader, writer = await the_lab.connect(ip, port)
            started = time.monotonic()
            assert await exchange(reader, writer, b"ping", 4) == b"ping"
            assert time.monotonic() - started >= 0.2
            writer.close()

    run(test)


def test_refusing_hook_resets_the_client(run: Runner) -> None:
    async def test() -> None:
        async with lab() as the_lab:
            backend = await the_lab.serve("b", echo)
            ip, port = await the_lab.service("default/cut", backend)
            the_lab.dataplane.add_hook(backend.pod_uid, Refuse(), "in")
            reader, writer = await the_lab.connect(ip, port)
            assert await is_reset_by_peer(reader)
            writer.close()
            assert the_lab.accepted["b"] == 0
            await until(lambda: the_lab.dataplane.stats()["default/cut"].connections_active == 0)
            assert the_lab.dataplane.stats()["default/cut"].refused == 1

    run(test)


def test_hook_refusing_data_resets_an_open_connection(run: Runner) -> None:
    async def test() -> None:
        async with lab() as the_lab:
            backend = await the_lab.serve("b", echo)
            ip, port = await the_lab.service("default/part", backend)
            reader, writer = await the_lab.connect(ip, port)
            assert await exchange(reader, writer, b"one", 3) == b"one"
            handle = the_lab.dataplane.add_hook(backend.pod_uid, Partition(), "both")
            writer.write(b"two")
            assert await is_reset_by_peer(reader)
            writer.close()
            the_lab.dataplane.remove_hook(handle)
            the_lab.dataplane.remove_hook(handle)
            await until(lambda: the_lab.dataplane.stats()["default/part"].connections_active == 0)

    run(test)


def test_hooks_follow_open_connections_both_ways(run: Runner) -> None:
    async def test() -> None:
        async with lab() as the_lab:
            backend = await the_lab.serve("b", echo)
            ip, port = await the_lab.service("default/live", backend)
            reader, writer = await the_lab.connect(ip, port)
            assert await exchange(reader, writer, b"fast", 4) == b"fast"
            handle = the_lab.dataplane.add_hook(backend.pod_uid, DelayResponses(0.2), "in")
            started = time.monotonic()
            assert await exchange(reader, writer, b"slow", 4) == b"slow"
            assert time.monotonic() - started >= 0.2
            the_lab.dataplane.remove_hook(handle)
            started = time.monotonic()
            assert await exchange(reader, writer, b"fast", 4) == b"fast"
            assert time.monotonic() - started < 0.2
            conn = next(iter(the_lab.dataplane.connections))
            await until(lambda: not conn.request.slow and not conn.response.slow)
            writer.close()

    run(test)


def test_source_pod_is_identified_by_peer_address(run: Runner) -> None:
    async def test() -> None:
        async with lab() as the_lab:
            backend = await the_lab.serve("b", echo)
            ip, port = await the_lab.service("default/who", backend)
            client_ip = pod_ip()
            the_lab.dataplane.register_pod("uid-a", client_ip, "default", "a")
            outbound, inbound = Recorder(), Recorder()
            the_lab.dataplane.add_hook("uid-a", outbound, "out")
            the_lab.dataplane.add_hook(backend.pod_uid, inbound, "in")

            reader, writer = await the_lab.connect(ip, port, client_ip)
            assert await exchange(reader, writer, b"from-a", 6) == b"from-a"
            writer.close()
            assert [info.source_pod for info in outbound.opened] == ["uid-a"]
            assert outbound.opened[0].service_key == "default/who"
            assert outbound.opened[0].dest_pod == backend.pod_uid
            assert outbound.opened[0].source_ip == client_ip
            assert ("request", b"from-a") in outbound.chunks
            assert ("response", b"from-a") in outbound.chunks

            reader, writer = await the_lab.connect(ip, port, "127.0.0.1")
            assert await exchange(reader, writer, b"host", 4) == b"host"
            writer.close()
            assert len(outbound.opened) == 1
            assert [info.source_pod for info in inbound.opened] == ["uid-a", None]

            the_lab.dataplane.unregister_pod("uid-a")
            reader, writer = await the_lab.connect(ip, port, client_ip)
            assert await exchange(reader, writer, b"gone", 4) == b"gone"
            writer.close()
            assert len(outbound.opened) == 1

    run(test)


def test_open_to_pod_passes_through_inbound_hooks(run: Runner) -> None:
    async def test() -> None:
        async with lab() as the_lab:
            backend = await the_lab.serve("b", echo)
            dataplane = the_lab.dataplane
            reader, writer = await dataplane.open_to_pod(backend.pod_uid, backend.ip, backend.port, 1.0)
            assert await exchange(reader, writer, b"abc", 3) == b"abc"
            writer.close()

            recorder = Recorder()
            dataplane.add_hook(backend.pod_uid, recorder, "in")
            upper = dataplane.add_hook(backend.pod_uid, Upper(), "in")
            reader, writer = await dataplane.open_to_pod(backend.pod_uid, backend.ip, backend.port, 1.0)
            assert await exchange(reader, writer, b"abc", 3) == b"ABC"
            writer.write_eof()
            assert await reader.read() == b""
            writer.close()
            assert recorder.opened[0].service_key is None
            assert recorder.opened[0].source_pod is None
            dataplane.remove_hook(upper)

            refuse = dataplane.add_hook(backend.pod_uid, Refuse(), "in")
            with pytest.raises(ConnectionRefusedError):
                await dataplane.open_to_pod(backend.pod_uid, backend.ip, backend.port, 1.0)
            dataplane.remove_hook(refuse)

            dataplane.add_hook(backend.pod_uid, SlowOpen(), "in")
            with pytest.raises(TimeoutError):
                await dataplane.open_to_pod(backend.pod_uid, backend.ip, backend.port, 0.1)
            await until(lambda: not dataplane.connections)

    run(test)


@pytest.mark.parametrize("hooked", [False, True], ids=["fast", "slow"])
def test_half_close_forwards_eof(run: Runner, hooked: bool) -> None:
    async def test() -> None:
        async with lab() as the_lab:
            backend = await the_lab.serve("b", digest_until_eof)
            ip, port = await the_lab.service("default/upload", backend)
            counter = ByteCounter()
            if hooked:
                the_lab.dataplane.add_hook(backend.pod_uid, counter, "in")
            payload = os.urandom(300_000)
            reader, writer = await the_lab.connect(ip, port)
            writer.write(payload)
            writer.write_eof()
            answer = await reader.read()
            writer.close()
            assert answer == f"{len(payload)} {hashlib.sha256(payload).hexdigest()}".encode()
            if hooked:
                assert counter.seen == {"request": len(payload), "response": len(answer)}
            await until(lambda: the_lab.dataplane.stats()["default/upload"].connections_active == 0)

    run(test)


@pytest.mark.parametrize("hooked", [False, True], ids=["fast", "slow"])
def test_large_transfer_arrives_intact(run: Runner, hooked: bool) -> None:
    async def test() -> None:
        async with lab() as the_lab:
            backend = await the_lab.serve("b", echo)
            ip, port = await the_lab.service("default/bulk", backend)
            counter = ByteCounter()
            if hooked:
                the_lab.dataplane.add_hook(backend.pod_uid, counter, "in")
            payload = random.Random(7).randbytes(20 * 1024 * 1024)
            reader, writer = await the_lab.connect(ip, port)

            async def send() -> None:
                view = memoryview(payload)
                for offset in range(0, len(payload), 1 << 20):
                    writer.write(view[offset : offset + (1 << 20)])
                    await writer.drain()
                writer.write_eof()

            sender = asyncio.create_task(send())
            received = hashlib.sha256()
            size = 0
            while data := await reader.read(1 << 20):
                received.update(data)
                size += len(data)
            await sender
            writer.close()
            assert size == len(payload)
            assert received.digest() == hashlib.sha256(payload).digest()
            await until(lambda: the_lab.dataplane.stats()["default/bulk"].connections_active == 0)
            stats = the_lab.dataplane.stats()["default/bulk"]
            assert stats.bytes_in == stats.bytes_out == len(payload)
            if hooked:
                assert counter.seen == {"request": len(payload), "response": len(payload)}

    run(test)


def test_stop_closes_open_connections(run: Runner) -> None:
    async def test() -> None:
        async with lab() as the_lab:
            backend = await the_lab.serve("b", echo)
            ip, port = await the_lab.service("default/stop", backend)
            the_lab.dataplane.add_hook(backend.pod_uid, PassthroughHook(), "in")
            reader, writer = await the_lab.connect(ip, port)
            assert await exchange(reader, writer, b"hi", 2) == b"hi"
            await the_lab.dataplane.stop()
            assert await is_closed_by_peer(reader)
            writer.close()
            assert not the_lab.dataplane.connections
            with pytest.raises(ConnectionRefusedError):
                await asyncio.open_connection(ip, port)

    run(test)
