"""Shipping a service's spans as OTLP/HTTP JSON to the collector the environment names.

:func:`configure_tracing` reads the standard OpenTelemetry variables:

- ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`` (used as it is) or ``OTEL_EXPORTER_OTLP_ENDPOINT``
  (``/v1/traces`` appended): where to POST. Neither set: spans are not recorded.
- ``OTEL_SDK_DISABLED=true`` or ``OTEL_TRACES_EXPORTER=none``: nothing is recorded.
- ``OTEL_SERVICE_NAME`` and ``OTEL_RESOURCE_ATTRIBUTES`` (``k=v,k2=v2``) refine the resource.

The resource names the service (``service.name``), its namespace
(``k8s.namespace.name`` from ``REMEDLAB_POD_NAMESPACE`` or ``POD_NAMESPACE``)
and its pod (``k8s.pod.name`` from ``HOSTNAME``).

:class:`BatchExporter` queues ended spans (bounded: when full the oldest are
dropped and counted) and a background thread POSTs them every second, sooner
when a batch fills, and once more at shutdown. A request never waits for an
export and an export failure never reaches a request: failed batches are
dropped and counted, and the service is told once when exporting starts
failing and once when it works again.
"""

from __future__ import annotations

import atexit
import http.client
import json
import math
import os
import threading
import time
import urllib.parse
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from remedlab import __version__
from remedlab.apps.kit.tracing import AttributeValue, Span, set_span_processor

SCOPE_NAME = "remedlab.apps.kit"
TRACES_PATH = "/v1/traces"
DEFAULT_INTERVAL = 1.0
DEFAULT_MAX_QUEUE = 4096
DEFAULT_MAX_BATCH = 512
DEFAULT_TIMEOUT = 2.0
SHUTDOWN_TIMEOUT = 0.5

ErrorReporter = Callable[[str], None]


# --------------------------------------------------------------------------- configuration


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() == "true"


def traces_endpoint(environ: Mapping[str, str]) -> str | None:
    """The URL to POST spans to, from the OTLP variables; None when none is set."""
    specific = environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "").strip()
    if specific:
        return specific
    base = environ.get("OTEL_EXPORTER_OTLP_ENDPOINT", "").strip()
    if base:
        return base.rstrip("/") + TRACES_PATH
    return None


def resource_attributes(service: str, environ: Mapping[str, str]) -> dict[str, AttributeValue]:
    """The resource of this process: service, namespace, pod, plus ``OTEL_RESOURCE_ATTRIBUTES``."""
    attributes: dict[str, AttributeValue] = {}
    for item in environ.get("OTEL_RESOURCE_ATTRIBUTES", "").split(","):
        key, sep, value = item.partition("=")
        if sep and key.strip():
            attributes[key.strip()] = urllib.parse.unquote(value.strip())
    attributes["service.name"] = environ.get("OTEL_SERVICE_NAME", "").strip() or service
    namespace = environ.get("REMEDLAB_POD_NAMESPACE") or environ.get("POD_NAMESPACE")
    if namespace:
        attributes["k8s.namespace.name"] = namespace
    pod = environ.get("HOSTNAME")
    if pod:
        attributes["k8s.pod.name"] = pod
    attributes["telemetry.sdk.name"] = "remedlab-kit"
    attributes["telemetry.sdk.language"] = "python"
    attributes["telemetry.sdk.version"] = __version__
    return attributes


# --------------------------------------------------------------------------- OTLP JSON


def any_value(value: AttributeValue) -> dict[str, Any]:
    """An attribute value as an OTLP ``AnyValue`` (64-bit integers as decimal strings)."""
    if isinstance(value, bool):
        return {"boolValue": value}
    if isinstance(value, int):
        return {"intValue": str(value)}
    if isinstance(value, float):
        if math.isfinite(value):
            return {"doubleValue": value}
        return {"doubleValue": "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")}
    if isinstance(value, str):
        return {"stringValue": value}
    return {"arrayValue": {"values": [any_value(item) for item in value]}}


def key_values(attributes: Mapping[str, AttributeValue]) -> list[dict[str, Any]]:
    return [{"key": key, "value": any_value(value)} for key, value in attributes.items()]


def span_json(span: Span) -> dict[str, Any]:
    """One span in the OTLP JSON mapping (hex ids, nanosecond times as strings, enums as numbers)."""
    out: dict[str, Any] = {
        "traceId": span.context.trace_id,
        "spanId": span.context.span_id,
        "name": span.name,
        "kind": int(span.kind),
        "startTimeUnixNano": str(span.start_ns),
        "endTimeUnixNano": str(span.end_ns),
        "attributes": key_values(span.attributes),
        "status": {"code": int(span.status_code)},
        "flags": 0x01 if span.context.sampled else 0x00,
    }
    if span.parent_span_id:
        out["parentSpanId"] = span.parent_span_id
    if span.status_message:
        out["status"]["message"] = span.status_message
    if span.events:
        out["events"] = [
            {"timeUnixNano": str(event.time_ns), "name": event.name, "attributes": key_values(event.attributes)}
            for event in span.events
        ]
    return out


def export_request(resource: Mapping[str, AttributeValue], spans: Iterable[Span]) -> dict[str, Any]:
    """An ``ExportTraceServiceRequest`` carrying ``spans`` of one resource and this kit's scope."""
    return {
        "resourceSpans": [
            {
                "resource": {"attributes": key_values(resource)},
                "scopeSpans": [
                    {
                        "scope": {"name": SCOPE_NAME, "version": __version__},
                        "spans": [span_json(s) for s in spans],
                    }
                ],
            }
        ]
    }


# --------------------------------------------------------------------------- exporting


@dataclass(frozen=True, slots=True)
class _Target:
    scheme: str
    host: str
    port: int
    path: str

    @classmethod
    def parse(cls, url: str) -> _Target:
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"OTLP endpoint {url!r} is not an http(s) URL")
        port = parts.port or (443 if parts.scheme == "https" else 80)
        path = parts.path or "/"
        if parts.query:
            path += "?" + parts.query
        return cls(parts.scheme, parts.hostname, port, path)


class ExportError(Exception):
    """A batch could not be delivered."""


class BatchExporter:
    """A span processor that queues spans and POSTs them in batches from a background thread."""

    def __init__(
        self,
        endpoint: str,
        resource: Mapping[str, AttributeValue],
        *,
        interval: float = DEFAULT_INTERVAL,
        max_queue: int = DEFAULT_MAX_QUEUE,
        max_batch: int = DEFAULT_MAX_BATCH,
        timeout: float = DEFAULT_TIMEOUT,
        on_error: ErrorReporter | None = None,
        on_recover: ErrorReporter | None = None,
    ) -> None:
        self.endpoint = endpoint
        self._target = _Target.parse(endpoint)
        self.resource = dict(resource)
        self.interval = interval
        self.max_batch = max(1, max_batch)
        self.timeout = timeout
        self._on_error = on_error
        self._on_recover = on_recover
        self._queue: deque[Span] = deque(maxlen=max(1, max_queue))
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._idle = threading.Condition(self._lock)
        self._in_flight = 0
        self._stopping = False
        self._thread: threading.Thread | None = None
        self._connection: http.client.HTTPConnection | None = None
        self._failing = False
        self.dropped = 0
        """Spans lost: pushed out of a full queue, or in a batch that failed."""
        self.exported = 0
        self.failed_batches = 0
        self.last_error: str | None = None

    # ---------------------------------------------------------------- the span processor side

    def on_end(self, span: Span) -> None:
        with self._lock:
            if self._stopping:
                self.dropped += 1
                return
            if len(self._queue) == self._queue.maxlen:
                self.dropped += 1
            self._queue.append(span)
            full = len(self._queue) >= self.max_batch
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="otlp-export", daemon=True)
                self._thread.start()
        if full:
            self._wake.set()

    @property
    def queued(self) -> int:
        with self._lock:
            return len(self._queue)

    def flush(self, timeout: float = DEFAULT_TIMEOUT) -> bool:
        """Wait until every span queued so far has been sent (or dropped); False on timeout."""
        deadline = time.monotonic() + timeout
        self._wake.set()
        with self._lock:
            if self._thread is None:
                return not self._queue
            while self._queue or self._in_flight:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._idle.wait(min(left, 0.05))
            return True

    def shutdown(self, timeout: float = SHUTDOWN_TIMEOUT) -> None:
        """Send what is queued (within ``timeout`` seconds) and stop the thread; later spans are dropped."""
        with self._lock:
            if self._stopping:
                return
            self._stopping = True
            thread = self._thread
        self._wake.set()
        if thread is not None:
            thread.join(timeout)
        with self._lock:
            self.dropped += len(self._queue)
            self._queue.clear()

    # ---------------------------------------------------------------- the thread

    def _take_batch(self) -> list[Span]:
        with self._lock:
            batch = [self._queue.popleft() for _ in range(min(self.max_batch, len(self._queue)))]
            self._in_flight = len(batch)
            if not batch:
                self._idle.notify_all()
            return batch

    def _run(self) -> None:
        while True:
            self._wake.wait(self.interval)
            self._wake.clear()
            stopping = self._stopping
            while batch := self._take_batch():
                self._export(batch)
                with self._lock:
                    self._in_flight = 0
                    self._idle.notify_all()
            if stopping:
                self._close()
                return

    def _export(self, batch: list[Span]) -> None:
        try:
            body = json.dumps(export_request(self.resource, batch), separators=(",", ":")).encode()
            self._post(body)
        except Exception as exc:
            reason = str(exc) if isinstance(exc, ExportError) else f"{type(exc).__name__}: {exc}"
            with self._lock:
                self.failed_batches += 1
                self.dropped += len(batch)
                self.last_error = reason
            if not self._failing:
                self._failing = True
                self._report(self._on_error, f"cannot export spans to {self.endpoint}: {reason}")
            return
        with self._lock:
            self.exported += len(batch)
        if self._failing:
            self._failing = False
            self._report(self._on_recover, f"exporting spans to {self.endpoint} again")

    @staticmethod
    def _report(reporter: ErrorReporter | None, message: str) -> None:
        if reporter is not None:
            try:
                reporter(message)
            except Exception:
                pass

    def _post(self, body: bytes) -> None:
        for attempt in (1, 2):  # a kept-alive connection the collector closed gets one fresh retry
            connection = self._connection or self._connect()
            self._connection = connection
            try:
                connection.request(
                    "POST",
                    self._target.path,
                    body=body,
                    headers={"Content-Type": "application/json", "Content-Length": str(len(body))},
                )
                response = connection.getresponse()
                answer = response.read(4096)
            except (ConnectionResetError, BrokenPipeError, http.client.RemoteDisconnected) as exc:
                self._close()
                if attempt == 2:
                    raise ExportError(f"{type(exc).__name__}: {exc}") from exc
                continue
            except OSError as exc:
                self._close()
                raise ExportError(os.strerror(exc.errno) if exc.errno else f"{type(exc).__name__}: {exc}") from exc
            if response.will_close:
                self._close()
            if response.status >= 300:
                detail = answer.decode("utf-8", "replace").strip().replace("\n", " ")[:200]
                raise ExportError(f"HTTP {response.status}{': ' + detail if detail else ''}")
            return

    def _connect(self) -> http.client.HTTPConnection:
        target = self._target
        if target.scheme == "https":
            return http.client.HTTPSConnection(target.host, target.port, timeout=self.timeout)
        return http.client.HTTPConnection(target.host, target.port, timeout=self.timeout)

    def _close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None


# --------------------------------------------------------------------------- the process's tracer

_exporter: BatchExporter | None = None


def configure_tracing(
    service: str,
    environ: Mapping[str, str] | None = None,
    *,
    on_error: ErrorReporter | None = None,
    on_recover: ErrorReporter | None = None,
    interval: float = DEFAULT_INTERVAL,
) -> BatchExporter | None:
    """Record this process's spans and export them as the environment says; None when it says not to.

    Replaces (and shuts down) the exporter an earlier call set up.
    """
    global _exporter
    env = os.environ if environ is None else environ
    previous, _exporter = _exporter, None
    set_span_processor(None)
    if previous is not None:
        previous.shutdown()
    if _truthy(env.get("OTEL_SDK_DISABLED")) or env.get("OTEL_TRACES_EXPORTER", "").strip().lower() == "none":
        return None
    endpoint = traces_endpoint(env)
    if endpoint is None:
        return None
    try:
        exporter = BatchExporter(
            endpoint,
            resource_attributes(service, env),
            interval=interval,
            on_error=on_error,
            on_recover=on_recover,
        )
    except ValueError as exc:
        BatchExporter._report(on_error, f"tracing disabled: {exc}")
        return None
    _exporter = exporter
    set_span_processor(exporter)
    return exporter


def shutdown_tracing(timeout: float = SHUTDOWN_TIMEOUT) -> None:
    """Send the spans still queued (within ``timeout`` seconds) and stop recording."""
    global _exporter
    exporter, _exporter = _exporter, None
    if exporter is not None:
        set_span_processor(None)
        exporter.shutdown(timeout)


atexit.register(shutdown_tracing)
