"""The Prometheus text parser, and the per-service figures computed from two scrapes."""

from __future__ import annotations

import math
from typing import Any

import pytest

from remedlab.apps.kit.metrics import Registry
from remedlab.observe.prometheus_text import PrometheusFormatError, parse
from remedlab.observe.service_metrics import (
    PodSnapshot,
    StepFigures,
    Target,
    counter_deltas,
    loopback_error,
    quantile_from_buckets,
    service_of,
    snapshot_from,
    targets_of,
)

TEXT = r"""# HELP http_requests_total Requests \\ served,\nby status.
# TYPE http_requests_total counter
http_requests_total{route="/a",method="GET",status="200"} 7
http_requests_total{route="/q\"x\\y\nz", method="GET" ,status="500",} 2 1700000000000
# a comment
# TYPE temperature gauge
temperature -1.5e1
# TYPE lat histogram
lat_bucket{le="0.1"} 1
lat_bucket{le="+Inf"} 3
lat_sum 0.75
lat_count 3
untyped_thing NaN
"""


def test_parses_families_labels_and_escapes() -> None:
    families = parse(TEXT)
    assert list(families) == ["http_requests_total", "temperature", "lat", "untyped_thing"]
    requests = families["http_requests_total"]
    assert requests.type == "counter" and requests.help == "Requests \\ served,\nby status."
    first, second = requests.samples
    assert first.labels == {"route": "/a", "method": "GET", "status": "200"} and first.value == 7
    assert second.labels["route"] == '/q"x\\y\nz' and second.timestamp_ms == 1700000000000
    assert families["temperature"].type == "gauge" and families["temperature"].samples[0].value == -15.0
    lat = families["lat"]
    assert lat.type == "histogram" and [s.name for s in lat.samples] == ["lat_bucket"] * 2 + ["lat_sum", "lat_count"]
    assert lat.samples[1].labels["le"] == "+Inf"
    assert families["untyped_thing"].type == "untyped" and math.isnan(families["untyped_thing"].samples[0].value)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ('x{a="1} 2', "line 1: unterminated value of label 'a'"),
        ('x{a="\\q"} 1', "invalid escape"),
        ("x 1 2 3", "expected a value"),
        ("x abc", "invalid value 'abc'"),
        ("ok 1\n# TYPE y bogus", "line 2: unknown type 'bogus'"),
        ('x{1a="b"} 1', "invalid label name"),
        ('x{a="1",a="2"} 1', "duplicate label 'a'"),
        ("# TYPE h histogram\nh_bucket 1", "without an 'le' label"),
        ("x{a=1} 2", "expected '\"'"),
        ("9x 1", "invalid metric name"),
    ],
)
def test_malformed_input_gives_one_line_errors(text: str, fragment: str) -> None:
    with pytest.raises(PrometheusFormatError) as info:
        parse(text)
    assert fragment in str(info.value) and "\n" not in str(info.value)


def kit_registry() -> Registry:
    registry = Registry()
    requests = registry.counter("http_requests_total", "Requests.", ("route", "method", "status"))
    durations = registry.histogram("http_request_duration_seconds", "Durations.", ("route",))
    upstream = registry.counter("upstream_requests_total", "Upstream.", ("service", "outcome"))
    for _ in range(8):
        requests.inc(route="/hello", method="GET", status=200)
        durations.observe(0.02, route="/hello")
    requests.inc(route="/hello", method="GET", status=503)
    durations.observe(0.3, route="/hello")
    requests.inc(route='/we"ird\\path', method="GET", status=200)
    requests.inc(route="/healthz", method="GET", status=200)
    upstream.inc(service="time-service", outcome="connect_error")
    return registry


def test_parses_the_kits_own_exposition() -> None:
    families = parse(kit_registry().exposition())
    assert families["http_request_duration_seconds"].type == "histogram"
    snap = snapshot_from(families, 10.0)
    assert snap.requests[("/hello", "GET", "200")] == 8 and snap.requests[('/we"ird\\path', "GET", "200")] == 1
    assert snap.buckets[("/hello", "0.025")] == 8 and snap.buckets[("/hello", "+Inf")] == 9
    assert snap.upstream[("time-service", "connect_error")] == 1


def test_counter_deltas_handle_resets_and_new_series() -> None:
    assert counter_deltas({("a",): 10, ("b",): 5}, {("a",): 15, ("b",): 2, ("c",): 4}) == {
        ("a",): 5,
        ("b",): 2,
        ("c",): 4,
    }


def test_quantiles_interpolate_within_buckets() -> None:
    buckets = {0.1: 50.0, 0.2: 90.0, 0.5: 100.0, math.inf: 100.0}
    assert quantile_from_buckets(buckets, 0.5) == pytest.approx(0.1)
    assert quantile_from_buckets(buckets, 0.7) == pytest.approx(0.15)
    assert quantile_from_buckets(buckets, 0.95) == pytest.approx(0.35)
    assert quantile_from_buckets({0.1: 0.0, math.inf: 4.0}, 0.99) == pytest.approx(0.1)
    assert quantile_from_buckets({0.1: 0.0, math.inf: 0.0}, 0.5) is None
    assert quantile_from_buckets({}, 0.5) is None


def snapshot(t: float, ok: float, failed: float, fast: float, slow: float, probes: float = 0.0) -> PodSnapshot:
    return PodSnapshot(
        t=t,
        requests={("/hello", "GET", "200"): ok, ("/hello", "GET", "503"): failed, ("/healthz", "GET", "200"): probes},
        buckets={
            ("/hello", "0.01"): fast,
            ("/hello", "0.1"): fast + slow,
            ("/hello", "+Inf"): fast + slow,
            ("/healthz", "0.01"): probes,
            ("/healthz", "+Inf"): probes,
        },
        upstream={("time-service", "ok"): ok, ("time-service", "refused"): failed},
    )


def test_rate_error_share_and_percentiles_from_two_snapshots() -> None:
    figures = StepFigures()
    figures.add(snapshot(0.0, 100, 0, 100, 0, probes=5), snapshot(2.0, 180, 20, 150, 50, probes=9))
    assert figures.requests == 100 and figures.rate == pytest.approx(50.0)  # probes left out
    assert figures.error_rate == pytest.approx(0.2)
    p50 = figures.quantile_ms(0.5)
    p99 = figures.quantile_ms(0.99)
    assert p50 == pytest.approx(10.0) and p99 == pytest.approx(10 + 90 * 0.98)
    assert figures.upstream_errors == {"time-service": {"refused": 20}}


def test_a_restarted_pod_counts_from_zero() -> None:
    figures = StepFigures()
    # the pod restarted between the scrapes: its counters start again, lower than before
    figures.add(snapshot(0.0, 1000, 10, 1000, 10), snapshot(4.0, 30, 10, 40, 0))
    assert figures.requests == 40 and figures.rate == pytest.approx(10.0)
    assert figures.error_rate == pytest.approx(0.25)
    assert figures.quantile_ms(0.95) == pytest.approx(9.5)
    assert figures.upstream_errors == {"time-service": {"refused": 10}}


def pod(
    name: str, ip: str, ready: bool = True, scrape: str = "true", labels: dict[str, str] | None = None
) -> dict[str, Any]:
    return {
        "metadata": {
            "name": name,
            "namespace": "ns",
            "labels": labels if labels is not None else {"app": "web"},
            "annotations": {"prometheus.io/scrape": scrape, "prometheus.io/port": "8080"},
            "ownerReferences": [{"kind": "ReplicaSet", "name": "web-deploy-5d8f9c"}],
        },
        "status": {"podIP": ip, "conditions": [{"type": "Ready", "status": "True" if ready else "False"}]},
    }


def test_targets_are_ready_annotated_pods_and_only_loopback_is_scraped() -> None:
    pods = [pod("a", "127.0.0.5"), pod("b", "127.0.0.6", ready=False), pod("c", "127.0.0.7", scrape="false")]
    pods.append(pod("d", "10.0.0.1", labels={}))
    found = targets_of(pods)
    assert [(t.pod, t.service, t.url) for t in found] == [
        ("a", "web", "http://127.0.0.5:8080/metrics"),
        ("d", "web-deploy", "http://10.0.0.1:8080/metrics"),
    ]
    assert loopback_error(found[0]) is None
    assert "not a loopback address" in (loopback_error(found[1]) or "")
    assert "no valid pod IP" in (loopback_error(Target("ns", "e", "web", "http://:8080/metrics", "")) or "")
    assert service_of({"metadata": {"name": "solo"}}) == "solo"
