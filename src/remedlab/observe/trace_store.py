"""The spans the services send, kept in SQLite (WAL) at ``$REMEDLAB_HOME/traces.db``.

One row per span, with the columns a question about a trace needs (service,
namespace, pod, operation, kind, times, status) and the rest of the span's
attributes as JSON. Retention is bounded: spans received more than
``max_age_seconds`` ago go, and beyond ``max_spans`` the oldest go; the store
prunes itself every ``prune_interval`` seconds while it is used.

One connection serves every thread (the receiver's inserts, the API's
queries), under a lock.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from remedlab.paths import private_database

SpanKindName = Literal["UNSPECIFIED", "INTERNAL", "SERVER", "CLIENT", "PRODUCER", "CONSUMER"]
StatusName = Literal["UNSET", "OK", "ERROR"]

DEFAULT_MAX_SPANS = 200_000
DEFAULT_MAX_AGE_SECONDS = 3600.0
DEFAULT_PRUNE_INTERVAL = 30.0
MAX_LIMIT = 1000

_SCHEMA = """
CREATE TABLE IF NOT EXISTS spans (
    id INTEGER PRIMARY KEY,
    trace_id TEXT NOT NULL,
    span_id TEXT NOT NULL,
    parent_span_id TEXT NOT NULL DEFAULT '',
    service TEXT NOT NULL DEFAULT '',
    namespace TEXT NOT NULL DEFAULT '',
    pod TEXT NOT NULL DEFAULT '',
    operation TEXT NOT NULL DEFAULT '',
    kind TEXT NOT NULL DEFAULT 'UNSPECIFIED',
    start_ns INTEGER NOT NULL,
    end_ns INTEGER NOT NULL,
    duration_ms REAL NOT NULL,
    status_code TEXT NOT NULL DEFAULT 'UNSET',
    status_message TEXT NOT NULL DEFAULT '',
    attributes TEXT NOT NULL DEFAULT '{}',
    received_ns INTEGER NOT NULL,
    UNIQUE (trace_id, span_id)
);
CREATE INDEX IF NOT EXISTS spans_start ON spans (start_ns);
CREATE INDEX IF NOT EXISTS spans_namespace_start ON spans (namespace, start_ns);
CREATE INDEX IF NOT EXISTS spans_service_start ON spans (service, start_ns);
CREATE INDEX IF NOT EXISTS spans_received ON spans (received_ns);
"""


@dataclass(frozen=True, slots=True)
class SpanRecord:
    """One span as stored: ids in lower-case hex, times in Unix nanoseconds."""

    trace_id: str
    span_id: str
    parent_span_id: str
    service: str
    namespace: str
    pod: str
    operation: str
    kind: SpanKindName
    start_ns: int
    end_ns: int
    status_code: StatusName = "UNSET"
    status_message: str = ""
    attributes: dict[str, Any] = field(default_factory=dict)

    @property
    def duration_ms(self) -> float:
        return max(0, self.end_ns - self.start_ns) / 1e6


@dataclass(frozen=True, slots=True)
class TraceQuery:
    """Which traces to list: those with a span matching every given filter, newest first."""

    namespace: str | None = None
    service: str | None = None
    since_seconds: float | None = None
    errors_only: bool = False
    min_duration_ms: float | None = None
    limit: int = 20


@dataclass(frozen=True, slots=True)
class TraceSummary:
    trace_id: str
    root_service: str
    root_operation: str
    start_ns: int
    duration_ms: float
    span_count: int
    error: bool
    services: list[str]


@dataclass(frozen=True, slots=True, order=True)
class CallEdge:
    """Calls from one service to another service (``protocol`` http) or to a store (its ``db.system``)."""

    caller: str
    callee: str
    protocol: str
    calls: int
    errors: int
    mean_ms: float
    p95_ms: float


@dataclass(frozen=True, slots=True)
class TreeSpan:
    """A span of one trace, placed in its tree: ``depth`` 0 for a root."""

    span: SpanRecord
    depth: int


class TraceStore:
    def __init__(
        self,
        path: Path,
        *,
        max_spans: int = DEFAULT_MAX_SPANS,
        max_age_seconds: float = DEFAULT_MAX_AGE_SECONDS,
        prune_interval: float = DEFAULT_PRUNE_INTERVAL,
    ) -> None:
        self.path = path
        self.max_spans = max_spans
        self.max_age_seconds = max_age_seconds
        self.prune_interval = prune_interval
        self._lock = threading.Lock()
        private_database(path)  # agents read traces through the API, not the file
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)
        self._last_prune = 0.0
        self._inserted_since_prune = 0
        self.prune()

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # ------------------------------------------------------------------ writing

    def insert(self, spans: Iterable[SpanRecord], received_ns: int | None = None) -> int:
        """Store ``spans`` (a span already stored is kept as it was); how many were new."""
        received = received_ns if received_ns is not None else time.time_ns()
        rows = [
            (
                s.trace_id,
                s.span_id,
                s.parent_span_id,
                s.service,
                s.namespace,
                s.pod,
                s.operation,
                s.kind,
                s.start_ns,
                s.end_ns,
                s.duration_ms,
                s.status_code,
                s.status_message,
                json.dumps(s.attributes, separators=(",", ":"), default=str),
                received,
            )
            for s in spans
        ]
        if not rows:
            return 0
        with self._lock:
            before = self._db.total_changes
            self._db.execute("BEGIN")
            try:
                self._db.executemany(
                    "INSERT OR IGNORE INTO spans (trace_id, span_id, parent_span_id, service, namespace, pod,"
                    " operation, kind, start_ns, end_ns, duration_ms, status_code, status_message, attributes,"
                    " received_ns) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    rows,
                )
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            added = self._db.total_changes - before
            self._inserted_since_prune += added
        self._maybe_prune()
        return added

    def _maybe_prune(self) -> None:
        due = time.monotonic() - self._last_prune >= self.prune_interval
        if due or self._inserted_since_prune > max(1000, self.max_spans // 10):
            self.prune()

    def prune(self, now_ns: int | None = None) -> int:
        """Drop spans received before the retention window and the oldest beyond ``max_spans``."""
        now = now_ns if now_ns is not None else time.time_ns()
        cutoff = now - int(self.max_age_seconds * 1e9)
        with self._lock:
            before = self._db.total_changes
            self._db.execute("DELETE FROM spans WHERE received_ns < ?", (cutoff,))
            self._db.execute(
                "DELETE FROM spans WHERE id <= (SELECT id FROM spans ORDER BY id DESC LIMIT 1 OFFSET ?)",
                (self.max_spans,),
            )
            self._last_prune = time.monotonic()
            self._inserted_since_prune = 0
            return self._db.total_changes - before

    # ------------------------------------------------------------------ reading

    def count(self) -> int:
        with self._lock:
            row = self._db.execute("SELECT COUNT(*) FROM spans").fetchone()
        return int(row[0])

    def list_traces(self, query: TraceQuery, now_ns: int | None = None) -> list[TraceSummary]:
        """The newest traces (by their first span's start) with a span matching the query."""
        self._maybe_prune()
        where: list[str] = []
        params: list[Any] = []
        if query.namespace:
            where.append("namespace = ?")
            params.append(query.namespace)
        if query.service:
            where.append("service = ?")
            params.append(query.service)
        if query.since_seconds is not None:
            now = now_ns if now_ns is not None else time.time_ns()
            where.append("start_ns >= ?")
            params.append(now - int(query.since_seconds * 1e9))
        having: list[str] = []
        if query.errors_only:
            having.append("MAX(status_code = 'ERROR') = 1")
        if query.min_duration_ms is not None:
            having.append("(MAX(end_ns) - MIN(start_ns)) >= ?")
            params.append(int(query.min_duration_ms * 1e6))
        limit = max(1, min(MAX_LIMIT, query.limit))
        sql = (
            "SELECT trace_id, MIN(start_ns), MAX(end_ns), COUNT(*), MAX(status_code = 'ERROR') FROM spans"
            " WHERE trace_id IN (SELECT trace_id FROM spans"
            + (" WHERE " + " AND ".join(where) if where else "")
            + ") GROUP BY trace_id"
            + (" HAVING " + " AND ".join(having) if having else "")
            + " ORDER BY MIN(start_ns) DESC LIMIT ?"
        )
        params.append(limit)
        with self._lock:
            traces = self._db.execute(sql, params).fetchall()
            if not traces:
                return []
            marks = ",".join("?" * len(traces))
            members = self._db.execute(
                "SELECT trace_id, span_id, parent_span_id, service, operation, start_ns FROM spans"
                f" WHERE trace_id IN ({marks}) ORDER BY start_ns",
                [t[0] for t in traces],
            ).fetchall()
        by_trace: dict[str, list[tuple[str, str, str, str, int]]] = {}
        for trace_id, span_id, parent, service, operation, start in members:
            by_trace.setdefault(trace_id, []).append((span_id, parent, service, operation, start))
        out = []
        for trace_id, start, end, count, error in traces:
            spans = by_trace.get(trace_id, [])
            ids = {s[0] for s in spans}
            roots = [s for s in spans if not s[1] or s[1] not in ids] or spans
            root = roots[0]  # spans come ordered by start: the earliest root
            services = sorted({s[2] for s in spans if s[2]})
            out.append(
                TraceSummary(
                    trace_id=trace_id,
                    root_service=root[2],
                    root_operation=root[3],
                    start_ns=int(start),
                    duration_ms=max(0, int(end) - int(start)) / 1e6,
                    span_count=int(count),
                    error=bool(error),
                    services=services,
                )
            )
        return out

    def call_graph(self, namespace: str | None, since_seconds: float, now_ns: int | None = None) -> list[CallEdge]:
        """Who called whom in the window: service-to-service calls (a SERVER span under another service's
        CLIENT span) and calls to stores (CLIENT spans naming a ``db.system``), with counts, errors, and
        the mean and nearest-rank 95th percentile of their durations."""
        now = now_ns if now_ns is not None else time.time_ns()
        since = now - int(since_seconds * 1e9)
        scope = " AND c.namespace = ?" if namespace else ""
        params: list[Any] = [since, *([namespace] if namespace else [])]
        services_sql = (
            "SELECT c.service AS a, s.service AS b, 'http' AS k, s.status_code = 'ERROR' AS e, s.duration_ms AS ms"
            " FROM spans s JOIN spans c ON s.trace_id = c.trace_id AND s.parent_span_id = c.span_id"
            " WHERE s.kind = 'SERVER' AND c.kind = 'CLIENT' AND c.service != s.service AND c.start_ns >= ?" + scope
        )
        stores_sql = (
            "SELECT c.service, json_extract(c.attributes, '$.\"peer.service\"'),"
            " json_extract(c.attributes, '$.\"db.system\"'), c.status_code = 'ERROR', c.duration_ms FROM spans c"
            " WHERE c.kind = 'CLIENT' AND json_extract(c.attributes, '$.\"db.system\"') IS NOT NULL"
            " AND c.start_ns >= ?" + scope
        )
        # a call's rank by duration within its edge: the p95 is the shortest whose rank is 95 % of the calls
        ranked = (
            "SELECT a, b, k, e, ms, ROW_NUMBER() OVER (PARTITION BY a, b, k ORDER BY ms) AS r,"
            " COUNT(*) OVER (PARTITION BY a, b, k) AS n FROM (" + services_sql + " UNION ALL " + stores_sql + ")"
        )
        sql = (
            "SELECT a, b, k, COUNT(*), SUM(e), AVG(ms), MIN(CASE WHEN r * 100 >= n * 95 THEN ms END)"
            " FROM (" + ranked + ") GROUP BY a, b, k"
        )
        with self._lock:
            rows = self._db.execute(sql, params + params).fetchall()
        return sorted(
            CallEdge(
                str(a), str(b), str(kind), int(n), int(e or 0), round(float(ms or 0.0), 3), round(float(p95 or 0.0), 3)
            )
            for a, b, kind, n, e, ms, p95 in rows
            if a and b
        )

    def get_trace(self, trace_id: str) -> list[TreeSpan]:
        """Every span of a trace in tree order (each parent before its children, siblings by start)."""
        with self._lock:
            rows = self._db.execute(
                "SELECT trace_id, span_id, parent_span_id, service, namespace, pod, operation, kind, start_ns,"
                " end_ns, status_code, status_message, attributes FROM spans WHERE trace_id = ?"
                " ORDER BY start_ns, id",
                (trace_id.lower(),),
            ).fetchall()
        spans = [_record(row) for row in rows]
        return list(_tree_order(spans))


def _record(row: tuple[Any, ...]) -> SpanRecord:
    try:
        attributes = json.loads(row[12])
    except ValueError:
        attributes = {}
    return SpanRecord(
        trace_id=row[0],
        span_id=row[1],
        parent_span_id=row[2],
        service=row[3],
        namespace=row[4],
        pod=row[5],
        operation=row[6],
        kind=row[7],
        start_ns=int(row[8]),
        end_ns=int(row[9]),
        status_code=row[10],
        status_message=row[11],
        attributes=attributes if isinstance(attributes, dict) else {},
    )


def _tree_order(spans: list[SpanRecord]) -> Iterator[TreeSpan]:
    """Depth-first from the roots (spans whose parent is absent), children by start time.

    Spans caught in a parent cycle (no root above them) follow as roots of their own.
    """
    ids = {s.span_id for s in spans}
    children: dict[str, list[SpanRecord]] = {}
    roots: list[SpanRecord] = []
    for s in spans:  # already ordered by start
        if s.parent_span_id and s.parent_span_id in ids and s.parent_span_id != s.span_id:
            children.setdefault(s.parent_span_id, []).append(s)
        else:
            roots.append(s)
    seen: set[str] = set()

    def walk(node: SpanRecord, depth: int) -> Iterator[TreeSpan]:
        stack = [(node, depth)]
        while stack:
            current, level = stack.pop()
            if current.span_id in seen:
                continue
            seen.add(current.span_id)
            yield TreeSpan(current, level)
            for child in reversed(children.get(current.span_id, [])):
                stack.append((child, level + 1))

    for root in roots:
        yield from walk(root, 0)
    for s in spans:
        if s.span_id not in seen:
            yield from walk(s, 0)
