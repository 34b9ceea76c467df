"""HTTP-level faults, through a real dataplane and a keep-alive HTTP server, and on scripted streams."""

from __future__ import annotations

import asyncio
import time

import pytest

from remedlab.cluster.dataplane.dataplane import ConnectionInfo, ConnectionRefused, FlowDirection
from remedlab.cluster.dataplane.http_faults import HttpAbortHook, HttpDelayHook
from tests.unit.dataplane_lab import echo, exchange, get, http_call, http_server, info, is_closed_by_peer, lab, run


def post(path: str, body: bytes) -> bytes:
    return f"POST {path} HTTP/1.1\r\nHost: web\r\nContent-Length: {len(body)}\r\n\r\n".encode() + body


def post_chunked(path: str, *pieces: bytes) -> bytes:
    chunks = b"".join(b"%x;ext=1\r\n%s\r\n" % (len(piece), piece) for piece in pieces)
    return f"POST {path} HTTP/1.1\r\nHost: web\r\nTransfer-Encoding: chunked\r\n\r\n".encode() + chunks + b"0\r\n\r\n"


async def timed_call(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes) -> tuple[bytes, float]:
    started = time.monotonic()
    body = await http_call(reader, writer, request)
    return body, time.monotonic() - started


def test_abort_on_a_path_spares_other_paths_on_the_same_connection() -> None:
    async def test() -> None:
        async with lab() as the_lab:
            seen: list[str] = []
            backend = await the_lab.serve("web", http_server(seen))
            ip, port = await the_lab.service("default/web", backend)
            hook = HttpAbortHook(backend.port, "/hello")
            the_lab.dataplane.add_hook(backend.pod_uid, hook, "in")
            reader, writer = await the_lab.connect(ip, port)
            assert await http_call(reader, writer, get("/healthz")) == b"GET /healthz 0"
            # Bodies that look like requests for /hello are bodies, not requests.
            decoy = get("/hello")
            assert await http_call(reader, writer, post("/healthz", decoy)) == b"POST /healthz %d" % len(decoy)
            chunked = post_chunked("/healthz", decoy, b"x" * 5000)
            assert await http_call(reader, writer, chunked) == b"POST /healthz %d" % (len(decoy) + 5000)
            assert await http_call(reader, writer, get("/healthz")) == b"GET /healthz 0"
            writer.write(get("/hello?name=x"))
            assert await is_closed_by_peer(reader)
            assert seen == ["GET /healthz", "POST /healthz", "POST /healthz", "GET /healthz"]
            assert hook.stats.aborted == 1 and hook.stats.matched == 1

            reader, writer = await the_lab.connect(ip, port)
            assert await http_call(reader, writer, get("/healthz")) == b"GET /healthz 0"

    run(test)


def test_abort_on_response_lets_the_server_handle_the_request() -> None:
    async def test() -> None:
        async with lab() as the_lab:
            seen: list[str] = []
            backend = await the_lab.serve("web", http_server(seen))
            ip, port = await the_lab.service("default/web", backend)
            hook = HttpAbortHook(backend.port, "/hello", method="POST", target="Response")
            the_lab.dataplane.add_hook(backend.pod_uid, hook, "in")
            reader, writer = await the_lab.connect(ip, port)
            assert await http_call(reader, writer, get("/hello")) == b"GET /hello 0"
            writer.write(post("/hello", b"hi"))
            assert await is_closed_by_peer(reader)
            assert seen == ["GET /hello", "POST /hello"]

    run(test)


def test_delay_on_response_delays_only_matching_responses() -> None:
    async def test() -> None:
        async with lab() as the_lab:
            seen: list[str] = []
            backend = await the_lab.serve("web", http_server(seen))
            ip, port = await the_lab.service("default/web", backend)
            hook = HttpDelayHook(backend.port, 0.4, "/slow/*", target="Response")
            the_lab.dataplane.add_hook(backend.pod_uid, hook, "in")
            reader, writer = await the_lab.connect(ip, port)
            body, fast = await timed_call(reader, writer, get("/fast"))
            assert body == b"GET /fast 0" and fast < 0.2
            body, slow = await timed_call(reader, writer, get("/slow/1"))
            assert body == b"GET /slow/1 0" and 0.4 <= slow < 0.65
            body, slow = await timed_call(reader, writer, post("/slow/2", b"abc"))
            assert body == b"POST /slow/2 3" and 0.4 <= slow < 0.65
            body, fast = await timed_call(reader, writer, get("/fast"))
            assert body == b"GET /fast 0" and fast < 0.2
            assert hook.stats.delayed == 2

    run(test)


def test_delay_on_request_holds_matching_requests_back() -> None:
    async def test() -> None:
        async with lab() as the_lab:
            seen: list[str] = []
            backend = await the_lab.serve("web", http_server(seen))
            ip, port = await the_lab.service("default/web", backend)
            hook = HttpDelayHook(backend.port, 0.3, "/slow", method="GET")
            the_lab.dataplane.add_hook(backend.pod_uid, hook, "in")
            reader, writer = await the_lab.connect(ip, port)
            _, unmatched = await timed_call(reader, writer, post("/slow", b""))
            assert unmatched < 0.2
            writer.write(get("/slow"))
            await asyncio.sleep(0.15)
            assert seen == ["POST /slow"]  # not at the server yet
            head = await reader.readuntil(b"\r\n\r\n")
            assert head.startswith(b"HTTP/1.1 200")
            assert await reader.readexactly(len(b"GET /slow 0")) == b"GET /slow 0"
            assert seen == ["POST /slow", "GET /slow"]

    run(test)


def test_other_ports_and_other_protocols_pass_through() -> None:
    async def test() -> None:
        async with lab() as the_lab:
            backend = await the_lab.serve("raw", echo)
            ip, port = await the_lab.service("default/raw", backend)
            other_port = HttpAbortHook(backend.port + 1)
            this_port = HttpAbortHook(backend.port)
            the_lab.dataplane.add_hook(backend.pod_uid, other_port, "in")
            reader, writer = await the_lab.connect(ip, port)
            assert await exchange(reader, writer, get("/anything")) == get("/anything")
            the_lab.dataplane.add_hook(backend.pod_uid, this_port, "in")
            reader, writer = await the_lab.connect(ip, port)
            for data in (b"PING\r\n", b"\x00\x01binary", get("/after-garbage")):
                assert await exchange(reader, writer, data) == data
            reader, writer = await the_lab.connect(ip, port)
            assert await exchange(reader, writer, b"hello world\n") == b"hello world\n"
            assert this_port.stats.unparsed == 2 and this_port.stats.aborted == 0

    run(test)


REQUESTS = [
    get("/m1"),
    post("/x", b"0123456789"),
    b"POST /m2 HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\nExpect: 100-continue\r\n\r\n"
    b"4;name=v\r\nabcd\r\n0\r\nX-Trailer: 1\r\n\r\n",
    b"HEAD /m3 HTTP/1.1\r\nHost: web\r\n\r\n",
    get("http://web/x?m=1"),
]
RESPONSES = [
    b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nm1",
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\n\r\n",
    b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\n",
    b"HTTP/1.1 304 Not Modified\r\n\r\n",
]


async def feed(
    hook: HttpDelayHook | HttpAbortHook, conn: ConnectionInfo, direction: FlowDirection, stream: bytes, step: int
) -> tuple[bytes, list[int]]:
    """Feed a stream in slices of `step` bytes; the bytes forwarded and the matched counts after each slice."""
    forwarded = b""
    counts = []
    for offset in range(0, len(stream), step):
        forwarded += await hook.on_data(conn, direction, stream[offset : offset + step])
        counts.append(hook.stats.matched)
    return forwarded, counts


@pytest.mark.parametrize("step", [1, 7, 100_000])
def test_parser_follows_pipelined_requests_and_responses_in_any_slicing(step: int) -> None:
    async def test() -> None:
        conn = info(dest_port=8080)
        hook = HttpDelayHook(8080, 0.0, "/m*", target="Response")
        requests, responses = b"".join(REQUESTS), b"".join(RESPONSES)
        assert (await feed(hook, conn, "request", requests, step))[0] == requests
        forwarded, _ = await feed(hook, conn, "response", responses, step)
        assert forwarded == responses
        assert hook.stats.delayed == 3 and hook.stats.unparsed == 0

        conn = info(dest_port=8080)
        on_request = HttpDelayHook(8080, 0.0, "/x")
        forwarded, counts = await feed(on_request, conn, "request", requests, step)
        assert forwarded == requests
        assert counts[-1] == 2 and on_request.stats.unparsed == 0

        conn = info(dest_port=8080)
        abort = HttpAbortHook(8080, "/x", target="Response")
        await feed(abort, conn, "request", requests, step)
        first = len(RESPONSES[0])
        forwarded, _ = await feed(abort, conn, "response", responses[:first], step)
        assert forwarded == RESPONSES[0]
        with pytest.raises(ConnectionRefused):
            await feed(abort, conn, "response", responses[first:], step)

    run(test)


def test_percent_and_seed_pick_the_same_requests() -> None:
    async def picks(seed: int) -> list[int]:
        hook = HttpDelayHook(80, 0.0, percent=30, seed=seed)
        conn = info()
        counts = []
        for _ in range(200):
            await hook.on_data(conn, "request", get("/p"))
            counts.append(hook.stats.delayed)
        return counts

    async def test() -> None:
        first, again, other = await picks(1), await picks(1), await picks(2)
        assert first == again and first != other
        assert 40 <= first[-1] <= 80

    run(test)
