"""Hotel Reservation on the embedded cluster: its API, a search's trace, the mixed workload, and how
faults on its stores and services show to users and in logs, metrics and traces."""

from __future__ import annotations

import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from tests.integration.fault_symptoms import Symptom, shows_and_clears
from tests.integration.http_probe import Answer, deployed_app, fetch, new_traceparent, trace_with_servers
from tests.integration.load_harness import check_mix_answered
from tests.integration.server_harness import ServerProcess

pytestmark = pytest.mark.integration

NS = "hotel-reservation"
SEARCH = "/hotels?inDate=2015-04-09&outDate=2015-04-11&lat=37.7867&lon=-122.4112"


@dataclass
class Hotel:
    server: ServerProcess
    url: str

    def get(self, path: str, **options: Any) -> Answer:
        return fetch(self.url + path, **options)


@pytest.fixture(scope="module")
def hotel() -> Iterator[Hotel]:
    with deployed_app(NS, "frontend", 5000) as (server, url):
        yield Hotel(server, url)


def _query(**params: str) -> str:
    return urllib.parse.urlencode(params)


def test_every_frontend_endpoint_answers(hotel: Hotel) -> None:
    search = hotel.get(SEARCH)
    assert search.status == 200, search
    found = search.json()
    assert found["type"] == "FeatureCollection" and found["features"], found
    first = found["features"][0]
    assert first["geometry"]["type"] == "Point" and first["id"]

    for require in ("dis", "rate", "price"):
        answer = hotel.get(f"/recommendations?{_query(require=require, lat='37.7867', lon='-122.4112')}")
        assert answer.status == 200 and answer.json()["features"], (require, answer)

    login = hotel.get(f"/user?{_query(username='Cornell_7', password='7' * 10)}")
    assert login.status == 200 and login.json()["message"] == "Login successfully!", login
    refused = hotel.get(f"/user?{_query(username='Cornell_7', password='wrong')}")
    assert refused.json()["message"].startswith("Failed"), refused

    booking = _query(
        inDate="2015-04-12",
        outDate="2015-04-13",
        lat="37.7867",
        lon="-122.4112",
        hotelId="5",
        customerName="Cornell_7",
        username="Cornell_7",
        password="7" * 10,
        number="1",
    )
    reserved = hotel.get(f"/reservation?{booking}", method="POST")
    assert reserved.status == 200 and reserved.json()["message"] == "Reserve successfully!", reserved

    bad = hotel.get("/hotels?inDate=2015-04-09")
    assert bad.status == 400 and "error" in bad.json(), bad


def _span(spans: list[dict[str, Any]], service: str, kind: str, needle: str) -> dict[str, Any]:
    found = [s for s in spans if s["service"] == service and s["kind"] == kind and needle in s["operation"]]
    assert found, f"no {kind} span of {service} with {needle!r} in {[(s['service'], s['operation']) for s in spans]}"
    return found[0]


def _parent(spans: list[dict[str, Any]], span: dict[str, Any]) -> dict[str, Any]:
    return next(s for s in spans if s["spanId"] == span["parentSpanId"])


def test_a_search_trace_shows_geo_and_rate_with_their_stores(hotel: Hotel) -> None:
    trace_id, traceparent = new_traceparent()
    assert hotel.get(SEARCH, headers={"traceparent": traceparent}).status == 200
    wanted = {"frontend", "search", "geo", "rate", "reservation", "profile"}

    trace = hotel.server.wait_for(
        lambda: trace_with_servers(hotel.server, trace_id, wanted, 16), timeout=10, what="the search trace"
    )
    spans = trace["spans"]
    front = _span(spans, "frontend", "SERVER", "/hotels")
    search = _span(spans, "search", "SERVER", "Nearby")
    geo = _span(spans, "geo", "SERVER", "/geo.Geo/Nearby")
    rate = _span(spans, "rate", "SERVER", "/rate.Rate/GetRates")
    # frontend -> search -> geo and rate, each hop a CLIENT span of the caller
    assert _parent(spans, _parent(spans, search)) == front
    assert _parent(spans, _parent(spans, geo)) == search
    assert _parent(spans, _parent(spans, rate)) == search
    # their store calls: geo reads PostgreSQL, rate goes to memcached first
    geo_db = [s for s in spans if s["parentSpanId"] == geo["spanId"] and s["kind"] == "CLIENT"]
    assert any(s["attributes"].get("db.system") == "postgresql" for s in geo_db), geo_db
    rate_stores = {s["attributes"].get("db.system") for s in spans if s["parentSpanId"] == rate["spanId"]}
    assert "memcached" in rate_stores, rate_stores
    # the rest of a search: availability and profiles
    _span(spans, "reservation", "SERVER", "CheckAvailability")
    _span(spans, "profile", "SERVER", "GetProfiles")
    assert all(s["status"] != "ERROR" for s in spans), [s for s in spans if s["status"] == "ERROR"]

    # the same call graph, summed up over the window: the topology agents can ask for
    graph = hotel.server.ok("GET", f"/v1/topology?namespace={NS}&sinceSeconds=120")
    calls = {(c["from"], c["to"], c["protocol"]) for c in graph["calls"]}
    for edge in [
        ("frontend", "search", "http"),
        ("search", "geo", "http"),
        ("search", "rate", "http"),
        ("geo", "postgres-geo", "postgresql"),
        ("rate", "memcached-rate", "memcached"),
    ]:
        assert edge in calls, (edge, sorted(calls))
    assert {"frontend", "postgres-geo", "memcached-rate"} <= {s["name"] for s in graph["services"]}
    printed = hotel.server.cli("topology", "-n", NS, "--since", "2m")
    assert "postgres-geo" in printed and "postgresql" in printed and "memcached-rate" in printed, printed


def test_every_kind_of_the_mixed_workload_is_answered(hotel: Hotel) -> None:
    host, port = hotel.url.removeprefix("http://").rsplit(":", 1)
    check_mix_answered(host, int(port), NS, rate=20)


def _scale(hotel: Hotel, deployment: str, replicas: int) -> None:
    hotel.server.patch("deployments", NS, deployment, {"spec": {"replicas": replicas}})


def _frontend_log(hotel: Hotel) -> str:
    (pod,) = hotel.server.pods(NS, "app=frontend")
    status, text = hotel.server.request("GET", ServerProcess.path("pods", NS, pod["metadata"]["name"], "log"))
    assert status == 200
    return str(text)


def _frontend_error_rate(hotel: Hotel) -> float:
    items = hotel.server.ok("GET", f"/v1/metrics/services?namespace={NS}&service=frontend&seconds=30")["items"]
    rates = [s["errorRate"] or 0.0 for item in items for s in item["samples"]]
    return max(rates, default=0.0)


def _error_trace_in_geo(hotel: Hotel) -> dict[str, Any] | None:
    listed = hotel.server.ok("GET", f"/v1/traces?namespace={NS}&service=geo&errorsOnly=true&sinceSeconds=60")
    for summary in listed["traces"]:
        trace = hotel.server.ok("GET", f"/v1/traces/{summary['traceId']}")
        geo_errors = [s for s in trace["spans"] if s["service"] == "geo" and s["status"] == "ERROR"]
        if any(s["kind"] == "SERVER" for s in geo_errors) and any(s["kind"] == "CLIENT" for s in geo_errors):
            return dict(trace)
    return None


def _searches_until(hotel: Hotel, ok: bool, timeout: float) -> Answer:
    deadline = time.monotonic() + timeout
    answer = hotel.get(SEARCH)
    while (answer.status == 200) != ok and time.monotonic() < deadline:
        time.sleep(0.3)
        answer = hotel.get(SEARCH)
    assert (answer.status == 200) == ok, answer
    return answer


def test_killing_the_geo_database_fails_searches_visibly_then_recovers(hotel: Hotel) -> None:
    _scale(hotel, "postgres-geo", 0)
    try:
        failed = _searches_until(hotel, ok=False, timeout=20)
        assert failed.status >= 500 and "error" in failed.json(), failed
        for _ in range(10):  # keep failing traffic flowing for the scraper
            hotel.get(SEARCH)
            time.sleep(0.3)
        log = _frontend_log(hotel)
        assert any('"level": "error"' in line and "search" in line for line in log.splitlines()), log[-2000:]
        hotel.server.wait_for(lambda: _frontend_error_rate(hotel) > 0, timeout=20, what="frontend errors in metrics")
        trace = hotel.server.wait_for(lambda: _error_trace_in_geo(hotel), timeout=10, what="an error span in geo")
        db_calls = [s for s in trace["spans"] if s["service"] == "geo" and s["kind"] == "CLIENT"]
        assert any(s["attributes"].get("db.system") == "postgresql" for s in db_calls), db_calls
    finally:
        _scale(hotel, "postgres-geo", 1)
    _searches_until(hotel, ok=True, timeout=45)


def test_cpu_stress_on_rate_raises_search_latency_until_stopped(hotel: Hotel) -> None:
    _searches_until(hotel, ok=True, timeout=30)
    shows_and_clears(hotel.server, hotel.url, NS, Symptom("cpu-stress", "rate", "search", "rate", rate=20.0))
