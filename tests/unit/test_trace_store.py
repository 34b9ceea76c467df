"""The trace store, the OTLP JSON reader, the node's OTLP receiver and the `/v1/traces` routes."""

from __future__ import annotations

import asyncio
import gzip
import json
import random
import sqlite3
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import aiohttp
import httpx
import pytest
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from remedlab.api.client import Backend
from remedlab.api.errors import ClusterError
from remedlab.apps.kit.otlp_export import export_request
from remedlab.apps.kit.tracing import Span, SpanKind, TraceContext
from remedlab.cluster.dataplane.ipam import AddressPool, node_address
from remedlab.observe.otlp_json import OtlpFormatError, parse_export
from remedlab.observe.otlp_receiver import OtlpReceiver
from remedlab.observe.trace_store import SpanRecord, TraceQuery, TraceStore
from remedlab.server import trace_routes
from remedlab.server.app import create_app

NOW = 1_700_000_000 * 10**9
MS = 1_000_000
T1, T2, T3 = "a" * 32, "b" * 32, "c" * 32


def loopback() -> str:
    return f"127.{random.randint(16, 254)}.{random.randint(0, 255)}.{random.randint(2, 253)}"


def record(
    trace_id: str,
    span_id: str,
    parent: str = "",
    *,
    service: str = "hello-service",
    namespace: str = "simple-micro",
    operation: str = "GET /hello",
    kind: str = "SERVER",
    start_ms: float = 0.0,
    duration_ms: float = 1.0,
    status: str = "UNSET",
    message: str = "",
    attributes: dict[str, Any] | None = None,
) -> SpanRecord:
    start = NOW + int(start_ms * MS)
    return SpanRecord(
        trace_id=trace_id,
        span_id=span_id * 16 if len(span_id) == 1 else span_id,
        parent_span_id=(parent * 16 if len(parent) == 1 else parent),
        service=service,
        namespace=namespace,
        pod=f"{service}-abc12-xyz",
        operation=operation,
        kind=cast(Any, kind),
        start_ns=start,
        end_ns=start + int(duration_ms * MS),
        status_code=cast(Any, status),
        status_message=message,
        attributes=attributes or {},
    )


def simple_micro_trace(
    trace_id: str, start_ms: float, *, error: bool = False, ns: str = "simple-micro"
) -> list[SpanRecord]:
    """hello SERVER -> hello CLIENT -> time SERVER, as simple-micro produces it."""
    status = "ERROR" if error else "UNSET"
    return [
        record(trace_id, "1", "", namespace=ns, start_ms=start_ms, duration_ms=5, status=status, message="HTTP 503"),
        record(
            trace_id, "2", "1", namespace=ns, operation="GET time-service /time", kind="CLIENT",
            start_ms=start_ms + 0.5, duration_ms=4, status=status,
        ),
        record(
            trace_id, "3", "2", namespace=ns, service="time-service", operation="GET /time",
            start_ms=start_ms + 1, duration_ms=2, attributes={"http.response.status_code": 200},
        ),
    ]  # fmt: skip


@pytest.fixture
def store(tmp_path: Path) -> TraceStore:
    return TraceStore(tmp_path / "traces.db")


# --------------------------------------------------------------------------- the store


def test_store_is_sqlite_wal_and_survives_reopening(tmp_path: Path) -> None:
    path = tmp_path / "traces.db"
    first = TraceStore(path)
    assert first.insert(simple_micro_trace(T1, 0)) == 3
    assert first.insert(simple_micro_trace(T1, 0)) == 0  # a span sent twice is kept once
    first.close()
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        columns = {row[1] for row in db.execute("PRAGMA table_info(spans)")}
    assert {
        "trace_id", "span_id", "parent_span_id", "service", "namespace", "pod", "operation", "kind",
        "start_ns", "end_ns", "duration_ms", "status_code", "status_message", "attributes",
    } <= columns  # fmt: skip
    again = TraceStore(path)
    assert again.count() == 3
    (span,) = [t.span for t in again.get_trace(T1) if t.span.service == "time-service"]
    assert span.attributes == {"http.response.status_code": 200} and span.duration_ms == 2.0
    again.close()


def test_queries_filter_order_and_summarise(store: TraceStore) -> None:
    store.insert(simple_micro_trace(T1, 0))
    store.insert(simple_micro_trace(T2, 10_000, error=True))
    store.insert(simple_micro_trace(T3, 20_000, ns="other"))
    now = NOW + 30_000 * MS

    def ids(**query: Any) -> list[str]:
        return [t.trace_id for t in store.list_traces(TraceQuery(**query), now_ns=now)]

    assert ids() == [T3, T2, T1]  # newest first
    assert ids(namespace="simple-micro") == [T2, T1]
    assert ids(namespace="nowhere") == []
    assert ids(service="time-service", namespace="other") == [T3]
    assert ids(errors_only=True) == [T2]
    assert ids(since_seconds=25) == [T3, T2]
    assert ids(since_seconds=15) == [T3]
    assert ids(min_duration_ms=5) == [T3, T2, T1]
    assert ids(min_duration_ms=5.5) == []
    assert ids(limit=2) == [T3, T2]
    assert ids(limit=0) == [T3]  # at least one

    (summary,) = store.list_traces(TraceQuery(errors_only=True), now_ns=now)
    assert summary.root_service == "hello-service" and summary.root_operation == "GET /hello"
    assert summary.span_count == 3 and summary.error is True and summary.duration_ms == 5.0
    assert summary.services == ["hello-service", "time-service"] and summary.start_ns == NOW + 10_000 * MS

    # a trace whose caller's span is elsewhere: the earliest span without a stored parent is the root
    store.insert([record("d" * 32, "5", "9", service="edge", operation="GET /x", start_ms=40_000)])
    (edge,) = store.list_traces(TraceQuery(service="edge"))
    assert (edge.root_service, edge.span_count) == ("edge", 1)


def test_the_call_graph_counts_each_edge_with_its_mean_and_p95(store: TraceStore) -> None:
    # 20 calls from hello to time, one of them failed; and 20 store calls, one in twenty slow
    for i in range(20):
        trace = f"{i + 1:032x}"
        store.insert(simple_micro_trace(trace, i * 10, error=i == 0))
        store.insert([
            record(
                trace, "4", "3", service="time-service", operation="SELECT", kind="CLIENT", start_ms=i * 10 + 1.5,
                duration_ms=5000 if i == 7 else 10,
                attributes={"db.system": "postgresql", "peer.service": "postgres-time"},
            ),
        ])  # fmt: skip
    edges = {(e.caller, e.callee, e.protocol): e for e in store.call_graph("simple-micro", 60, now_ns=NOW + 1000 * MS)}
    http = edges["hello-service", "time-service", "http"]
    assert (http.calls, http.errors, http.mean_ms, http.p95_ms) == (20, 0, 2.0, 2.0)
    database = edges["time-service", "postgres-time", "postgresql"]
    # the nearest rank: the 19th of 20 calls by duration is still a fast one; the mean holds the slow one
    assert (database.calls, database.mean_ms, database.p95_ms) == (20, 259.5, 10.0)
    store.insert([
        record(
            f"{99:032x}", "4", "", service="time-service", operation="SELECT", kind="CLIENT", start_ms=300,
            duration_ms=4000, attributes={"db.system": "postgresql", "peer.service": "postgres-time"},
        ),
    ])  # fmt: skip
    database = next(e for e in store.call_graph(None, 60, now_ns=NOW + 1000 * MS) if e.protocol == "postgresql")
    assert (database.calls, database.p95_ms) == (21, 4000.0)
    assert store.call_graph("other", 60, now_ns=NOW + 1000 * MS) == []
    assert store.call_graph(None, 0.01, now_ns=NOW + 1000 * MS) == []


def test_a_trace_comes_back_as_a_tree(store: TraceStore) -> None:
    t = "e" * 32
    store.insert(
        [
            record(t, "4", "2", operation="late child", start_ms=3),
            record(t, "3", "1", operation="second", start_ms=2),
            record(t, "2", "1", operation="first", start_ms=1),
            record(t, "1", "", operation="root", start_ms=0),
            record(t, "5", "f", operation="orphan", start_ms=0.5),  # parent never arrived
            record(t, "6", "7", operation="cycle a", start_ms=4),
            record(t, "7", "6", operation="cycle b", start_ms=5),
        ]
    )
    tree = [(s.span.operation, s.depth) for s in store.get_trace(t.upper())]
    assert tree == [
        ("root", 0),
        ("first", 1),
        ("late child", 2),
        ("second", 1),
        ("orphan", 0),
        ("cycle a", 0),
        ("cycle b", 1),
    ]
    assert store.get_trace("0" * 32) == []


def test_retention_keeps_the_newest_spans_and_the_last_hour(tmp_path: Path) -> None:
    store = TraceStore(tmp_path / "traces.db", max_spans=5, max_age_seconds=3600, prune_interval=3600)
    received = time.time_ns()
    for i in range(8):
        store.insert([record(f"{i + 1:032x}", "1", start_ms=i)], received_ns=received)
    assert store.count() == 8  # not yet due
    assert store.prune() == 3
    assert sorted(t.trace_id for t in store.list_traces(TraceQuery(limit=100))) == [f"{i:032x}" for i in range(4, 9)]

    store.insert([record("f" * 32, "1")], received_ns=received - 2 * 3600 * 10**9)
    store.insert([record("9" * 32, "1")], received_ns=received)
    assert store.prune() == 2  # the one received too long ago, and the oldest beyond five
    kept = sorted(t.trace_id for t in store.list_traces(TraceQuery(limit=100)))
    assert kept == [f"{i:032x}" for i in range(5, 9)] + ["9" * 32]

    # pruning also happens by itself once due
    eager = TraceStore(tmp_path / "eager.db", max_spans=10, prune_interval=0)
    for i in range(4):
        eager.insert([record(f"{i + 1:032x}", str(j + 1), start_ms=j) for j in range(5)])
    assert eager.count() == 10


def test_node_address_is_per_cluster_and_reserved() -> None:
    assert node_address("127.101.0.0/16") == "127.101.255.254"
    pool = AddressPool("127.101.0.0/16")
    pool.reserve([node_address("127.101.0.0/16")])
    assert "127.101.255.254" in pool._used
    assert pool.allocate() == "127.101.0.1"


# --------------------------------------------------------------------------- OTLP JSON


def kit_span(name: str, kind: SpanKind, parent: str = "") -> Span:
    span = Span(
        name, TraceContext("0af7651916cd43dd8448eb211c80319c", f"{random.getrandbits(63) | 1:016x}"), parent, kind
    )
    span.set_attributes({"http.request.method": "GET", "http.response.status_code": 503, "ratio": 0.5, "ok": False})
    span.set_attribute("tags", ["a", "b"])
    span.record_exception(RuntimeError("boom"))
    span.end()
    return span


def test_the_kits_exports_read_back_exactly() -> None:
    server = kit_span("GET /hello", SpanKind.SERVER)
    client = kit_span("GET time-service /time", SpanKind.CLIENT, server.context.span_id)
    resource = {"service.name": "hello-service", "k8s.namespace.name": "simple-micro", "k8s.pod.name": "hello-1"}
    parsed = parse_export(json.dumps(export_request(resource, [server, client])))
    assert parsed.rejected == 0
    first, second = parsed.spans
    assert (first.service, first.namespace, first.pod) == ("hello-service", "simple-micro", "hello-1")
    assert (first.operation, first.kind, first.parent_span_id) == ("GET /hello", "SERVER", "")
    assert (second.kind, second.parent_span_id) == ("CLIENT", server.context.span_id)
    assert first.status_code == "ERROR" and first.status_message == "RuntimeError: boom"
    assert first.start_ns == server.start_ns and first.end_ns == server.end_ns
    assert first.attributes == {
        "http.request.method": "GET",
        "http.response.status_code": 503,
        "ratio": 0.5,
        "ok": False,
        "tags": ["a", "b"],
        "exception.type": "RuntimeError",
        "exception.message": "boom",
    }


def test_otlp_json_variants_are_accepted() -> None:
    body = {
        "resourceSpans": [
            {
                "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "svc"}}]},
                "scopeSpans": [
                    {
                        "scope": {"name": "x"},
                        "spans": [
                            {
                                "traceId": "5B8EFFF798038103D269B633813FC60C",
                                "spanId": "EEE19B7EC3C1B174",
                                "parentSpanId": "",
                                "name": "op",
                                "kind": "SPAN_KIND_CLIENT",
                                "startTimeUnixNano": 1544712660000000000,
                                "endTimeUnixNano": "1544712661000000000",
                                "status": {"code": "STATUS_CODE_OK"},
                                "unknownField": True,
                                "attributes": [
                                    {"key": "n", "value": {"intValue": 7}},
                                    {"key": "inf", "value": {"doubleValue": "Infinity"}},
                                    {"key": "kv", "value": {"kvlistValue": {"values": [{"key": "k", "value": {}}]}}},
                                    {"key": "b", "value": {"bytesValue": "AQI="}},
                                ],
                            }
                        ],
                    },
                    {"scope": {"name": "empty"}},
                ],
            },
            {"resource": {}},
        ]
    }
    (span,) = parse_export(json.dumps(body).encode()).spans
    assert span.trace_id == "5b8efff798038103d269b633813fc60c" and span.span_id == "eee19b7ec3c1b174"
    assert (span.kind, span.status_code, span.duration_ms) == ("CLIENT", "OK", 1000.0)
    assert span.attributes == {"n": 7, "inf": "Infinity", "kv": {"k": None}, "b": "AQI="}
    assert (span.namespace, span.pod) == ("", "")
    assert parse_export(b"{}").spans == []


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"not json", "request body is not JSON: Expecting value: line 1 column 1 (char 0)"),
        (b"[1]", "request body must be a JSON object, not a list"),
        (b'{"resourceSpans": {}}', "resourceSpans must be a list, not an object"),
        (b'{"resourceSpans": [1]}', "resourceSpans[0] must be an object, not a number"),
        (b'{"resourceSpans": [{"scopeSpans": "x"}]}', "resourceSpans[0].scopeSpans must be a list, not a string"),
        (
            b'{"resourceSpans": [{"resource": {"attributes": [{"value": {}}]}}]}',
            'resourceSpans[0].resource.attributes[0]: expected {"key": string, "value": AnyValue}',
        ),
        (
            b'{"resourceSpans": [{"scopeSpans": [{"spans": null}, {"spans": 3}]}]}',
            "resourceSpans[0].scopeSpans[1].spans must be a list, not a number",
        ),
        ((b"[" * 100_000) + (b"]" * 100_000), "request body is not JSON"),
    ],
)
def test_malformed_requests_fail_with_one_line(body: bytes, message: str) -> None:
    with pytest.raises(OtlpFormatError) as info:
        parse_export(body)
    assert str(info.value).startswith(message) and "\n" not in str(info.value)


def test_bad_spans_are_rejected_alone() -> None:
    good = {"traceId": "1" * 32, "spanId": "2" * 16, "name": "ok", "startTimeUnixNano": "1", "endTimeUnixNano": "2"}
    bad: list[tuple[object, str]] = [
        ({**good, "traceId": "xyz"}, "spans[1].traceId: expected 32 hex digits, got 'xyz'"),
        ({**good, "spanId": "0" * 16}, "spans[1].spanId: an all-zero id is invalid"),
        ({**good, "parentSpanId": 5}, "spans[1].parentSpanId: expected 16 hex digits, got a number"),
        ({**good, "kind": 9}, "spans[1].kind: unknown value '9'"),
        ({**good, "startTimeUnixNano": "-1"}, "spans[1].startTimeUnixNano: expected an unsigned integer"),
        ({**good, "endTimeUnixNano": "0"}, "spans[1]: endTimeUnixNano is before startTimeUnixNano"),
        ({**good, "status": {"code": "STATUS_CODE_MAYBE"}}, "spans[1].status.code: unknown value"),
        ({**good, "attributes": [{"key": "k", "value": {"boolValue": "yes"}}]}, "boolValue: expected a boolean"),
        ({**good, "attributes": [{"key": "k", "value": "plain"}]}, "value: expected an AnyValue object"),
        ("span", "spans[1]: expected a span object, got a string"),
    ]
    for span, message in bad:
        body = {"resourceSpans": [{"scopeSpans": [{"spans": [good, span]}]}]}
        parsed = parse_export(json.dumps(body))
        assert len(parsed.spans) == 1 and parsed.rejected == 1, span
        assert parsed.first_error is not None and message in parsed.first_error, parsed.first_error
        assert parsed.first_error.startswith("resourceSpans[0].scopeSpans[0].spans[1]")


# --------------------------------------------------------------------------- the receiver


def test_receiver_stores_json_and_explains_what_it_refuses(store: TraceStore) -> None:
    host = loopback()

    async def scenario() -> None:
        receiver = OtlpReceiver(store, host, 0)
        await receiver.start()
        try:
            assert receiver.running and receiver.port > 0
            url = f"{receiver.url}/v1/traces"
            payload = export_request({"service.name": "svc"}, [kit_span("GET /a", SpanKind.SERVER)])
            async with aiohttp.ClientSession() as http:
                async with http.post(url, json=payload) as resp:
                    assert resp.status == 200 and await resp.json() == {}
                packed = gzip.compress(json.dumps(payload).encode())
                headers = {"Content-Type": "application/json", "Content-Encoding": "gzip"}
                async with http.post(url, data=packed, headers=headers) as resp:
                    assert resp.status == 200  # the same spans again: stored once
                async with http.post(url, data=b"{oops", headers={"Content-Type": "application/json"}) as resp:
                    assert resp.status == 400
                    body = await resp.json()
                    assert body["code"] == 3 and body["message"].startswith("invalid OTLP JSON: request body is not")
                    assert "\n" not in body["message"]
                async with http.post(url, data=b"\x0a\x00", headers={"Content-Type": "application/x-protobuf"}) as resp:
                    assert resp.status == 415 and "http/json" in (await resp.json())["message"]
                async with http.post(url, data=b"x", headers={"Content-Type": "text/plain"}) as resp:
                    assert resp.status == 415
                partial = {"resourceSpans": [{"scopeSpans": [{"spans": [{"traceId": "nope"}]}]}]}
                async with http.post(url, json=partial) as resp:
                    answer = await resp.json()
                    assert resp.status == 200 and answer["partialSuccess"]["rejectedSpans"] == "1"
                    assert "traceId" in answer["partialSuccess"]["errorMessage"]
                async with http.get(url) as resp:
                    assert resp.status == 405
            taken = OtlpReceiver(store, host, receiver.port)
            with pytest.raises(OSError):
                await taken.start()
            assert taken.error is not None and taken.error.startswith(f"cannot listen on {host}:{receiver.port}")
        finally:
            await receiver.stop()
        assert not receiver.running
        assert (receiver.stats.spans, receiver.stats.rejected_spans, receiver.stats.bad_requests) == (2, 1, 3)

    asyncio.run(scenario())
    assert store.count() == 1


# --------------------------------------------------------------------------- the routes


class RoutesClient:
    """Requests straight into an ASGI app (no server, no lifespan)."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app

    def get(self, path: str, params: dict[str, Any] | None = None) -> httpx.Response:
        async def send() -> httpx.Response:
            transport = httpx.ASGITransport(app=self.app, raise_app_exceptions=False)
            async with httpx.AsyncClient(transport=transport, base_url="http://remedlab.test") as client:
                return await client.get(path, params=params)

        return asyncio.run(send())


def routes_client(store: TraceStore | None) -> RoutesClient:
    app = FastAPI()

    @app.exception_handler(ClusterError)
    async def cluster_error(_request: Request, exc: ClusterError) -> JSONResponse:
        return JSONResponse(exc.status(), status_code=exc.code)

    app.include_router(trace_routes.router)
    app.state.traces = store
    return RoutesClient(app)


def test_trace_routes_answer_the_documented_shapes(store: TraceStore) -> None:
    store.insert(simple_micro_trace(T1, 0))
    store.insert(simple_micro_trace(T2, 10, error=True))
    client = routes_client(store)
    listed = client.get("/v1/traces", params={"namespace": "simple-micro", "errorsOnly": "true"}).json()
    assert listed == {
        "traces": [
            {
                "traceId": T2,
                "rootService": "hello-service",
                "rootOperation": "GET /hello",
                "start": "2023-11-14T22:13:20.010000Z",
                "durationMs": 5.0,
                "spanCount": 3,
                "error": True,
                "services": ["hello-service", "time-service"],
            }
        ]
    }
    assert client.get("/v1/traces", params={"service": "time-service", "limit": 1}).json()["traces"][0]["traceId"] == T2
    assert client.get("/v1/traces", params={"sinceSeconds": 60}).json() == {"traces": []}  # all are old
    assert client.get("/v1/traces", params={"minDurationMs": 6}).json() == {"traces": []}
    assert client.get("/v1/traces", params={"limit": 0}).status_code == 422

    trace = client.get(f"/v1/traces/{T1}").json()
    assert trace["traceId"] == T1
    assert [(s["operation"], s["depth"]) for s in trace["spans"]] == [
        ("GET /hello", 0),
        ("GET time-service /time", 1),
        ("GET /time", 2),
    ]
    first = trace["spans"][0]
    assert set(first) >= {
        "spanId", "parentSpanId", "service", "operation", "kind", "start", "durationMs", "status",
        "statusMessage", "attributes", "depth",
    }  # fmt: skip
    assert (first["kind"], first["status"], first["parentSpanId"]) == ("SERVER", "UNSET", "")
    assert trace["spans"][2]["attributes"] == {"http.response.status_code": 200}

    missing = client.get(f"/v1/traces/{'9' * 32}")
    assert missing.status_code == 404 and missing.json()["reason"] == "NotFound"
    assert missing.json()["message"] == f'trace "{"9" * 32}" not found'
    assert client.get("/v1/traces/not-an-id").json()["reason"] == "BadRequest"
    assert routes_client(None).get("/v1/traces").json() == {"traces": []}


def test_server_routes_traces_before_the_catch_all(store: TraceStore) -> None:
    # the stub backend has no objects: had `/v1/{resource}` caught these, they would fail
    backend = SimpleNamespace(fault_runtime=lambda: None)
    app = create_app(cast(Backend, backend), store)
    store.insert(simple_micro_trace(T1, 0))
    client = RoutesClient(app)  # no lifespan: the backend is never started
    assert client.get("/v1/traces").json()["traces"][0]["traceId"] == T1
    assert len(client.get(f"/v1/traces/{T1}").json()["spans"]) == 3
    bad = client.get("/v1/traces", params={"limit": "many"})
    assert bad.status_code == 400 and bad.json()["reason"] == "BadRequest"
