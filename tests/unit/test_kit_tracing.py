"""The kit's spans: nesting and propagation, OTLP JSON, batching export, and a service exporting for real."""

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
import threading
import time
import urllib.request
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from remedlab.apps.kit.client import ServiceClient, UpstreamError
from remedlab.apps.kit.health import add_health_routes
from remedlab.apps.kit.otlp_export import (
    BatchExporter,
    configure_tracing,
    export_request,
    resource_attributes,
    shutdown_tracing,
    traces_endpoint,
)
from remedlab.apps.kit.serving import observe_middleware
from remedlab.apps.kit.structured_log import Logger
from remedlab.apps.kit.tracing import (
    CLIENT,
    Span,
    SpanKind,
    StatusCode,
    TraceContext,
    current_span,
    current_trace,
    parse_traceparent,
    set_span_processor,
    span,
    span_processor,
    start_span,
)
from remedlab.observe.otlp_json import parse_export

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
SPAN_ID = "00f067aa0ba902b7"
MB = 1024 * 1024


def loopback() -> str:
    return f"127.{random.randint(16, 254)}.{random.randint(0, 255)}.{random.randint(2, 253)}"


class Collect:
    """A span processor that keeps what it is given."""

    def __init__(self) -> None:
        self.spans: list[Span] = []

    def on_end(self, span: Span) -> None:
        self.spans.append(span)

    def named(self, name: str) -> list[Span]:
        return [s for s in self.spans if s.name == name]


@pytest.fixture(autouse=True)
def no_leftover_tracing() -> Iterator[None]:
    yield
    shutdown_tracing()
    assert span_processor() is None or not isinstance(span_processor(), BatchExporter)


# --------------------------------------------------------------------------- a fake collector


class FakeCollector:
    """An OTLP/HTTP endpoint on a loopback address of its own that records every POST."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, str, dict[str, Any]]] = []
        self.status = 200
        self.delay = 0.0
        self.arrived = threading.Event()
        collector = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                if collector.delay:
                    time.sleep(collector.delay)
                collector.requests.append((self.path, self.headers.get("Content-Type", ""), json.loads(body)))
                collector.arrived.set()
                answer = b"{}" if collector.status == 200 else b'{"code": 13, "message": "collector trouble"}'
                self.send_response(collector.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.host = loopback()
        self.server = ThreadingHTTPServer((self.host, 0), Handler)
        self.server.daemon_threads = True
        self.server.block_on_close = False
        self.port = int(self.server.server_address[1])
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    @property
    def base(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def endpoint(self) -> str:
        return f"{self.base}/v1/traces"

    def spans(self) -> list[dict[str, Any]]:
        return [
            s
            for _, _, body in list(self.requests)
            for rs in body["resourceSpans"]
            for ss in rs["scopeSpans"]
            for s in ss["spans"]
        ]

    def wait_spans(self, count: int, timeout: float = 5.0) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while len(self.spans()) < count:
            assert time.monotonic() < deadline, f"{len(self.spans())} spans arrived, wanted {count}"
            time.sleep(0.01)
        return self.spans()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def collector() -> Iterator[FakeCollector]:
    fake = FakeCollector()
    try:
        yield fake
    finally:
        fake.close()


def ended(name: str, **attributes: Any) -> Span:
    made = Span(name, TraceContext(f"{random.getrandbits(128) | 1:032x}", f"{random.getrandbits(64) | 1:016x}"))
    made.set_attributes(attributes)
    made.end()
    return made


# --------------------------------------------------------------------------- spans


def test_spans_nest_and_their_context_is_what_propagates(collected: Collect) -> None:
    token = current_trace.set(TraceContext(TRACE_ID, SPAN_ID))
    try:
        with span("GET /hello", kind=SpanKind.SERVER) as outer:
            assert current_span.get() is outer and current_trace.get() == outer.context
            with span("postgres SELECT", kind=CLIENT, attributes={"db.system": "postgresql"}) as inner:
                header = parse_traceparent(current_trace.get().header())  # type: ignore[union-attr]
                assert header == inner.context
            assert current_span.get() is outer
        assert current_trace.get() == TraceContext(TRACE_ID, SPAN_ID)
    finally:
        current_trace.reset(token)
    assert current_span.get() is None
    assert collected.spans == [inner, outer]  # in the order they ended
    assert outer.context.trace_id == inner.context.trace_id == TRACE_ID
    assert outer.parent_span_id == SPAN_ID and inner.parent_span_id == outer.context.span_id
    assert len({SPAN_ID, outer.context.span_id, inner.context.span_id}) == 3
    assert (outer.kind, inner.kind) == (SpanKind.SERVER, SpanKind.CLIENT)
    assert inner.attributes == {"db.system": "postgresql"}
    assert outer.start_ns <= inner.start_ns <= inner.end_ns <= outer.end_ns
    assert outer.status_code == inner.status_code == StatusCode.UNSET

    # no context: a new trace; an explicit None parent also starts one
    root = start_span("job")
    assert root.parent_span_id == "" and root.context.trace_id != TRACE_ID
    assert start_span("other", parent=None).context.trace_id != root.context.trace_id


def test_an_exception_marks_the_span_and_goes_on(collected: Collect) -> None:
    with pytest.raises(ValueError, match="bad row"), span("parse"):
        raise ValueError("bad row")
    (failed,) = collected.spans
    assert failed.status_code == StatusCode.ERROR and failed.status_message == "ValueError: bad row"
    (event,) = failed.events
    assert event.name == "exception" and event.attributes == {
        "exception.type": "ValueError",
        "exception.message": "bad row",
    }
    failed.set_status(StatusCode.OK)  # an error is never downgraded
    assert failed.status_code == StatusCode.ERROR
    failed.end()  # ending twice records once
    assert len(collected.spans) == 1

    async def cancelled() -> None:
        with span("slow call"):
            await asyncio.sleep(10)

    async def scenario() -> None:
        task = asyncio.create_task(cancelled())
        await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(scenario())
    assert collected.named("slow call")[0].status_message == "cancelled"


def test_unsampled_or_unexported_spans_only_carry_context(collected: Collect) -> None:
    token = current_trace.set(TraceContext(TRACE_ID, SPAN_ID, sampled=False))
    try:
        with span("quiet") as quiet:
            assert quiet.context.trace_id == TRACE_ID and not quiet.context.sampled
            assert quiet.context.header().endswith("-00")
    finally:
        current_trace.reset(token)
    assert not quiet.recording and collected.spans == []
    set_span_processor(None)
    with span("nobody listens") as unheard:
        pass
    assert not unheard.recording and unheard.ended


# --------------------------------------------------------------------------- OTLP JSON


def test_export_request_is_otlp_json() -> None:
    parent = "b7ad6b7169203331"
    made = Span("GET time-service /time", TraceContext(TRACE_ID, SPAN_ID), parent, SpanKind.CLIENT)
    made.set_attributes({"peer.service": "time-service", "server.port": 5001, "ratio": 0.25, "retry": True})
    made.set_attribute("tags", ["a", "b"])
    made.set_attribute("nothing", None)
    made.set_status(StatusCode.ERROR, "HTTP 503")
    made.end()
    body = export_request({"service.name": "hello-service", "k8s.namespace.name": "simple-micro"}, [made])
    assert json.loads(json.dumps(body)) == body  # plain JSON
    (resource_spans,) = body["resourceSpans"]
    assert resource_spans["resource"]["attributes"] == [
        {"key": "service.name", "value": {"stringValue": "hello-service"}},
        {"key": "k8s.namespace.name", "value": {"stringValue": "simple-micro"}},
    ]
    (scope_spans,) = resource_spans["scopeSpans"]
    assert scope_spans["scope"]["name"] == "remedlab.apps.kit"
    (encoded,) = scope_spans["spans"]
    assert encoded["traceId"] == TRACE_ID and encoded["spanId"] == SPAN_ID and encoded["parentSpanId"] == parent
    assert encoded["name"] == "GET time-service /time" and encoded["kind"] == 3
    assert re.fullmatch(r"\d{19}", encoded["startTimeUnixNano"]) and re.fullmatch(r"\d{19}", encoded["endTimeUnixNano"])
    assert int(encoded["endTimeUnixNano"]) >= int(encoded["startTimeUnixNano"])
    assert encoded["status"] == {"code": 2, "message": "HTTP 503"}
    assert encoded["attributes"] == [
        {"key": "peer.service", "value": {"stringValue": "time-service"}},
        {"key": "server.port", "value": {"intValue": "5001"}},
        {"key": "ratio", "value": {"doubleValue": 0.25}},
        {"key": "retry", "value": {"boolValue": True}},
        {"key": "tags", "value": {"arrayValue": {"values": [{"stringValue": "a"}, {"stringValue": "b"}]}}},
    ]
    assert "parentSpanId" not in export_request({}, [ended("root")])["resourceSpans"][0]["scopeSpans"][0]["spans"][0]
    (stored,) = parse_export(json.dumps(body)).spans  # what the server's receiver reads back
    assert (stored.service, stored.namespace, stored.kind, stored.status_code) == (
        "hello-service",
        "simple-micro",
        "CLIENT",
        "ERROR",
    )


def test_resource_and_configuration_come_from_the_environment(collector: FakeCollector) -> None:
    env = {
        "REMEDLAB_POD_NAMESPACE": "simple-micro",
        "HOSTNAME": "hello-service-7d9f8-x2k4q",
        "OTEL_RESOURCE_ATTRIBUTES": "deployment.environment=lab,team=sre%2Cops,broken",
    }
    resource = resource_attributes("hello-service", env)
    assert resource["service.name"] == "hello-service" and resource["k8s.namespace.name"] == "simple-micro"
    assert resource["k8s.pod.name"] == "hello-service-7d9f8-x2k4q"
    assert resource["deployment.environment"] == "lab" and resource["team"] == "sre,ops"
    assert resource_attributes("x", {"POD_NAMESPACE": "ns", "OTEL_SERVICE_NAME": "y"})["service.name"] == "y"
    assert resource_attributes("x", {"POD_NAMESPACE": "ns"})["k8s.namespace.name"] == "ns"

    assert traces_endpoint({}) is None
    assert (
        traces_endpoint({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.1.2.3:4318/"}) == "http://127.1.2.3:4318/v1/traces"
    )
    assert traces_endpoint(
        {"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://h:1/x", "OTEL_EXPORTER_OTLP_ENDPOINT": "y"}
    ) == ("http://h:1/x")

    endpoint = {"OTEL_EXPORTER_OTLP_ENDPOINT": collector.base}
    assert configure_tracing("svc", {}) is None and span_processor() is None
    assert configure_tracing("svc", {**endpoint, "OTEL_SDK_DISABLED": "true"}) is None
    assert configure_tracing("svc", {**endpoint, "OTEL_SDK_DISABLED": "TRUE"}) is None
    assert configure_tracing("svc", {**endpoint, "OTEL_TRACES_EXPORTER": "none"}) is None
    reasons: list[str] = []
    assert configure_tracing("svc", {"OTEL_EXPORTER_OTLP_ENDPOINT": "ftp://x"}, on_error=reasons.append) is None
    assert reasons == ["tracing disabled: OTLP endpoint 'ftp://x/v1/traces' is not an http(s) URL"]
    exporter = configure_tracing("svc", {**endpoint, "OTEL_SDK_DISABLED": "false", "HOSTNAME": "p-1"}, interval=0.05)
    assert exporter is not None and span_processor() is exporter and exporter.endpoint == collector.endpoint
    with span("configured"):
        pass
    (received,) = collector.wait_spans(1)
    assert received["name"] == "configured"
    path, content_type, body = collector.requests[0]
    assert (path, content_type) == ("/v1/traces", "application/json")
    attributes = {a["key"]: a["value"] for a in body["resourceSpans"][0]["resource"]["attributes"]}
    assert attributes["service.name"] == {"stringValue": "svc"} and attributes["k8s.pod.name"] == {"stringValue": "p-1"}
    shutdown_tracing()
    assert span_processor() is None


# --------------------------------------------------------------------------- batching export


def test_exporter_batches_by_size_and_by_time(collector: FakeCollector) -> None:
    exporter = BatchExporter(collector.endpoint, {"service.name": "svc"}, interval=0.3, max_batch=4)
    try:
        for i in range(10):
            exporter.on_end(ended(f"s{i}"))
        collector.wait_spans(10, timeout=0.25)  # a full batch wakes the thread, which sends all that waits
        sizes = [len(b["resourceSpans"][0]["scopeSpans"][0]["spans"]) for _, _, b in collector.requests]
        assert sizes == [4, 4, 2]
        assert [s["name"] for s in collector.spans()] == [f"s{i}" for i in range(10)]
        assert exporter.flush(2.0)  # the last answer is in
        assert exporter.exported == 10 and exporter.dropped == 0 and exporter.queued == 0
        exporter.on_end(ended("late"))
        assert exporter.flush(2.0)
        assert collector.spans()[-1]["name"] == "late"
        # bodies are valid exports for the server's receiver
        for _, _, body in collector.requests:
            assert parse_export(json.dumps(body)).rejected == 0
    finally:
        exporter.shutdown()
    exporter.on_end(ended("after shutdown"))
    assert exporter.dropped == 1 and "after shutdown" not in {s["name"] for s in collector.spans()}


def test_less_than_a_batch_waits_for_the_next_tick(collector: FakeCollector) -> None:
    exporter = BatchExporter(collector.endpoint, {}, interval=0.4, max_batch=4)
    try:
        exporter.on_end(ended("alone"))
        time.sleep(0.15)
        assert collector.spans() == []
        (alone,) = collector.wait_spans(1, timeout=1.5)
        assert alone["name"] == "alone"
    finally:
        exporter.shutdown()


def test_a_full_queue_drops_the_oldest_and_counts(collector: FakeCollector) -> None:
    exporter = BatchExporter(collector.endpoint, {}, interval=60, max_queue=3, max_batch=100)
    for i in range(5):
        exporter.on_end(ended(f"s{i}"))
    assert exporter.dropped == 2 and exporter.queued == 3
    assert exporter.flush(2.0)
    assert [s["name"] for s in collector.spans()] == ["s2", "s3", "s4"]
    exporter.shutdown()


def test_shutdown_sends_what_is_queued_within_its_bound(collector: FakeCollector) -> None:
    exporter = BatchExporter(collector.endpoint, {}, interval=60)
    exporter.on_end(ended("last words"))
    exporter.shutdown(timeout=2.0)
    assert [s["name"] for s in collector.spans()] == ["last words"]

    collector.delay = 2.0  # a collector that hangs: shutdown still returns on time
    stuck = BatchExporter(collector.endpoint, {}, interval=60, timeout=5.0)
    stuck.on_end(ended("never"))
    started = time.monotonic()
    stuck.shutdown(timeout=0.3)
    assert time.monotonic() - started < 0.6


# --------------------------------------------------------------------------- spans of real requests


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


def back_app() -> web.Application:
    async def ok(request: web.Request) -> web.Response:
        return web.json_response({"ok": True})

    async def boom(request: web.Request) -> web.Response:
        raise RuntimeError("kaboom")

    app = web.Application(middlewares=[observe_middleware(Logger("back", stream=io.StringIO()))])
    app.router.add_get("/items/{item}", ok)
    app.router.add_get("/boom", boom)
    add_health_routes(app)
    return app


def front_app(client: ServiceClient) -> web.Application:
    async def call(request: web.Request) -> web.Response:
        try:
            await client.get_json("kit-back", request.query["path"], retries=1)
        except UpstreamError as exc:
            return web.json_response({"error": str(exc)}, status=502)
        return web.json_response({"called": True})

    app = web.Application(middlewares=[observe_middleware(Logger("front", stream=io.StringIO()))])
    app.router.add_get("/call", call)
    return app


def by_kind(spans: list[Span], kind: SpanKind, name_part: str = "") -> list[Span]:
    return [s for s in spans if s.kind == kind and name_part in s.name]


def test_requests_make_server_and_client_spans(collected: Collect, monkeypatch: pytest.MonkeyPatch) -> None:
    back_ip, front_ip = loopback(), loopback()

    async def scenario() -> None:
        async with serving(back_app(), back_ip) as back_port, ServiceClient(source_ip="", backoff=0.01) as client:
            monkeypatch.setenv("KIT_BACK_SERVICE_HOST", back_ip)
            monkeypatch.setenv("KIT_BACK_SERVICE_PORT", str(back_port))
            async with serving(front_app(client), front_ip) as front_port, ServiceClient(source_ip="") as outside:
                monkeypatch.setenv("KIT_FRONT_SERVICE_HOST", front_ip)
                monkeypatch.setenv("KIT_FRONT_SERVICE_PORT", str(front_port))
                token = current_trace.set(TraceContext(TRACE_ID, SPAN_ID))
                try:
                    assert await outside.get_json("kit-front", "/call?path=/items/7") == {"called": True}
                finally:
                    current_trace.reset(token)
                healthy = list(collected.spans)
                collected.spans.clear()
                with pytest.raises(UpstreamError):
                    await outside.get_json("kit-front", "/call", params={"path": "/boom"}, retries=0)
                failing = list(collected.spans)
                collected.spans.clear()
                assert await outside.get_json("kit-back", "/healthz") == {"status": "ok"}
                probes = list(collected.spans)

        # healthy: caller CLIENT -> front SERVER -> front CLIENT -> back SERVER, one trace
        (caller,) = by_kind(healthy, SpanKind.CLIENT, "kit-front")
        (front,) = by_kind(healthy, SpanKind.SERVER, "/call")
        (hop,) = by_kind(healthy, SpanKind.CLIENT, "kit-back")
        (back,) = by_kind(healthy, SpanKind.SERVER, "/items")
        assert {s.context.trace_id for s in healthy} == {TRACE_ID} and len(healthy) == 4
        assert caller.parent_span_id == SPAN_ID and front.parent_span_id == caller.context.span_id
        assert hop.parent_span_id == front.context.span_id and back.parent_span_id == hop.context.span_id
        assert (front.name, hop.name, back.name) == ("GET /call", "GET kit-back /items/7", "GET /items/{item}")
        assert back.attributes["http.request.method"] == "GET" and back.attributes["url.path"] == "/items/7"
        assert back.attributes["http.route"] == "/items/{item}" and back.attributes["http.response.status_code"] == 200
        assert hop.attributes["peer.service"] == "kit-back" and hop.attributes["server.address"] == back_ip
        assert hop.attributes["server.port"] == back_port and hop.attributes["http.response.status_code"] == 200
        assert all(s.status_code == StatusCode.UNSET for s in healthy)

        # failing: the back end raises; two attempts; the front answers 502
        (root,) = by_kind(failing, SpanKind.INTERNAL)  # the outside call had no trace: it opened one
        assert root.name == "call kit-front" and root.parent_span_id == "" and root.status_code == StatusCode.ERROR
        backs = by_kind(failing, SpanKind.SERVER, "/boom")
        assert len(backs) == 2 and all(b.status_code == StatusCode.ERROR for b in backs)
        assert backs[0].status_message == "RuntimeError: kaboom"
        assert backs[0].attributes["http.response.status_code"] == 500
        assert [e.attributes["exception.message"] for e in backs[0].events] == ["kaboom"]
        hops = by_kind(failing, SpanKind.CLIENT, "kit-back")
        assert [h.status_message for h in hops] == ["HTTP 500: internal server error"] * 2
        assert (
            hops[1].attributes["http.request.resend_count"] == 1
            and "http.request.resend_count" not in hops[0].attributes
        )
        assert {b.parent_span_id for b in backs} == {h.context.span_id for h in hops}
        (front_failed,) = by_kind(failing, SpanKind.SERVER, "/call")
        assert front_failed.status_code == StatusCode.ERROR and front_failed.status_message == "HTTP 502"

        # probes: the caller's spans only, none from the server
        assert sorted(s.kind for s in probes) == [SpanKind.INTERNAL, SpanKind.CLIENT]

    asyncio.run(scenario())


def test_export_trouble_never_reaches_requests(collector: FakeCollector, monkeypatch: pytest.MonkeyPatch) -> None:
    host = loopback()
    errors: list[str] = []
    recovered: list[str] = []

    async def scenario() -> None:
        async with serving(back_app(), host) as port, ServiceClient(source_ip="") as client:
            monkeypatch.setenv("KIT_BACK_SERVICE_HOST", host)
            monkeypatch.setenv("KIT_BACK_SERVICE_PORT", str(port))

            async def burst(count: int) -> float:
                slowest = 0.0
                for _ in range(count):
                    started = time.perf_counter()
                    assert await client.get_json("kit-back", "/items/1") == {"ok": True}
                    slowest = max(slowest, time.perf_counter() - started)
                return slowest

            # nobody listens at the endpoint
            with socket.socket() as s:
                s.bind((host, 0))
                closed = s.getsockname()[1]
            refused = BatchExporter(f"http://{host}:{closed}/v1/traces", {}, interval=0.05, on_error=errors.append)
            set_span_processor(refused)
            assert await burst(20) < 0.5
            await asyncio.to_thread(refused.flush, 2.0)
            assert refused.failed_batches >= 1 and refused.exported == 0 and refused.dropped >= 40
            assert len(errors) == 1 and "Connection refused" in errors[0]
            refused.shutdown()

            # the collector fails, hangs, then recovers
            collector.status = 500
            flaky = BatchExporter(
                collector.endpoint,
                {},
                interval=0.05,
                timeout=0.3,
                on_error=errors.append,
                on_recover=recovered.append,
            )
            set_span_processor(flaky)
            assert await burst(10) < 0.5
            await asyncio.to_thread(flaky.flush, 2.0)
            assert flaky.failed_batches >= 1 and "HTTP 500: " in errors[1] and "collector trouble" in errors[1]
            collector.delay = 1.0
            assert await burst(10) < 0.5  # while the exporter waits on a hung collector
            collector.delay, collector.status = 0.0, 200
            await asyncio.sleep(1.0)
            assert await burst(5) < 0.5
            await asyncio.to_thread(flaky.flush, 2.0)
            assert len(errors) == 2 and len(recovered) == 1 and flaky.exported >= 10
            flaky.shutdown()

    try:
        asyncio.run(scenario())
    finally:
        set_span_processor(None)


# --------------------------------------------------------------------------- a service process


def start_time_service(env: dict[str, str]) -> tuple[subprocess.Popen[str], str, float]:
    ip = loopback()
    base = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "REMEDLAB_"))}
    base.update(env, REMEDLAB_POD_IP=ip, HOSTNAME="time-service-5c7d9-k2x8p", PYTHONUNBUFFERED="1")
    started = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "remedlab.apps.simple_micro.time_service"],
        env=base,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    deadline = started + 5
    while True:
        assert proc.poll() is None, proc.communicate()[0]
        try:
            socket.create_connection((ip, 5001), timeout=0.2).close()
            break
        except OSError:
            assert time.perf_counter() < deadline, "time-service did not listen"
            time.sleep(0.005)
    return proc, f"http://{ip}:5001", time.perf_counter() - started


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def fetch(url: str, headers: dict[str, str] | None = None) -> int:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(urllib.request.Request(url, headers=headers or {}), timeout=5) as resp:
        return int(resp.status)


def test_a_service_exports_its_spans_and_flushes_when_terminated(collector: FakeCollector) -> None:
    env = {"OTEL_EXPORTER_OTLP_ENDPOINT": f"http://{collector.host}:{collector.port}", "POD_NAMESPACE": "lab"}
    proc, url, ready = start_time_service(env)
    try:
        for _ in range(20):
            assert fetch(f"{url}/time") == 200
        assert fetch(f"{url}/healthz") == 200
        rss = rss_bytes(proc.pid)
        print(f"time-service exporting spans: listening after {ready * 1000:.0f} ms, RSS {rss / MB:.1f} MB")
        assert ready < 1.5 and rss < 60 * MB
        assert fetch(f"{url}/time", {"traceparent": f"00-{TRACE_ID}-{SPAN_ID}-01"}) == 200
        # a process and its group signalled together: one signal, still a graceful stop with a flush
        proc.send_signal(signal.SIGTERM)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=5) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
        output = proc.communicate(timeout=5)[0]
    assert "second signal" not in output
    spans = collector.wait_spans(21, timeout=2.0)
    assert len(spans) == 21 and {s["name"] for s in spans} == {"GET /time"}  # no probe spans
    (traced,) = [s for s in spans if s["traceId"] == TRACE_ID]
    assert traced["parentSpanId"] == SPAN_ID and traced["kind"] == 2
    resource = {
        a["key"]: a["value"]["stringValue"]
        for a in collector.requests[0][2]["resourceSpans"][0]["resource"]["attributes"]
    }
    assert resource["service.name"] == "time-service" and resource["k8s.namespace.name"] == "lab"
    assert resource["k8s.pod.name"] == "time-service-5c7d9-k2x8p"


def test_a_disabled_sdk_exports_nothing(collector: FakeCollector) -> None:
    env = {"OTEL_EXPORTER_OTLP_ENDPOINT": collector.base, "OTEL_SDK_DISABLED": "true"}
    proc, url, _ = start_time_service(env)
    try:
        assert fetch(f"{url}/time") == 200
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=5) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate(timeout=5)
    time.sleep(0.2)
    assert collector.requests == []
