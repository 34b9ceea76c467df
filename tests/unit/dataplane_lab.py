"""A test lab for the service dataplane: loopback backends, services, event loops and small stream helpers.

Each test module that uses the lab draws its addresses from its own loopback ranges (`Subnets`).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import importlib.util
import random
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from remedlab.cluster.dataplane.dataplane import ConnectionInfo, Dataplane, Endpoint, ServicePortMap

Runner = Callable[[Callable[[], Coroutine[Any, Any, None]]], None]
Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]

LOOPS = ["asyncio"] + (["uvloop"] if importlib.util.find_spec("uvloop") is not None else [])
TEST_TIMEOUT = 10.0


def run_on(loop_kind: str, test: Callable[[], Coroutine[Any, Any, None]]) -> None:
    """Run a test coroutine on a fresh event loop of kind `loop_kind` (one of `LOOPS`), with a deadline."""

    async def bounded() -> None:
        async with asyncio.timeout(TEST_TIMEOUT):
            await test()

    if loop_kind == "uvloop":
        import uvloop

        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            runner.run(bounded())
    else:
        asyncio.run(bounded())


def run(test: Callable[[], Coroutine[Any, Any, None]]) -> None:
    """Run a test coroutine on a fresh asyncio event loop, with a deadline."""
    run_on("asyncio", test)


def service_port() -> int:
    return random.randint(20000, 30000)


@dataclass(frozen=True)
class Subnets:
    """The loopback /16 ranges (as "127.N") that one test module draws pod and service addresses from."""

    pods: str
    services: str

    def pod_ip(self) -> str:
        return f"{self.pods}.{random.randint(1, 254)}.{random.randint(1, 254)}"

    def cluster_ip(self) -> str:
        return f"{self.services}.{random.randint(1, 254)}.{random.randint(1, 254)}"


# The network and HTTP fault tests share one pair of ranges.
FAULT_SUBNETS = Subnets(pods="127.89", services="127.79")


class Lab:
    """A dataplane and the backend servers of one test; `lab()` closes them all."""

    def __init__(self, subnets: Subnets) -> None:
        self.subnets = subnets
        self.dataplane = Dataplane(connect_timeout=2.0)
        self.servers: list[asyncio.Server] = []
        self.writers: list[asyncio.StreamWriter] = []
        self.accepted: dict[str, int] = {}

    async def serve(self, name: str, handler: Handler, ip: str | None = None) -> Endpoint:
        """Start a backend pod `name` and return it as an endpoint."""
        self.accepted[name] = 0

        async def counted(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            self.accepted[name] += 1
            self.writers.append(writer)
            try:
                await handler(reader, writer)
            except (ConnectionError, asyncio.IncompleteReadError):
                pass
            finally:
                writer.close()

        server = await asyncio.start_server(counted, ip or self.subnets.pod_ip(), 0)
        self.servers.append(server)
        host, port = server.sockets[0].getsockname()[:2]
        return Endpoint(pod_uid=f"uid-{name}", ip=str(host), port=int(port))

    async def connect(
        self, ip: str, port: int, source_ip: str | None = None
    ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        """A client connection that is closed with the lab."""
        local_addr = (source_ip, 0) if source_ip else None
        reader, writer = await asyncio.open_connection(ip, port, local_addr=local_addr)
        self.writers.append(writer)
        return reader, writer

    async def service(self, key: str, *endpoints: Endpoint) -> tuple[str, int]:
        ip, port = self.subnets.cluster_ip(), service_port()
        await self.dataplane.set_service(key, ip, [ServicePortMap(port, tuple(endpoints))])
        return ip, port

    async def close(self) -> None:
        await self.dataplane.stop()
        for server in self.servers:
            server.close()
        for writer in self.writers:
            writer.close()


@contextlib.asynccontextmanager
async def open_lab(subnets: Subnets) -> AsyncIterator[Lab]:
    """A started lab on `subnets`, closed on exit."""
    the_lab = Lab(subnets)
    await the_lab.dataplane.start()
    try:
        yield the_lab
    finally:
        await the_lab.close()


def lab() -> contextlib.AbstractAsyncContextManager[Lab]:
    """A lab on the fault tests' ranges."""
    return open_lab(FAULT_SUBNETS)


# -- backends ------------------------------------------------------------------


async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    while data := await reader.read(256 * 1024):
        writer.write(data)
        await writer.drain()
    writer.write_eof()


async def digest_until_eof(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Read the whole request, then answer with its size and SHA-256 and close."""
    digest = hashlib.sha256()
    size = 0
    while data := await reader.read(65536):
        digest.update(data)
        size += len(data)
    writer.write(f"{size} {digest.hexdigest()}".encode())
    await writer.drain()


def http_server(seen: list[str]) -> Handler:
    """A keep-alive HTTP/1.1 server answering "METHOD PATH BODY-SIZE"; it records each request it serves."""

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            try:
                head = await reader.readuntil(b"\r\n\r\n")
            except asyncio.IncompleteReadError:
                return
            lines = head.decode("latin-1").split("\r\n")
            method, target, _ = lines[0].split(" ")
            headers = {}
            for line in lines[1:]:
                if line:
                    name, _, value = line.partition(":")
                    headers[name.lower()] = value.strip()
            body = b""
            if headers.get("transfer-encoding") == "chunked":
                while size := int((await reader.readuntil(b"\r\n"))[:-2].split(b";")[0], 16):
                    body += await reader.readexactly(size)
                    await reader.readexactly(2)
                await reader.readuntil(b"\r\n")
            elif "content-length" in headers:
                body = await reader.readexactly(int(headers["content-length"]))
            seen.append(f"{method} {target}")
            payload = f"{method} {target} {len(body)}".encode()
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(payload), payload))
            await writer.drain()

    return handler


# -- clients -------------------------------------------------------------------


async def http_call(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes) -> bytes:
    """Send one request on a kept-alive connection and return the response body."""
    writer.write(request)
    await writer.drain()
    head = await reader.readuntil(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 "), head
    length = next(
        int(line.split(b":", 1)[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:")
    )
    return await reader.readexactly(length)


def get(path: str) -> bytes:
    return f"GET {path} HTTP/1.1\r\nHost: web\r\n\r\n".encode()


async def exchange(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, data: bytes, expect: int | None = None
) -> bytes:
    """Send `data` and read back `expect` bytes (by default as many as were sent)."""
    writer.write(data)
    await writer.drain()
    return await reader.readexactly(len(data) if expect is None else expect)


async def is_closed_by_peer(reader: asyncio.StreamReader) -> bool:
    """Whether the peer ends the stream within two seconds, by closing or by resetting it."""
    try:
        return await asyncio.wait_for(reader.read(), 2.0) == b""
    except ConnectionResetError:
        return True


async def is_reset_by_peer(reader: asyncio.StreamReader) -> bool:
    """Whether the peer resets the stream within two seconds (a clean close does not count)."""
    try:
        await asyncio.wait_for(reader.read(), 2.0)
    except ConnectionResetError:
        return True
    return False


def info(source_pod: str | None = "uid-a", dest_pod: str = "uid-b", dest_port: int = 80) -> ConnectionInfo:
    """A connection to `dest_pod` through service default/svc, as hooks see it."""
    return ConnectionInfo(
        service_key="default/svc",
        source_pod=source_pod,
        dest_pod=dest_pod,
        dest_ip="127.0.0.1",
        dest_port=dest_port,
        opened_at=0.0,
    )
