"""The `/v1/traces` routes: the traces the apps' services exported to the node's OTLP receiver."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from remedlab.api.errors import BadRequest, NotFound
from remedlab.observe.trace_store import MAX_LIMIT, TraceQuery, TraceStore
from remedlab.server.cluster_routes import backend_of

router = APIRouter(prefix="/v1")

_TRACE_ID = re.compile(r"^[0-9a-fA-F]{32}$")


class _Camel(BaseModel):
    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)


MAX_WINDOW_SECONDS = 30 * 24 * 3600
"""The widest window (and longest span) a trace query may name: 30 days."""


class TraceListQuery(_Camel):
    namespace: str | None = None
    service: str | None = None
    since_seconds: float | None = Field(default=None, gt=0, le=MAX_WINDOW_SECONDS, alias="sinceSeconds")
    errors_only: bool = Field(default=False, alias="errorsOnly")
    min_duration_ms: float | None = Field(default=None, ge=0, le=MAX_WINDOW_SECONDS * 1000, alias="minDurationMs")
    limit: int = Field(default=20, ge=1, le=MAX_LIMIT)


class TraceSummaryModel(_Camel):
    trace_id: str = Field(alias="traceId")
    root_service: str = Field(alias="rootService")
    root_operation: str = Field(alias="rootOperation")
    start: str
    duration_ms: float = Field(alias="durationMs")
    span_count: int = Field(alias="spanCount")
    error: bool
    services: list[str]


class TraceListResponse(_Camel):
    traces: list[TraceSummaryModel]


class SpanModel(_Camel):
    span_id: str = Field(alias="spanId")
    parent_span_id: str = Field(alias="parentSpanId")
    service: str
    namespace: str
    pod: str
    operation: str
    kind: str
    start: str
    duration_ms: float = Field(alias="durationMs")
    status: str
    status_message: str = Field(alias="statusMessage")
    attributes: dict[str, Any]
    depth: int


class TraceResponse(_Camel):
    trace_id: str = Field(alias="traceId")
    spans: list[SpanModel]


def iso_from_ns(ns: int) -> str:
    """Unix nanoseconds as ISO 8601 UTC with microseconds and a ``Z`` suffix."""
    moment = datetime.fromtimestamp(ns // 1_000_000_000, UTC).replace(microsecond=(ns % 1_000_000_000) // 1000)
    return moment.isoformat(timespec="microseconds").replace("+00:00", "Z")


def _store(request: Request) -> TraceStore | None:
    store: TraceStore | None = getattr(request.app.state, "traces", None)
    return store


@router.get("/traces", response_model=TraceListResponse)
def list_traces(request: Request, query: Annotated[TraceListQuery, Query()]) -> TraceListResponse:
    store = _store(request)
    if store is None:
        return TraceListResponse(traces=[])
    found = store.list_traces(
        TraceQuery(
            namespace=query.namespace or None,
            service=query.service or None,
            since_seconds=query.since_seconds,
            errors_only=query.errors_only,
            min_duration_ms=query.min_duration_ms,
            limit=query.limit,
        )
    )
    return TraceListResponse(
        traces=[
            TraceSummaryModel(
                trace_id=t.trace_id,
                root_service=t.root_service,
                root_operation=t.root_operation,
                start=iso_from_ns(t.start_ns),
                duration_ms=round(t.duration_ms, 3),
                span_count=t.span_count,
                error=t.error,
                services=t.services,
            )
            for t in found
        ]
    )


@router.get("/traces/{trace_id}", response_model=TraceResponse)
def get_trace(request: Request, trace_id: str) -> TraceResponse:
    if not _TRACE_ID.match(trace_id):
        raise BadRequest(f"invalid trace id {trace_id[:64]!r}: expected 32 hex digits")
    store = _store(request)
    spans = store.get_trace(trace_id) if store is not None else []
    if not spans:
        raise NotFound(f'trace "{trace_id.lower()}" not found')
    return TraceResponse(
        trace_id=trace_id.lower(),
        spans=[
            SpanModel(
                span_id=t.span.span_id,
                parent_span_id=t.span.parent_span_id,
                service=t.span.service,
                namespace=t.span.namespace,
                pod=t.span.pod,
                operation=t.span.operation,
                kind=t.span.kind,
                start=iso_from_ns(t.span.start_ns),
                duration_ms=round(t.span.duration_ms, 3),
                status=t.span.status_code,
                status_message=t.span.status_message,
                attributes=t.span.attributes,
                depth=t.depth,
            )
            for t in spans
        ],
    )


@router.get("/topology")
def topology(
    request: Request,
    namespace: str | None = None,
    since_seconds: Annotated[float, Query(gt=0, le=MAX_WINDOW_SECONDS, alias="sinceSeconds")] = 300.0,
) -> dict[str, Any]:
    """The services of a namespace (its Services and what selects their pods) and who called whom
    in the window, from the traces: service-to-service calls and calls to stores."""
    backend = backend_of(request)
    services = [
        {
            "name": svc["metadata"]["name"],
            "namespace": svc["metadata"]["namespace"],
            "clusterIP": svc["spec"].get("clusterIP"),
            "ports": [p.get("port") for p in svc["spec"].get("ports") or []],
            "selector": svc["spec"].get("selector") or {},
        }
        for svc in backend.list_objects("services", namespace or None)
    ]
    store = _store(request)
    edges = store.call_graph(namespace or None, since_seconds) if store is not None else []
    return {
        "services": services,
        "calls": [
            {
                "from": e.caller,
                "to": e.callee,
                "protocol": e.protocol,
                "calls": e.calls,
                "errors": e.errors,
                "meanMs": e.mean_ms,
                "p95Ms": e.p95_ms,
            }
            for e in edges
        ],
    }
