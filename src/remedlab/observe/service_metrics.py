"""Per-service request metrics, scraped from the pods' Prometheus endpoints.

Every ``interval`` the scraper lists the Ready pods annotated
``prometheus.io/scrape: "true"``, fetches ``http://<podIP>:<prometheus.io/port><prometheus.io/path>``
(loopback addresses only), and turns the deltas since each pod's previous scrape
into one sample per (namespace, service): request rate, 5xx share, latency
percentiles from the ``http_request_duration_seconds`` buckets, and upstream
failures by outcome. Probe and scrape routes are left out of the request figures.
A pod that cannot be scraped counts as a scrape error of its service.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import math
import time
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

import aiohttp

from remedlab.api.client import Backend, Obj
from remedlab.observe.prometheus_text import MetricFamily, PrometheusFormatError, parse

log = logging.getLogger(__name__)

DEFAULT_INTERVAL: Final = 2.0
SCRAPE_TIMEOUT: Final = 1.0
HISTORY_SECONDS: Final = 900.0
MAX_BODY_BYTES: Final = 4 * 1024 * 1024
EXCLUDED_ROUTES: Final = frozenset({"/healthz", "/readyz", "/metrics"})
"""Probes and scrapes: counted by the services, but not requests anyone made of them."""
_LOOPBACK: Final = ipaddress.ip_network("127.0.0.0/8")
QUANTILES: Final = (0.5, 0.95, 0.99)

SeriesKey = tuple[str, ...]


@dataclass
class PodSnapshot:
    """The counters of one scrape of one pod, keyed by their label values."""

    t: float
    requests: dict[SeriesKey, float] = field(default_factory=dict)  # (route, method, status)
    buckets: dict[SeriesKey, float] = field(default_factory=dict)  # (route, le) -> cumulative count
    upstream: dict[SeriesKey, float] = field(default_factory=dict)  # (service, outcome)


def snapshot_from(families: Mapping[str, MetricFamily], t: float) -> PodSnapshot:
    snap = PodSnapshot(t)
    requests = families.get("http_requests_total")
    if requests is not None:
        for s in requests.samples:
            key = (s.labels.get("route", ""), s.labels.get("method", ""), s.labels.get("status", ""))
            snap.requests[key] = snap.requests.get(key, 0.0) + s.value
    durations = families.get("http_request_duration_seconds")
    if durations is not None:
        for s in durations.samples:
            if s.name.endswith("_bucket") and "le" in s.labels:
                bucket = (s.labels.get("route", ""), s.labels["le"])
                snap.buckets[bucket] = snap.buckets.get(bucket, 0.0) + s.value
    upstream = families.get("upstream_requests_total")
    if upstream is not None:
        for s in upstream.samples:
            pair = (s.labels.get("service", ""), s.labels.get("outcome", ""))
            snap.upstream[pair] = snap.upstream.get(pair, 0.0) + s.value
    return snap


def counter_deltas(previous: Mapping[SeriesKey, float], current: Mapping[SeriesKey, float]) -> dict[SeriesKey, float]:
    """Increase of each counter; one lower than before was reset (restart), so its increase is its value."""
    out: dict[SeriesKey, float] = {}
    for key, value in current.items():
        before = previous.get(key, 0.0)
        out[key] = value if value < before else value - before
    return out


def restarted(previous: PodSnapshot, current: PodSnapshot) -> bool:
    """Whether any counter went down: the process restarted, so all of them count from zero again."""
    for before, after in (
        (previous.requests, current.requests),
        (previous.buckets, current.buckets),
        (previous.upstream, current.upstream),
    ):
        if any(value < before.get(key, 0.0) for key, value in after.items()):
            return True
    return False


def _le(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        return math.inf


def quantile_from_buckets(buckets: Mapping[float, float], q: float) -> float | None:
    """The ``q`` quantile of observations counted in cumulative ``buckets`` (upper bound -> count).

    Interpolates linearly within the bucket holding the rank; the first bucket starts at 0,
    and a rank in the ``+Inf`` bucket answers the highest finite bound. None without observations.
    """
    bounds = sorted(buckets)
    if not bounds:
        return None
    total = buckets[bounds[-1]] if math.isinf(bounds[-1]) else max(buckets.values())
    if total <= 0:
        return None
    rank = q * total
    lower, below = 0.0, 0.0
    for bound in bounds:
        count = buckets[bound]
        if count >= rank and count > below:
            if math.isinf(bound):
                return lower
            return lower + (bound - lower) * (rank - below) / (count - below)
        if not math.isinf(bound):
            lower = bound
        below = max(below, count)
    return lower


@dataclass
class StepFigures:
    """What a service's pods did between two scrapes."""

    requests: float = 0.0
    errors: float = 0.0
    rate: float = 0.0
    buckets: dict[float, float] = field(default_factory=dict)
    upstream_errors: dict[str, dict[str, int]] = field(default_factory=dict)

    def add(self, previous: PodSnapshot, current: PodSnapshot) -> None:
        elapsed = current.t - previous.t
        if elapsed <= 0:
            return
        if restarted(previous, current):
            previous = PodSnapshot(previous.t)  # every counter started again from zero
        requests = 0.0
        for (route, _method, status), delta in counter_deltas(previous.requests, current.requests).items():
            if route in EXCLUDED_ROUTES:
                continue
            requests += delta
            if status.startswith("5"):
                self.errors += delta
        self.requests += requests
        self.rate += requests / elapsed
        for (route, le), delta in counter_deltas(previous.buckets, current.buckets).items():
            if route not in EXCLUDED_ROUTES:
                bound = _le(le)
                self.buckets[bound] = self.buckets.get(bound, 0.0) + delta
        for (service, outcome), delta in counter_deltas(previous.upstream, current.upstream).items():
            if outcome != "ok" and delta > 0:
                per_service = self.upstream_errors.setdefault(service, {})
                per_service[outcome] = per_service.get(outcome, 0) + round(delta)

    @property
    def error_rate(self) -> float:
        return self.errors / self.requests if self.requests > 0 else 0.0

    def quantile_ms(self, q: float) -> float | None:
        value = quantile_from_buckets(self.buckets, q)
        return None if value is None else round(value * 1000, 3)


@dataclass
class ServiceSample:
    t: float
    request_rate: float | None
    error_rate: float | None
    p50_ms: float | None
    p95_ms: float | None
    p99_ms: float | None
    targets: int
    scrape_errors: int
    upstream_errors: dict[str, dict[str, int]]

    def to_dict(self) -> dict[str, Any]:
        return {
            "t": round(self.t, 3),
            "requestRate": None if self.request_rate is None else round(self.request_rate, 3),
            "errorRate": None if self.error_rate is None else round(self.error_rate, 4),
            "p50Ms": self.p50_ms,
            "p95Ms": self.p95_ms,
            "p99Ms": self.p99_ms,
            "targets": self.targets,
            "scrapeErrors": self.scrape_errors,
            "upstreamErrors": self.upstream_errors,
        }


@dataclass
class ServiceSeries:
    namespace: str
    service: str
    samples: deque[ServiceSample] = field(default_factory=deque)
    last_error: str | None = None

    def append(self, sample: ServiceSample, history: float) -> None:
        self.samples.append(sample)
        while self.samples and self.samples[0].t < sample.t - history:
            self.samples.popleft()


@dataclass(frozen=True)
class Target:
    namespace: str
    pod: str
    service: str
    url: str
    ip: str


def service_of(pod: Obj) -> str:
    """The pod's ``app`` label, else its deployment's name (its ReplicaSet's name less the hash)."""
    meta = pod.get("metadata", {})
    app = (meta.get("labels") or {}).get("app")
    if app:
        return str(app)
    for ref in meta.get("ownerReferences") or []:
        if ref.get("kind") == "ReplicaSet":
            name = str(ref.get("name", ""))
            return name.rsplit("-", 1)[0] if "-" in name else name
        if ref.get("kind") == "Deployment":
            return str(ref.get("name", ""))
    return str(meta.get("name", ""))


def _ready(pod: Obj) -> bool:
    if pod.get("metadata", {}).get("deletionTimestamp"):
        return False
    conditions = pod.get("status", {}).get("conditions") or []
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)


def targets_of(pods: Iterable[Obj]) -> list[Target]:
    """The Ready pods asking to be scraped, with where to scrape them."""
    found: list[Target] = []
    for pod in pods:
        meta = pod.get("metadata", {})
        annotations = meta.get("annotations") or {}
        if str(annotations.get("prometheus.io/scrape", "")).lower() != "true" or not _ready(pod):
            continue
        ip = str(pod.get("status", {}).get("podIP") or "")
        port = str(annotations.get("prometheus.io/port", "")).strip()
        path = str(annotations.get("prometheus.io/path") or "/metrics")
        if not path.startswith("/"):
            path = "/" + path
        found.append(
            Target(
                namespace=str(meta.get("namespace", "")),
                pod=str(meta.get("name", "")),
                service=service_of(pod),
                url=f"http://{ip}:{port}{path}",
                ip=ip,
            )
        )
    return found


def loopback_error(target: Target) -> str | None:
    """Why ``target`` may not be scraped (only loopback addresses may), or None."""
    try:
        address = ipaddress.ip_address(target.ip)
    except ValueError:
        return f"pod {target.pod}: no valid pod IP ({target.ip[:64]!r})"
    if address not in _LOOPBACK:
        return f"pod {target.pod}: refusing to scrape {target.ip}, not a loopback address"
    return None


class ServiceMetricsScraper:
    def __init__(
        self,
        backend: Backend,
        interval: float = DEFAULT_INTERVAL,
        timeout: float = SCRAPE_TIMEOUT,
        history_seconds: float = HISTORY_SECONDS,
    ) -> None:
        self.backend = backend
        self.interval = interval
        self.timeout = timeout
        self.history_seconds = history_seconds
        self.series: dict[tuple[str, str], ServiceSeries] = {}
        self._last: dict[tuple[str, str, str], PodSnapshot] = {}  # (namespace, pod, url)
        self._task: asyncio.Task[None] | None = None
        self._session: aiohttp.ClientSession | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="service-metrics")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        session, self._session = self._session, None
        if session is not None:
            await session.close()

    async def _run(self) -> None:
        while True:
            started = time.monotonic()
            try:
                await self.scrape_once()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("service metrics scrape failed")
            await asyncio.sleep(max(0.1, self.interval - (time.monotonic() - started)))

    async def _fetch(self, target: Target) -> tuple[PodSnapshot | None, str | None]:
        refused = loopback_error(target)
        if refused is not None:
            return None, refused
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.timeout), trust_env=False)
        try:
            async with self._session.get(target.url, allow_redirects=False) as response:
                if response.status != 200:
                    return None, f"pod {target.pod}: {target.url} answered {response.status}"
                body = await response.content.read(MAX_BODY_BYTES + 1)
                t = time.time()
            if len(body) > MAX_BODY_BYTES:
                return None, f"pod {target.pod}: {target.url} answered more than {MAX_BODY_BYTES} bytes"
            return snapshot_from(parse(body.decode("utf-8", errors="replace")), t), None
        except PrometheusFormatError as exc:
            return None, f"pod {target.pod}: {target.url}: {exc}"
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            reason = str(exc) or type(exc).__name__
            return None, f"pod {target.pod}: target down: {target.url}: {reason}"

    async def scrape_once(self) -> None:
        """Scrape every target once and append one sample per service that has targets."""
        targets = targets_of(self.backend.list_objects("pods", None))
        results = await asyncio.gather(*(self._fetch(t) for t in targets))
        now = time.time()
        steps: dict[tuple[str, str], tuple[StepFigures, int, int, bool, str | None]] = {}
        seen: set[tuple[str, str, str]] = set()
        for target, (snap, error) in zip(targets, results, strict=True):
            service_key = (target.namespace, target.service)
            figures, n_targets, n_errors, measured, last_error = steps.get(
                service_key, (StepFigures(), 0, 0, False, None)
            )
            n_targets += 1
            pod_key = (target.namespace, target.pod, target.url)
            seen.add(pod_key)
            if snap is None:
                n_errors += 1
                last_error = error
                self._last.pop(pod_key, None)
            else:
                previous = self._last.get(pod_key)
                if previous is not None:
                    figures.add(previous, snap)
                    measured = True
                self._last[pod_key] = snap
            steps[service_key] = (figures, n_targets, n_errors, measured, last_error)
        for pod_key in set(self._last) - seen:
            del self._last[pod_key]
        for (namespace, service), (figures, n_targets, n_errors, measured, last_error) in steps.items():
            if not measured and n_errors == 0:
                continue  # first scrape of every pod: nothing to compare yet
            series = self.series.get((namespace, service))
            if series is None:
                series = self.series[(namespace, service)] = ServiceSeries(namespace, service)
            series.last_error = last_error
            sample = ServiceSample(
                t=now,
                request_rate=figures.rate if measured else None,
                error_rate=figures.error_rate if measured else None,
                p50_ms=figures.quantile_ms(QUANTILES[0]),
                p95_ms=figures.quantile_ms(QUANTILES[1]),
                p99_ms=figures.quantile_ms(QUANTILES[2]),
                targets=n_targets,
                scrape_errors=n_errors,
                upstream_errors=figures.upstream_errors,
            )
            series.append(sample, self.history_seconds)

    def query(self, namespace: str | None, service: str | None, seconds: float) -> list[dict[str, Any]]:
        """The series of matching services, with their samples of the last ``seconds``."""
        since = time.time() - seconds
        items: list[dict[str, Any]] = []
        for (ns, name), series in sorted(self.series.items()):
            if (namespace and ns != namespace) or (service and name != service):
                continue
            items.append(
                {
                    "namespace": ns,
                    "service": name,
                    "lastScrapeError": series.last_error,
                    "samples": [s.to_dict() for s in series.samples if s.t >= since],
                }
            )
        return items
