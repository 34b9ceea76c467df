"""A small Prometheus registry: labelled counters and histograms, text exposition 0.0.4.

The kit's own series live in :data:`REGISTRY`; the serving middleware and the
service client record into them, and :func:`add_metrics_route` serves them.
"""

from __future__ import annotations

import math
import re
from bisect import bisect_left
from collections.abc import Iterator, Mapping, Sequence
from typing import Final, Literal

from aiohttp import web
from aiohttp.typedefs import Handler

CONTENT_TYPE: Final = "text/plain; version=0.0.4; charset=utf-8"
DEFAULT_BUCKETS: Final = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

_METRIC_NAME = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
_LABEL_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")

LabelKey = tuple[str, ...]


def format_value(value: float) -> str:
    """A sample value as Prometheus text: integers without a fraction, ``+Inf``, ``NaN``."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(value)


def _escape_label(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _escape_help(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\n", "\\n")


def _render_labels(pairs: Sequence[tuple[str, str]]) -> str:
    if not pairs:
        return ""
    return "{" + ",".join(f'{name}="{_escape_label(value)}"' for name, value in pairs) + "}"


class Metric:
    """A named family of series, one per combination of label values."""

    kind: Literal["counter", "histogram"]

    def __init__(self, name: str, help_text: str, label_names: Sequence[str] = ()) -> None:
        if not _METRIC_NAME.match(name):
            raise ValueError(f"invalid metric name {name!r}")
        for label in label_names:
            if not _LABEL_NAME.match(label) or label.startswith("__") or label == "le":
                raise ValueError(f"invalid label name {label!r} for {name}")
        self.name = name
        self.help = help_text
        self.label_names: tuple[str, ...] = tuple(label_names)

    def _key(self, labels: Mapping[str, object]) -> LabelKey:
        if set(labels) != set(self.label_names):
            raise ValueError(f"{self.name} takes labels {sorted(self.label_names)}, got {sorted(labels)}")
        return tuple(str(labels[name]) for name in self.label_names)

    def header(self) -> list[str]:
        return [f"# HELP {self.name} {_escape_help(self.help)}", f"# TYPE {self.name} {self.kind}"]

    def lines(self) -> Iterator[str]:
        raise NotImplementedError


class Counter(Metric):
    kind = "counter"

    def __init__(self, name: str, help_text: str, label_names: Sequence[str] = ()) -> None:
        super().__init__(name, help_text, label_names)
        self._values: dict[LabelKey, float] = {}
        if not self.label_names:
            self._values[()] = 0.0

    def inc(self, amount: float = 1.0, /, **labels: object) -> None:
        if amount < 0:
            raise ValueError(f"{self.name}: a counter only goes up")
        key = self._key(labels)
        self._values[key] = self._values.get(key, 0.0) + amount

    def value(self, **labels: object) -> float:
        return self._values.get(self._key(labels), 0.0)

    def lines(self) -> Iterator[str]:
        for key, value in sorted(self._values.items()):
            labels = _render_labels(list(zip(self.label_names, key, strict=True)))
            yield f"{self.name}{labels} {format_value(value)}"


class _Series:
    __slots__ = ("bucket_counts", "count", "total")

    def __init__(self, n_buckets: int) -> None:
        self.bucket_counts = [0] * n_buckets
        self.count = 0
        self.total = 0.0


class Histogram(Metric):
    kind = "histogram"

    def __init__(
        self,
        name: str,
        help_text: str,
        label_names: Sequence[str] = (),
        buckets: Sequence[float] = DEFAULT_BUCKETS,
    ) -> None:
        super().__init__(name, help_text, label_names)
        bounds = sorted(float(b) for b in buckets if not math.isinf(b))
        if not bounds or len(set(bounds)) != len(bounds):
            raise ValueError(f"{name}: buckets must be distinct and non-empty")
        self.buckets: tuple[float, ...] = (*bounds, math.inf)
        self._series: dict[LabelKey, _Series] = {}
        if not self.label_names:
            self._series[()] = _Series(len(self.buckets))

    def observe(self, value: float, /, **labels: object) -> None:
        key = self._key(labels)
        series = self._series.get(key)
        if series is None:
            series = self._series[key] = _Series(len(self.buckets))
        series.bucket_counts[bisect_left(self.buckets, value)] += 1
        series.count += 1
        series.total += value

    def count(self, **labels: object) -> int:
        series = self._series.get(self._key(labels))
        return series.count if series is not None else 0

    def lines(self) -> Iterator[str]:
        for key, series in sorted(self._series.items()):
            pairs = list(zip(self.label_names, key, strict=True))
            cumulative = 0
            for bound, n in zip(self.buckets, series.bucket_counts, strict=True):
                cumulative += n
                le = "+Inf" if math.isinf(bound) else repr(bound)
                yield f"{self.name}_bucket{_render_labels([*pairs, ('le', le)])} {cumulative}"
            yield f"{self.name}_sum{_render_labels(pairs)} {format_value(series.total)}"
            yield f"{self.name}_count{_render_labels(pairs)} {series.count}"


class Registry:
    """The metrics of one process, in registration order."""

    def __init__(self) -> None:
        self._metrics: dict[str, Metric] = {}

    def _register(self, metric: Metric) -> None:
        if metric.name in self._metrics:
            raise ValueError(f"metric {metric.name} is already registered")
        self._metrics[metric.name] = metric

    def counter(self, name: str, help_text: str, label_names: Sequence[str] = ()) -> Counter:
        metric = Counter(name, help_text, label_names)
        self._register(metric)
        return metric

    def histogram(
        self,
        name: str,
        help_text: str,
        label_names: Sequence[str] = (),
        buckets: Sequence[float] = DEFAULT_BUCKETS,
    ) -> Histogram:
        metric = Histogram(name, help_text, label_names, buckets)
        self._register(metric)
        return metric

    def exposition(self) -> str:
        """Every metric in the Prometheus text format, ending with a newline."""
        out: list[str] = []
        for metric in self._metrics.values():
            out.extend(metric.header())
            out.extend(metric.lines())
        return "\n".join(out) + "\n"


REGISTRY: Final = Registry()

HTTP_REQUESTS: Final = REGISTRY.counter(
    "http_requests_total", "HTTP requests served, by route, method and status.", ("route", "method", "status")
)
HTTP_REQUEST_DURATION: Final = REGISTRY.histogram(
    "http_request_duration_seconds", "Time to serve an HTTP request, by route.", ("route",)
)
UPSTREAM_REQUESTS: Final = REGISTRY.counter(
    "upstream_requests_total",
    "Requests (attempts) to other services, by service and outcome.",
    ("service", "outcome"),
)
UPSTREAM_REQUEST_DURATION: Final = REGISTRY.histogram(
    "upstream_request_duration_seconds",
    "Time of requests (attempts) to other services, by service.",
    ("service",),
)


def metrics_handler(registry: Registry = REGISTRY) -> Handler:
    """An aiohttp handler serving ``registry`` in the Prometheus text format."""

    async def handle(request: web.Request) -> web.StreamResponse:
        return web.Response(body=registry.exposition().encode(), headers={"Content-Type": CONTENT_TYPE})

    return handle


def add_metrics_route(app: web.Application, registry: Registry = REGISTRY, path: str = "/metrics") -> None:
    """Serve ``registry`` at ``GET path``."""
    app.router.add_get(path, metrics_handler(registry))
