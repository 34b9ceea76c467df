"""The service kit: trace context, logs, discovery, metrics, health, client and serving."""

from __future__ import annotations

import asyncio
import io
import json
import os
import random
import re
import signal
import socket
import subprocess
import sys
import textwrap
import time
import urllib.error
import urllib.request
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from remedlab.apps.kit.client import ServiceClient, UpstreamError
from remedlab.apps.kit.discovery import ServiceNotFoundError, env_prefix, service_address
from remedlab.apps.kit.health import add_health_routes
from remedlab.apps.kit.metrics import (
    HTTP_REQUESTS,
    UPSTREAM_REQUESTS,
    Registry,
    add_metrics_route,
    format_value,
)
from remedlab.apps.kit.serving import observe_middleware
from remedlab.apps.kit.structured_log import Logger, timestamp
from remedlab.apps.kit.tracing import (
    TraceContext,
    current_trace,
    current_trace_id,
    new_trace,
    parse_traceparent,
)
from remedlab.free_port import free_port

TS_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
SPAN_ID = "00f067aa0ba902b7"


def random_loopback() -> str:
    return f"127.{random.randint(16, 254)}.{random.randint(0, 255)}.{random.randint(2, 254)}"


# --------------------------------------------------------------------------- tracing


def test_traceparent_round_trip() -> None:
    ctx = parse_traceparent(f"00-{TRACE_ID}-{SPAN_ID}-01")
    assert ctx == TraceContext(TRACE_ID, SPAN_ID, True)
    assert ctx.header() == f"00-{TRACE_ID}-{SPAN_ID}-01"
    child = ctx.child()
    assert child.trace_id == TRACE_ID and child.span_id != SPAN_ID and re.fullmatch(r"[0-9a-f]{16}", child.span_id)
    unsampled = parse_traceparent(f"00-{TRACE_ID}-{SPAN_ID}-00")
    assert unsampled is not None and not unsampled.sampled
    # A later version may carry more fields; its first four still count.
    assert parse_traceparent(f"01-{TRACE_ID}-{SPAN_ID}-01-extra") == TraceContext(TRACE_ID, SPAN_ID, True)


@pytest.mark.parametrize(
    "value",
    [
        None,
        "",
        "garbage",
        f"00-{'0' * 32}-{SPAN_ID}-01",
        f"00-{TRACE_ID}-{'0' * 16}-01",
        f"ff-{TRACE_ID}-{SPAN_ID}-01",
        f"00-{TRACE_ID.upper()}-{SPAN_ID}-01",
        f"00-{TRACE_ID}-{SPAN_ID}-01-extra",
        f"00-{TRACE_ID[:-1]}-{SPAN_ID}-01",
    ],
)
def test_malformed_traceparent_is_ignored(value: str | None) -> None:
    assert parse_traceparent(value) is None


def test_new_traces_are_distinct() -> None:
    a, b = new_trace(), new_trace()
    assert a.trace_id != b.trace_id
    assert parse_traceparent(a.header()) == a


# --------------------------------------------------------------------------- structured logs


def read_lines(buf: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in buf.getvalue().splitlines()]


def test_log_lines_are_json_with_the_standard_fields() -> None:
    buf = io.StringIO()
    log = Logger("kit-test", stream=buf)
    log.info("plain", answer=42, path=Path("/x"))
    token = current_trace.set(TraceContext(TRACE_ID, SPAN_ID))
    try:
        log.warning("traced", msg="collides", level="also")
    finally:
        current_trace.reset(token)
    first, second = read_lines(buf)
    assert list(first)[:5] == ["ts", "level", "service", "trace_id", "msg"]
    assert TS_RE.match(first["ts"])
    assert first["level"] == "info" and first["service"] == "kit-test" and first["trace_id"] is None
    assert first["msg"] == "plain" and first["answer"] == 42 and first["path"] == "/x"
    assert second["trace_id"] == TRACE_ID and second["level"] == "warning"
    # Extra fields never overwrite the standard ones.
    assert second["msg"] == "traced" and second["field_msg"] == "collides" and second["field_level"] == "also"


def test_error_lines_carry_the_error_and_the_stack() -> None:
    buf = io.StringIO()
    log = Logger("kit-test", stream=buf)
    try:
        raise KeyError("missing-key")
    except KeyError:
        log.exception("lookup failed", key="k")
    log.error("given explicitly", exc=ValueError("bad value"))
    log.error("no exception")
    caught, given, bare = read_lines(buf)
    assert caught["level"] == "error" and caught["key"] == "k"
    assert caught["error"] == {"type": "KeyError", "message": "'missing-key'"}
    assert "Traceback" in caught["stack"] and "raise KeyError" in caught["stack"]
    assert given["error"] == {"type": "ValueError", "message": "bad value"}
    assert "error" not in bare and "stack" not in bare


def test_timestamp_is_utc_with_milliseconds() -> None:
    assert TS_RE.match(timestamp())


# --------------------------------------------------------------------------- discovery


def test_service_address_from_kubernetes_variables() -> None:
    assert env_prefix("time-service") == "TIME_SERVICE"
    env = {"TIME_SERVICE_SERVICE_HOST": "10.96.0.12", "TIME_SERVICE_SERVICE_PORT": "5001"}
    assert service_address("time-service", env) == ("10.96.0.12", 5001)


@pytest.mark.parametrize(
    ("env", "needle"),
    [
        ({}, "TIME_SERVICE_SERVICE_HOST and TIME_SERVICE_SERVICE_PORT not set"),
        ({"TIME_SERVICE_SERVICE_HOST": "10.0.0.1"}, "TIME_SERVICE_SERVICE_PORT not set"),
        ({"TIME_SERVICE_SERVICE_HOST": "h", "TIME_SERVICE_SERVICE_PORT": "http"}, "is not a port number"),
        ({"TIME_SERVICE_SERVICE_HOST": "h", "TIME_SERVICE_SERVICE_PORT": "70000"}, "out of range"),
    ],
)
def test_undiscoverable_service_is_one_clear_line(env: dict[str, str], needle: str) -> None:
    with pytest.raises(ServiceNotFoundError) as info:
        service_address("time-service", env)
    message = str(info.value)
    assert "\n" not in message and "'time-service'" in message and needle in message


# --------------------------------------------------------------------------- metrics


def test_registry_exposition_format() -> None:
    reg = Registry()
    requests = reg.counter("demo_requests_total", "Requests.\nSecond line \\ here.", ("route", "status"))
    latency = reg.histogram("demo_seconds", "Latency.", ("route",), buckets=(0.1, 1.0))
    plain = reg.counter("demo_plain_total", "No labels.")
    requests.inc(route="/a", status=200)
    requests.inc(2, route='/q"x', status=500)
    latency.observe(0.1, route="/a")
    latency.observe(0.5, route="/a")
    latency.observe(3.0, route="/a")
    assert requests.value(route="/a", status=200) == 1
    assert latency.count(route="/a") == 3
    assert reg.exposition() == textwrap.dedent(
        """\
        # HELP demo_requests_total Requests.\\nSecond line \\\\ here.
        # TYPE demo_requests_total counter
        demo_requests_total{route="/a",status="200"} 1
        demo_requests_total{route="/q\\"x",status="500"} 2
        # HELP demo_seconds Latency.
        # TYPE demo_seconds histogram
        demo_seconds_bucket{route="/a",le="0.1"} 1
        demo_seconds_bucket{route="/a",le="1.0"} 2
        demo_seconds_bucket{route="/a",le="+Inf"} 3
        demo_seconds_sum{route="/a"} 3.6
        demo_seconds_count{route="/a"} 3
        # HELP demo_plain_total No labels.
        # TYPE demo_plain_total counter
        demo_plain_total 0
        """
    )
    plain.inc()
    assert "demo_plain_total 1\n" in reg.exposition()


def test_registry_rejects_misuse() -> None:
    reg = Registry()
    counter = reg.counter("x_total", "X.", ("a",))
    with pytest.raises(ValueError, match="already registered"):
        reg.counter("x_total", "X.")
    with pytest.raises(ValueError, match="takes labels"):
        counter.inc(b="1")
    with pytest.raises(ValueError, match="only goes up"):
        counter.inc(-1, a="1")
    with pytest.raises(ValueError, match="invalid label name"):
        reg.histogram("y_seconds", "Y.", ("le",))
    with pytest.raises(ValueError, match="invalid metric name"):
        reg.counter("1bad", "B.")
    assert [format_value(v) for v in (3.0, 0.25, float("inf"), float("nan"))] == ["3", "0.25", "+Inf", "NaN"]


# --------------------------------------------------------------------------- in-process servers


@asynccontextmanager
async def serving(app: web.Application, host: str) -> AsyncIterator[int]:
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.2)
    await runner.setup()
    try:
        site = web.TCPSite(runner, host, 0)
        await site.start()
        port: int = runner.addresses[0][1]
        yield port
    finally:
        await runner.cleanup()


def upstream_app(calls: dict[str, int]) -> web.Application:
    async def echo(request: web.Request) -> web.Response:
        calls["echo"] = calls.get("echo", 0) + 1
        return web.json_response({"remote": request.remote, "traceparent": request.headers.get("traceparent")})

    async def flaky(request: web.Request) -> web.Response:
        calls["flaky"] = calls.get("flaky", 0) + 1
        if calls["flaky"] == 1:
            return web.json_response({"error": "warming up"}, status=503)
        return web.json_response({"ok": True})

    async def broken(request: web.Request) -> web.Response:
        calls["broken"] = calls.get("broken", 0) + 1
        return web.json_response({"error": "down"}, status=500)

    async def missing(request: web.Request) -> web.Response:
        calls["missing"] = calls.get("missing", 0) + 1
        return web.json_response({"error": "no such thing"}, status=404)

    async def slow(request: web.Request) -> web.Response:
        calls["slow"] = calls.get("slow", 0) + 1
        await asyncio.sleep(1.0)
        return web.json_response({"late": True})

    async def not_json(request: web.Request) -> web.Response:
        return web.Response(text="<html>nope</html>")

    app = web.Application()
    for path, handler in [
        ("/echo", echo),
        ("/flaky", flaky),
        ("/broken", broken),
        ("/missing", missing),
        ("/slow", slow),
        ("/not-json", not_json),
    ]:
        app.router.add_get(path, handler)
    return app


def test_client_binds_the_pod_ip_retries_and_reports_failures(monkeypatch: pytest.MonkeyPatch) -> None:
    server_ip, pod_ip = random_loopback(), random_loopback()
    calls: dict[str, int] = {}
    monkeypatch.setenv("REMEDLAB_POD_IP", pod_ip)
    monkeypatch.delenv("NOWHERE_SERVICE_HOST", raising=False)
    monkeypatch.delenv("NOWHERE_SERVICE_PORT", raising=False)
    log_buf = io.StringIO()
    ok_before = UPSTREAM_REQUESTS.value(service="kit-upstream", outcome="ok")
    errors_before = UPSTREAM_REQUESTS.value(service="kit-upstream", outcome="http_error")

    async def scenario() -> None:
        async with serving(upstream_app(calls), server_ip) as port:
            monkeypatch.setenv("KIT_UPSTREAM_SERVICE_HOST", server_ip)
            monkeypatch.setenv("KIT_UPSTREAM_SERVICE_PORT", str(port))
            async with ServiceClient(logger=Logger("kit-test", stream=log_buf), backoff=0.01) as client:
                assert client.source_ip == pod_ip

                # No trace context: the client starts one.
                echoed = await client.get_json("kit-upstream", "/echo")
                assert echoed["remote"] == pod_ip
                assert parse_traceparent(echoed["traceparent"]) is not None

                # Inside a request's trace: same trace id, a new span.
                token = current_trace.set(TraceContext(TRACE_ID, SPAN_ID))
                try:
                    echoed = await client.get_json("kit-upstream", "echo")
                finally:
                    current_trace.reset(token)
                sent = parse_traceparent(echoed["traceparent"])
                assert sent is not None and sent.trace_id == TRACE_ID and sent.span_id != SPAN_ID

                assert await client.get_json("kit-upstream", "/flaky", retries=1) == {"ok": True}
                assert calls["flaky"] == 2

                with pytest.raises(UpstreamError) as info:
                    await client.get_json("kit-upstream", "/broken", retries=2)
                assert (info.value.service, info.value.status, info.value.attempts) == (
                    "kit-upstream",
                    500,
                    3,
                )
                assert calls["broken"] == 3

                with pytest.raises(UpstreamError) as info:
                    await client.get_json("kit-upstream", "/missing", retries=3)
                assert info.value.status == 404 and calls["missing"] == 1  # a 4xx is not retried

                started = time.perf_counter()
                with pytest.raises(UpstreamError) as info:
                    await client.get_json("kit-upstream", "/slow", timeout=0.2, retries=1)
                assert info.value.status is None and "within 0.2s" in info.value.reason
                assert calls["slow"] == 2 and time.perf_counter() - started < 0.9

                with pytest.raises(UpstreamError, match="invalid JSON"):
                    await client.get_json("kit-upstream", "/not-json")

                with pytest.raises(UpstreamError, match="NOWHERE_SERVICE_HOST"):
                    await client.get_json("nowhere", "/x")

        # The server is gone now: connection refused, retried, then reported.
        async with ServiceClient(backoff=0.01) as client:
            with pytest.raises(UpstreamError) as info:
                await client.get_json("kit-upstream", "/echo", retries=1)
            assert info.value.status is None and "Connection refused" in info.value.reason
            assert info.value.attempts == 2

    asyncio.run(scenario())
    assert UPSTREAM_REQUESTS.value(service="kit-upstream", outcome="ok") - ok_before == 3
    assert UPSTREAM_REQUESTS.value(service="kit-upstream", outcome="http_error") - errors_before == 5
    retries = [line for line in read_lines(log_buf) if line["msg"] == "upstream call failed, retrying"]
    assert retries and all(line["level"] == "warning" and line["upstream"] == "kit-upstream" for line in retries)


def test_middleware_traces_logs_and_measures_requests() -> None:
    host = random_loopback()
    buf = io.StringIO()

    async def whoami(request: web.Request) -> web.Response:
        ctx = current_trace.get()
        assert ctx is not None
        return web.json_response({"trace_id": ctx.trace_id, "span_id": ctx.span_id})

    async def boom(request: web.Request) -> web.Response:
        raise RuntimeError("kaboom")

    async def dependency_ready() -> bool:
        return False

    app = web.Application(middlewares=[observe_middleware(Logger("kit-test", stream=buf))])
    app.router.add_get("/items/{item}", whoami)
    app.router.add_get("/boom", boom)
    add_health_routes(app, ready_check=dependency_ready)
    registry = Registry()
    add_metrics_route(app, registry)

    async def scenario() -> None:
        async with serving(app, host) as port, ServiceClient(source_ip="") as client:
            os.environ["KIT_MW_SERVICE_HOST"], os.environ["KIT_MW_SERVICE_PORT"] = host, str(port)
            try:
                token = current_trace.set(TraceContext(TRACE_ID, SPAN_ID))
                try:
                    seen = await client.get_json("kit-mw", "/items/7")
                finally:
                    current_trace.reset(token)
                assert seen["trace_id"] == TRACE_ID and seen["span_id"] != SPAN_ID
                assert current_trace_id() is None

                with pytest.raises(UpstreamError) as info:
                    await client.get_json("kit-mw", "/boom", retries=0)
                assert info.value.status == 500
                with pytest.raises(UpstreamError) as info:
                    await client.get_json("kit-mw", "/nope", retries=0)
                assert info.value.status == 404
                assert await client.get_json("kit-mw", "/healthz") == {"status": "ok"}
                with pytest.raises(UpstreamError) as info:
                    await client.get_json("kit-mw", "/readyz", retries=0)
                assert info.value.status == 503
            finally:
                del os.environ["KIT_MW_SERVICE_HOST"], os.environ["KIT_MW_SERVICE_PORT"]

    asyncio.run(scenario())
    lines = read_lines(buf)
    access = {line["path"]: line for line in lines if "status" in line}
    item = access["/items/7"]
    assert item["msg"] == "GET /items/7 200" and item["method"] == "GET" and item["trace_id"] == TRACE_ID
    assert isinstance(item["duration_ms"], float) and item["remote"] == "127.0.0.1"
    assert access["/boom"]["status"] == 500 and access["/nope"]["status"] == 404
    assert "/healthz" not in access and "/readyz" not in access  # probes stay out of the access log
    (error,) = [line for line in lines if line["level"] == "error"]
    assert error["msg"] == "unhandled error" and error["error"] == {
        "type": "RuntimeError",
        "message": "kaboom",
    }
    assert error["trace_id"] == access["/boom"]["trace_id"]
    assert HTTP_REQUESTS.value(route="/items/{item}", method="GET", status=200) >= 1
    assert HTTP_REQUESTS.value(route="unmatched", method="GET", status=404) >= 1
    assert HTTP_REQUESTS.value(route="/readyz", method="GET", status=503) >= 1


def test_readiness_check_outcomes() -> None:
    host = random_loopback()
    state: dict[str, str] = {"mode": "ready"}

    async def check() -> bool:
        if state["mode"] == "raise":
            raise ConnectionError("db down")
        if state["mode"] == "hang":
            await asyncio.sleep(5)
        return state["mode"] == "ready"

    app = web.Application()
    add_health_routes(app, ready_check=check, ready_timeout=0.1)

    async def scenario() -> list[tuple[int, Any]]:
        out: list[tuple[int, Any]] = []
        async with serving(app, host) as port, ServiceClient(source_ip="") as client:
            os.environ["KIT_HEALTH_SERVICE_HOST"], os.environ["KIT_HEALTH_SERVICE_PORT"] = host, str(port)
            try:
                for mode in ("ready", "not", "raise", "hang"):
                    state["mode"] = mode
                    try:
                        out.append((200, await client.get_json("kit-health", "/readyz", retries=0)))
                    except UpstreamError as exc:
                        out.append((exc.status or 0, None))
            finally:
                del os.environ["KIT_HEALTH_SERVICE_HOST"], os.environ["KIT_HEALTH_SERVICE_PORT"]
        return out

    assert asyncio.run(scenario()) == [(200, {"status": "ready"}), (503, None), (503, None), (503, None)]


def test_readiness_changes_are_told_in_the_log_not_every_probe(monkeypatch: pytest.MonkeyPatch) -> None:
    from aiohttp.test_utils import make_mocked_request

    from remedlab.apps.kit import health

    stream = io.StringIO()
    state = {"reason": ""}

    async def check() -> bool:
        if state["reason"]:
            raise ConnectionError(state["reason"])
        return True

    handle = health.readyz_handler(check, log=Logger("kit-ready", stream))

    def probe(reason: str) -> list[str]:
        state["reason"] = reason

        async def once() -> None:
            await handle(make_mocked_request("GET", "/readyz"))

        asyncio.run(once())
        lines = [json.loads(line) for line in stream.getvalue().splitlines()]
        stream.seek(0), stream.truncate()
        return [f"{line['level']}: {line['msg']}" for line in lines]

    assert probe("") == []  # ready from the start: nothing to tell
    assert probe("db down") == ["warning: not ready: ConnectionError: db down"]
    assert probe("db down") == []  # the same, within a while
    assert probe("denied") == ["warning: not ready: ConnectionError: denied"]
    monkeypatch.setattr(health, "NOT_READY_LOG_EVERY_S", 0.0)
    assert probe("denied") == ["warning: not ready: ConnectionError: denied"]  # told again after a while
    assert probe("") == ["info: ready again"]
    assert probe("") == []


# --------------------------------------------------------------------------- a real process

SLOW_SERVICE = """
import asyncio
import sys

from aiohttp import web

from remedlab.apps.kit.serving import run_service


async def slow(request: web.Request) -> web.Response:
    await asyncio.sleep(float(request.query.get("s", "0.5")))
    return web.json_response({"done": True})


app = web.Application()
app.router.add_get("/slow", slow)
run_service(app, service="slow-service", port=int(sys.argv[1]), shutdown_timeout=float(sys.argv[2]))
"""


def wait_listening(proc: subprocess.Popen[str], host: str, port: int, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"service exited with {proc.returncode}: {proc.communicate()[0]}")
        try:
            socket.create_connection((host, port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.01)
    raise AssertionError(f"service not listening on {host}:{port} after {timeout}s")


@contextmanager
def slow_service(tmp_path: Path, shutdown_timeout: float) -> Iterator[tuple[subprocess.Popen[str], str]]:
    script = tmp_path / "slow_service.py"
    script.write_text(SLOW_SERVICE)
    host = random_loopback()
    port = free_port(host)
    env = {k: v for k, v in os.environ.items() if not k.endswith(("_SERVICE_HOST", "_SERVICE_PORT"))}
    env["REMEDLAB_POD_IP"] = host
    proc = subprocess.Popen(
        [sys.executable, str(script), str(port), str(shutdown_timeout)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        wait_listening(proc, host, port)
        yield proc, f"http://{host}:{port}"
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate(timeout=5)


def refuses_connections(host: str, port: int, within: float) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            socket.create_connection((host, port), timeout=0.2).close()
        except OSError:
            return True
        time.sleep(0.02)
    return False


def fetch(url: str) -> tuple[int, Any]:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(url, timeout=10) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_sigterm_finishes_in_flight_requests_then_exits_0(tmp_path: Path) -> None:
    with slow_service(tmp_path, shutdown_timeout=5.0) as (proc, url), ThreadPoolExecutor(1) as pool:
        pending = pool.submit(fetch, f"{url}/slow?s=0.6")
        time.sleep(0.25)  # the request is in the handler now
        signalled = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        host, port = url.removeprefix("http://").split(":")
        assert refuses_connections(host, int(port), within=1.0)
        assert pending.result(timeout=5) == (200, {"done": True})
        assert proc.wait(timeout=5) == 0
        assert time.monotonic() - signalled < 2.0
        output = proc.communicate()[0]
    lines = [json.loads(line) for line in output.splitlines()]
    assert [line["msg"] for line in lines] == [
        f"listening on {url.removeprefix('http://')}",
        "stopping: no new connections, finishing in-flight requests",
        "GET /slow 200",
        "stopped",
    ]
    assert lines[1]["signal"] == "SIGTERM"


def test_grace_period_bounds_the_wait_and_sigint_also_exits_0(tmp_path: Path) -> None:
    with slow_service(tmp_path, shutdown_timeout=0.3) as (proc, url), ThreadPoolExecutor(1) as pool:
        pending = pool.submit(fetch, f"{url}/slow?s=30")
        time.sleep(0.25)
        signalled = time.monotonic()
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=5) == 0
        assert time.monotonic() - signalled < 1.5
        with pytest.raises(OSError):
            pending.result(timeout=5)


def test_port_in_use_exits_1_with_an_error_line(tmp_path: Path) -> None:
    with slow_service(tmp_path, shutdown_timeout=1.0) as (_, url):
        port = url.rsplit(":", 1)[1]
        host = url.removeprefix("http://").split(":")[0]
        env = {k: v for k, v in os.environ.items() if not k.endswith(("_SERVICE_HOST", "_SERVICE_PORT"))}
        env["REMEDLAB_POD_IP"] = host
        script = tmp_path / "slow_service.py"
        second = subprocess.run(
            [sys.executable, str(script), port, "1"], env=env, capture_output=True, text=True, timeout=10
        )
    assert second.returncode == 1
    (line,) = [json.loads(text) for text in second.stdout.splitlines()]
    assert line["level"] == "error" and line["msg"] == f"cannot listen on {host}:{port}"
    assert line["error"]["type"] == "OSError" and "stack" in line


def test_client_retires_connections_older_than_its_max_age() -> None:
    """Calls reuse a kept-alive connection; with ``max_connection_age`` a call after that age opens a
    new one (as a Thrift client pool does), so a change behind a Service reaches the caller."""

    async def peer(request: web.Request) -> web.Response:
        peername = request.transport.get_extra_info("peername") if request.transport else None
        return web.json_response({"port": peername[1] if peername else None})

    app = web.Application()
    app.router.add_get("/peer", peer)

    async def ports(client: ServiceClient, port: int) -> list[int]:
        seen = [(await client.get_json(f"127.0.0.1:{port}", "/peer"))["port"] for _ in range(2)]
        await asyncio.sleep(0.3)
        seen.append((await client.get_json(f"127.0.0.1:{port}", "/peer"))["port"])
        return seen

    async def scenario() -> tuple[list[int], list[int]]:
        async with serving(app, "127.0.0.1") as port:
            async with ServiceClient(source_ip="") as kept:
                forever = await ports(kept, port)
            async with ServiceClient(source_ip="", max_connection_age=0.2) as aging:
                retired = await ports(aging, port)
            return forever, retired

    forever, retired = asyncio.run(scenario())
    assert forever[0] == forever[1] == forever[2]
    assert retired[0] == retired[1] != retired[2]
