"""Hotel Reservation: the services' logic, the frontend's answers, the manifests and the workload mix."""

from __future__ import annotations

import asyncio
import hashlib
import json
import math
import random
from collections.abc import Awaitable, Callable
from datetime import date
from importlib.resources import files
from pathlib import Path
from typing import Any

import pytest
import yaml
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from remedlab.apps.catalog import app_manifests, get_app
from remedlab.apps.hotel_reservation import frontend, geo, rate, recommendation, reservation, search, user
from remedlab.apps.hotel_reservation.shared import (
    MAX_NIGHTS,
    REQUIREMENTS,
    Stay,
    bounding_box,
    count_field,
    haversine_km,
    hotel_ids_field,
    hotels_geojson,
    latitude,
    number_field,
    requirement_field,
    stay_field,
)
from remedlab.apps.kit.client import UpstreamError
from remedlab.apps.kit.rpc import BadRequest, answer
from remedlab.apps.kit.store_calls import StoreError
from remedlab.apps.kit.structured_log import get_logger
from remedlab.cluster.apiserver.validation import validate_object
from remedlab.observe.workload.mix import load_app_mix

APP = get_app("hotel-reservation")
APPS = Path(str(files("remedlab.apps")))
SERVICE_PORTS = {
    "frontend": 5000,
    "profile": 8081,
    "search": 8082,
    "geo": 8083,
    "rate": 8084,
    "recommendation": 8085,
    "user": 8086,
    "reservation": 8087,
}
DATABASES = ("geo", "rate", "profile", "recommendation", "reservation", "user")
# the database and role of each service (`user` is reserved in SQL: its database is `users`)
DB_NAMES = {db: "users" if db == "user" else db for db in DATABASES}
CACHES = {"rate": "memcached-rate", "profile": "memcached-profile", "reservation": "memcached-reserve"}


def seeded_hotels() -> list[geo.Point]:
    """The geo database's points: six downtown hotels, then a line of hotels north-east."""
    downtown = [
        ("1", 37.7867, -122.4112),
        ("2", 37.7854, -122.4005),
        ("3", 37.7834, -122.4071),
        ("4", 37.7936, -122.3930),
        ("5", 37.7831, -122.4181),
        ("6", 37.7863, -122.4015),
    ]
    spread = [(str(i), 37.7835 + i / 500 * 3, -122.41 + i / 500 * 4) for i in range(7, 81)]
    return [geo.Point(*point) for point in downtown + spread]


# --------------------------------------------------------------------------- distances and geo


def test_haversine_matches_known_distances() -> None:
    assert haversine_km(37.7867, -122.4112, 37.7867, -122.4112) == 0.0
    # one degree of latitude is about 111.2 km anywhere
    assert haversine_km(10.0, 20.0, 11.0, 20.0) == pytest.approx(111.19, abs=0.05)
    # San Francisco to Los Angeles, about 559 km
    sf_la = haversine_km(37.7749, -122.4194, 34.0522, -118.2437)
    assert sf_la == pytest.approx(559.1, abs=1.0)
    assert haversine_km(34.0522, -118.2437, 37.7749, -122.4194) == pytest.approx(sf_la)
    # antipodes: half the circumference
    assert haversine_km(0.0, 0.0, 0.0, 180.0) == pytest.approx(math.pi * 6371.0)


def test_bounding_box_holds_every_point_within_the_radius() -> None:
    rng = random.Random(7)
    for lat, lon in ((37.7867, -122.4112), (-33.87, 151.21), (78.2, 15.6), (0.0, 0.0)):
        lat_min, lat_max, lon_min, lon_max = bounding_box(lat, lon, 10.0)
        assert lat_min < lat < lat_max and lon_min < lon < lon_max
        for _ in range(500):
            p_lat, p_lon = lat + rng.uniform(-0.2, 0.2), lon + rng.uniform(-0.6, 0.6)
            if haversine_km(lat, lon, p_lat, p_lon) <= 10.0:
                assert lat_min <= p_lat <= lat_max and lon_min <= p_lon <= lon_max
    # the box stays small: about 20 km of latitude across
    lat_min, lat_max, _, _ = bounding_box(37.7867, -122.4112, 10.0)
    assert (lat_max - lat_min) == pytest.approx(20 / 111.19, rel=0.01)
    # near a pole every longitude is in reach
    assert bounding_box(89.99, 10.0, 10.0)[2:] == (-180.0, 180.0)


def test_nearest_keeps_five_hotels_within_ten_km_nearest_first() -> None:
    hotels = seeded_hotels()
    found = geo.nearest(37.7867, -122.4112, hotels)
    assert len(found) == geo.MAX_SEARCH_RESULTS == 5
    assert found[0] == "1"  # the point is hotel 1's
    distances = [haversine_km(37.7867, -122.4112, h.lat, h.lon) for h in hotels if h.hotel_id in found]
    assert all(d <= geo.MAX_SEARCH_RADIUS_KM for d in distances)
    by_id = {h.hotel_id: h for h in hotels}
    ordered = [haversine_km(37.7867, -122.4112, by_id[i].lat, by_id[i].lon) for i in found]
    assert ordered == sorted(ordered)
    # whatever was left out is no nearer than the last one kept
    others = [haversine_km(37.7867, -122.4112, h.lat, h.lon) for h in hotels if h.hotel_id not in found]
    assert min(others) >= ordered[-1]


def test_nearest_finds_nothing_far_away_and_respects_the_radius() -> None:
    hotels = seeded_hotels()
    assert geo.nearest(40.7128, -74.0060, hotels) == []  # New York
    point = geo.Point("far", 37.7867 + 10.5 / 111.19, -122.4112)  # 10.5 km north
    near = geo.Point("near", 37.7867 + 9.5 / 111.19, -122.4112)  # 9.5 km north
    assert geo.nearest(37.7867, -122.4112, [point, near]) == ["near"]
    assert geo.nearest(37.7867, -122.4112, [point, near], radius_km=11) == ["near", "far"]
    assert geo.nearest(37.7867, -122.4112, [point, near], radius_km=11, limit=1) == ["near"]


# --------------------------------------------------------------------------- recommendation


CANDIDATES = [
    recommendation.Candidate("a", 37.79, -122.41, 4.5, 200.0),
    recommendation.Candidate("b", 37.80, -122.40, 4.9, 150.0),
    recommendation.Candidate("c", 37.70, -122.30, 4.9, 99.0),
    recommendation.Candidate("d", 37.79, -122.41, 3.0, 99.0),
]


def test_recommendation_picks_the_nearest_best_rated_or_cheapest_with_ties() -> None:
    assert recommendation.recommend("dis", 37.79, -122.41, CANDIDATES) == ["a", "d"]
    assert recommendation.recommend("dis", 37.70, -122.31, CANDIDATES) == ["c"]
    assert recommendation.recommend("rate", 0.0, 0.0, CANDIDATES) == ["b", "c"]
    assert recommendation.recommend("price", 0.0, 0.0, CANDIDATES) == ["c", "d"]
    assert recommendation.recommend("price", 0.0, 0.0, CANDIDATES[:2]) == ["b"]
    assert recommendation.recommend("rate", 0.0, 0.0, []) == []


def test_recommendation_requirement_must_be_known() -> None:
    assert requirement_field({"require": "price"}) == "price"
    with pytest.raises(BadRequest, match="require must be one of dis, rate, price"):
        requirement_field({"require": "cheap"})
    with pytest.raises(BadRequest, match="missing require"):
        requirement_field({})
    with pytest.raises(BadRequest):
        recommendation.recommend("stars", 0.0, 0.0, CANDIDATES)


# --------------------------------------------------------------------------- stays and fields


def test_stay_nights_span_the_dates_out_date_excluded() -> None:
    stay = stay_field({"inDate": "2015-04-09", "outDate": "2015-04-12"})
    assert stay.nights == [date(2015, 4, 9), date(2015, 4, 10), date(2015, 4, 11)]
    assert stay.as_fields() == {"inDate": "2015-04-09", "outDate": "2015-04-12"}
    across = stay_field({"inDate": "2016-02-28", "outDate": "2016-03-01"})
    assert across.nights == [date(2016, 2, 28), date(2016, 2, 29)]
    assert len(stay_field({"inDate": "2015-04-01", "outDate": "2015-05-02"}).nights) == MAX_NIGHTS


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"outDate": "2015-04-10"}, "missing inDate"),
        ({"inDate": "2015-04-10"}, "missing outDate"),
        ({"inDate": "2015-04-10", "outDate": "2015-04-10"}, "outDate must come after inDate"),
        ({"inDate": "2015-04-11", "outDate": "2015-04-10"}, "outDate must come after inDate"),
        ({"inDate": "2015-4-9", "outDate": "2015-04-10"}, "inDate must be a date written YYYY-MM-DD"),
        ({"inDate": "2015-02-30", "outDate": "2015-03-02"}, "is not a date"),
        ({"inDate": "2015-01-01", "outDate": "2015-03-01"}, "at most 31 nights"),
        ({"inDate": 20150409, "outDate": "2015-04-10"}, "missing inDate"),
    ],
)
def test_stay_validation(fields: dict[str, Any], message: str) -> None:
    with pytest.raises(BadRequest, match=message):
        stay_field(fields)


def test_stay_overlap_is_about_shared_nights() -> None:
    stay = Stay(date(2015, 4, 10), date(2015, 4, 12))
    assert stay.overlaps(date(2015, 4, 9), date(2015, 4, 11))
    assert stay.overlaps(date(2015, 4, 11), date(2015, 4, 24))
    assert not stay.overlaps(date(2015, 4, 12), date(2015, 4, 14))  # starts the morning we leave
    assert not stay.overlaps(date(2015, 4, 1), date(2015, 4, 10))  # ends the day we arrive


def test_number_and_count_fields_accept_text_and_reject_nonsense() -> None:
    assert latitude({"lat": "37.7867"}) == 37.7867
    assert latitude({"lat": -12}) == -12.0
    bad_latitudes: list[object] = ["abc", "nan", "inf", True, [1], "91"]
    for bad_latitude in bad_latitudes:
        with pytest.raises(BadRequest, match="lat"):
            latitude({"lat": bad_latitude})
    with pytest.raises(BadRequest, match="missing lon"):
        number_field({"lon": ""}, "lon", -180, 180)
    assert count_field({}, "number", default=1) == 1
    assert count_field({"number": "3"}, "number") == 3
    assert count_field({"number": 2}, "number") == 2
    bad_counts: list[object] = ["0", "-1", "1.5", "²", True, 2.0, "1001"]
    for bad_count in bad_counts:
        with pytest.raises(BadRequest, match="number"):
            count_field({"number": bad_count}, "number")
    with pytest.raises(BadRequest, match="missing number"):
        count_field({}, "number")


def test_hotel_ids_are_checked_and_deduplicated() -> None:
    assert hotel_ids_field({"hotelIds": ["3", "1", "3"]}) == ["3", "1"]
    assert hotel_ids_field({"hotelIds": []}) == []
    for bad in ("1", ["a b"], [1], ["x" * 65], [""], ["1_2015-04-09\r\n"]):
        with pytest.raises(BadRequest, match="hotelIds"):
            hotel_ids_field({"hotelIds": bad})
    with pytest.raises(BadRequest, match="more than 100"):
        hotel_ids_field({"hotelIds": [str(i) for i in range(101)]})


# --------------------------------------------------------------------------- answers of the services


def test_geojson_has_one_point_per_hotel_lon_first() -> None:
    hotels = [
        {
            "id": "1",
            "name": "Geary Court Hotel",
            "phoneNumber": "(415) 555-0101",
            "address": {"lat": 37.7867, "lon": -122.4112},
        },
        {"id": "9", "name": "Bay Inn 9", "phoneNumber": "(415) 555-1009", "address": {"lat": 37.8375, "lon": -122.338}},
    ]
    collection = hotels_geojson(hotels)
    assert collection["type"] == "FeatureCollection"
    first, second = collection["features"]
    assert first == {
        "type": "Feature",
        "id": "1",
        "properties": {"name": "Geary Court Hotel", "phone_number": "(415) 555-0101"},
        "geometry": {"type": "Point", "coordinates": [-122.4112, 37.7867]},
    }
    assert second["id"] == "9" and second["geometry"]["coordinates"] == [-122.338, 37.8375]
    assert hotels_geojson([]) == {"type": "FeatureCollection", "features": []}


def _plan(hotel: str, code: str, start: str, end: str, bookable: float) -> rate.RatePlan:
    return {
        "hotelId": hotel,
        "code": code,
        "inDate": start,
        "outDate": end,
        "roomType": {"bookableRate": bookable, "totalRate": bookable, "totalRateInclusive": bookable * 1.13},
    }


def test_rate_plans_for_a_stay_are_the_overlapping_ones_cheapest_first() -> None:
    plans = {
        "1": [_plan("1", "RACK", "2015-04-09", "2015-04-24", 109), _plan("1", "EARLY", "2015-04-09", "2015-04-13", 89)],
        "2": [_plan("2", "RACK", "2015-04-09", "2015-04-24", 139)],
        "6": [_plan("6", "RACK", "2015-04-20", "2015-04-24", 99)],
    }
    early = Stay(date(2015, 4, 10), date(2015, 4, 12))
    chosen = rate.plans_for_stay(plans, ["2", "1", "6", "7"], early)
    assert [(p["hotelId"], p["code"]) for p in chosen] == [("1", "EARLY"), ("1", "RACK"), ("2", "RACK")]
    late = Stay(date(2015, 4, 19), date(2015, 4, 21))
    assert [p["hotelId"] for p in rate.plans_for_stay(plans, ["1", "2", "6"], late)] == ["6", "1", "2"]
    assert rate.plans_for_stay(plans, ["1"], Stay(date(2015, 5, 1), date(2015, 5, 2))) == []
    assert search.hotels_with_plans(chosen) == ["1", "2"]


def test_rate_release_1_1_warms_its_cache_at_start_from_the_wrong_port(monkeypatch: pytest.MonkeyPatch) -> None:
    env = {"DATABASE_ADDR": "postgres-rate:5432", "DATABASE_NAME": "rate", "DATABASE_USER": "rate"}
    warm_up = rate.warm_up_database(env)
    assert (warm_up.address.configured, warm_up.name, warm_up.user) == ("postgres-rate:27017", "rate", "rate")
    for name, value in {**env, "MEMCACHED_ADDR": "memcached-rate:11211"}.items():
        monkeypatch.setenv(name, value)
    assert rate.warm_cache in rate.create_app(warm=True).on_startup
    assert rate.warm_cache not in rate.create_app().on_startup
    images = yaml.safe_load((APPS / "images.yaml").read_text())["images"]
    assert images["remedlab/hotel-reservation-rate"]["binaries"]["rate"][-1] == rate.WARM_CACHE_FLAG


def test_search_rejects_rate_plans_without_hotels() -> None:
    with pytest.raises(UpstreamError, match="rate: a rate plan has no hotelId"):
        search.hotels_with_plans([{"code": "RACK"}])


def test_reservation_counts_rooms_per_night_against_capacity() -> None:
    nights = Stay(date(2015, 4, 9), date(2015, 4, 12)).nights
    assert reservation.count_key("7", nights[0]) == "7_2015-04-09"
    assert reservation.capacity_key("7") == "7_cap"
    taken = {date(2015, 4, 10): 199}
    assert reservation.has_room(taken, 200, nights, 1)
    assert not reservation.has_room(taken, 200, nights, 2)  # the 10th would hold 201
    assert reservation.has_room({}, 200, nights, 200)
    assert not reservation.has_room({}, None, nights, 1)  # a hotel without a capacity has no room
    known = reservation.Occupancy({("1", date(2015, 4, 11)): 300}, {"1": 300, "2": 200})
    assert not known.has_room("1", nights, 1)
    assert known.has_room("1", nights[:2], 1)
    assert known.has_room("2", nights, 200)
    assert not known.has_room("3", nights, 1)


def test_user_passwords_compare_by_sha256() -> None:
    stored = hashlib.sha256(("7" * 10).encode()).hexdigest()
    assert user.password_hash("7777777777") == stored
    assert user.matches(stored, "7" * 10)
    assert user.matches(stored.upper(), "7" * 10)
    assert not user.matches(stored, "7" * 9)
    assert not user.matches(None, "7" * 10)  # unknown user


# --------------------------------------------------------------------------- failures and the frontend


def run(coro: Awaitable[Any]) -> Any:
    async def wrapped() -> Any:
        return await coro

    return asyncio.run(wrapped())


def test_failures_answer_json_naming_the_store_or_service(capsys: pytest.CaptureFixture[str]) -> None:
    log = get_logger("geo")

    async def fails(exc: Exception) -> Any:
        raise exc

    async def works() -> Any:
        return {"hotelIds": ["1"]}

    def status_and_body(work: Awaitable[Any]) -> tuple[int, Any]:
        response: web.Response = run(answer(log, work))
        assert response.text is not None
        return response.status, json.loads(response.text)

    assert status_and_body(works()) == (200, {"hotelIds": ["1"]})
    assert status_and_body(fails(BadRequest("missing lat"))) == (400, {"error": "missing lat"})
    assert capsys.readouterr().out == ""  # a bad request is the caller's fault: nothing logged

    store_down = StoreError("postgres-geo", "cannot reach the database", kind="connect_error")
    status, body = status_and_body(fails(store_down))
    assert (status, body["store"]) == (500, "postgres-geo")
    (line,) = [json.loads(raw) for raw in capsys.readouterr().out.splitlines()]
    assert line["level"] == "error" and line["store"] == "postgres-geo" and line["kind"] == "connect_error"
    assert line["error"]["type"] == "StoreError"

    status, body = status_and_body(fails(UpstreamError("rate", 500, detail="postgres-rate: denied")))
    assert (status, body["service"]) == (500, "rate")
    assert "postgres-rate: denied" in body["error"]
    (line,) = [json.loads(raw) for raw in capsys.readouterr().out.splitlines()]
    assert line["upstream"] == "rate" and line["status"] == 500


def with_frontend(
    monkeypatch: pytest.MonkeyPatch, check: Callable[[TestClient[web.Request, web.Application]], Awaitable[None]]
) -> None:
    for name in SERVICE_PORTS:
        monkeypatch.delenv(f"{name.upper()}_SERVICE_HOST", raising=False)
        monkeypatch.delenv(f"{name.upper()}_SERVICE_PORT", raising=False)
    monkeypatch.setenv("REMEDLAB_POD_IP", "")

    async def session() -> None:
        async with TestClient(TestServer(frontend.create_app())) as client:
            await check(client)

    run(session())


def test_frontend_answers_400_for_bad_parameters(monkeypatch: pytest.MonkeyPatch) -> None:
    async def check(client: TestClient[web.Request, web.Application]) -> None:
        cases = {
            "/hotels?inDate=2015-04-09&lat=37.7&lon=-122.4": "missing outDate",
            "/hotels?inDate=2015-04-09&outDate=2015-04-10&lat=north&lon=-122.4": "lat must be a number",
            "/recommendations?require=stars&lat=37.7&lon=-122.4": "require must be one of",
            "/user?username=Cornell_1": "missing password",
            "/reservation?inDate=2015-04-09&outDate=2015-04-10&customerName=a&username=a&password=b": "hotelId",
        }
        for path, message in cases.items():
            resp = await client.get(path)
            assert resp.status == 400, path
            assert message in (await resp.json())["error"]
        resp = await client.post("/reservation", data={"inDate": "2015-04-09", "outDate": "2015-04-10", "hotelId": "1"})
        assert resp.status == 400 and (await resp.json())["error"] == "missing customerName"

    with_frontend(monkeypatch, check)


def test_frontend_names_the_service_it_cannot_reach(monkeypatch: pytest.MonkeyPatch) -> None:
    async def check(client: TestClient[web.Request, web.Application]) -> None:
        calls = {
            "/hotels?inDate=2015-04-09&outDate=2015-04-10&lat=37.7867&lon=-122.4112": "search",
            "/recommendations?require=dis&lat=37.7867&lon=-122.4112": "recommendation",
            "/user?username=Cornell_1&password=1111111111": "user",
        }
        for path, service in calls.items():
            resp = await client.get(path)
            body = await resp.json()
            assert resp.status == 500 and body["service"] == service
            assert "SERVICE_HOST" in body["error"]

    with_frontend(monkeypatch, check)


# --------------------------------------------------------------------------- manifests


def documents() -> list[dict[str, Any]]:
    return app_manifests(APP)


def test_manifests_validate_and_services_come_first() -> None:
    docs = documents()
    assert docs[0]["kind"] == "Namespace" and docs[0]["metadata"]["name"] == "hotel-reservation"
    for doc in docs:
        validate_object(doc)
        assert doc["metadata"].get("namespace", "hotel-reservation") == "hotel-reservation"
    kinds = [doc["kind"] for doc in docs]
    last_service = max(i for i, kind in enumerate(kinds) if kind == "Service")
    assert last_service < kinds.index("Deployment")
    # what a pod mounts exists before it
    first_deployment = kinds.index("Deployment")
    assert all(i < first_deployment for i, kind in enumerate(kinds) if kind in ("ConfigMap", "Secret"))
    names = {(doc["kind"], doc["metadata"]["name"]) for doc in docs}
    expected_services = {*SERVICE_PORTS, *(f"postgres-{db}" for db in DATABASES), *CACHES.values()}
    assert {name for kind, name in names if kind == "Service"} == expected_services
    assert {name for kind, name in names if kind == "Deployment"} == expected_services


def _by_kind(kind: str) -> dict[str, dict[str, Any]]:
    return {doc["metadata"]["name"]: doc for doc in documents() if doc["kind"] == kind}


def _env(container: dict[str, Any]) -> dict[str, Any]:
    return {item["name"]: item.get("value", item.get("valueFrom")) for item in container.get("env", [])}


def test_service_deployments_run_their_program_with_probes_and_store_settings() -> None:
    deployments, services, secrets = _by_kind("Deployment"), _by_kind("Service"), _by_kind("Secret")
    images = yaml.safe_load((APPS / "images.yaml").read_text())["images"]
    for name, port in SERVICE_PORTS.items():
        (svc_port,) = services[name]["spec"]["ports"]
        assert svc_port["port"] == svc_port["targetPort"] == port
        assert services[name]["spec"]["selector"] == {"app": name}
        pod = deployments[name]["spec"]["template"]
        assert pod["metadata"]["labels"] == {"app": name}
        assert pod["metadata"]["annotations"]["prometheus.io/port"] == str(port)
        (container,) = pod["spec"]["containers"]
        assert container["image"] == "remedlab/hotel-reservation:1.0"
        assert container["command"] == [name] and name in images["remedlab/hotel-reservation"]["binaries"]
        assert [p["containerPort"] for p in container["ports"]] == [port]
        assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": port}
        assert container["readinessProbe"]["periodSeconds"] == 1
        assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": port}
        assert container["resources"] == {
            "requests": {"cpu": "50m", "memory": "64Mi"},
            "limits": {"cpu": "1", "memory": "256Mi"},
        }
        env = _env(container)
        names = [item["name"] for item in container["env"]]
        assert names.index("HOST_IP") < names.index("OTEL_EXPORTER_OTLP_ENDPOINT")
        assert env["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://$(HOST_IP):4318"
        if name in DATABASES:
            assert env["DATABASE_ADDR"] == f"postgres-{name}:5432" and env["DATABASE_NAME"] == DB_NAMES[name]
            assert env["DATABASE_SSLMODE"] == "disable"  # plain TCP, as the original's clients
            for variable, key in (("DATABASE_USER", "username"), ("DATABASE_PASSWORD", "password")):
                assert env[variable]["secretKeyRef"] == {"name": f"{name}-db-credentials", "key": key}
            assert secrets[f"{name}-db-credentials"]["stringData"]["username"] == DB_NAMES[name]
        else:
            assert "DATABASE_ADDR" not in env
        assert env.get("MEMCACHED_ADDR") == (f"{CACHES[name]}:11211" if name in CACHES else None)


def test_databases_are_seeded_postgres_on_volumes() -> None:
    deployments, config_maps, claims = _by_kind("Deployment"), _by_kind("ConfigMap"), _by_kind("PersistentVolumeClaim")
    for db in DATABASES:
        deployment = deployments[f"postgres-{db}"]
        assert deployment["spec"]["strategy"] == {"type": "Recreate"}
        pod = deployment["spec"]["template"]["spec"]
        (container,) = pod["containers"]
        assert container["image"] == "remedlab/postgres:15"
        assert container["args"] == ["-c", "shared_buffers=16MB", "-c", "max_connections=40"]
        assert container["readinessProbe"]["tcpSocket"] == {"port": 5432}
        assert container["livenessProbe"]["tcpSocket"] == {"port": 5432}
        env = _env(container)
        assert env["POSTGRES_DB"] == DB_NAMES[db]
        assert env["POSTGRES_USER"]["secretKeyRef"] == {"name": f"{db}-db-credentials", "key": "username"}
        volumes = {v["name"]: v for v in pod["volumes"]}
        assert volumes["data"]["persistentVolumeClaim"]["claimName"] in claims
        seed = config_maps[volumes["seed"]["configMap"]["name"]]
        mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
        assert mounts["seed"] == "/docker-entrypoint-initdb.d"
        (sql,) = seed["data"].values()
        assert "CREATE TABLE" in sql
        # the repair scripts and the app's data files, for `kubectl exec ... sh /scripts/...`
        assert (mounts["scripts"], mounts["app-data"]) == ("/scripts", "/app-data")
        assert volumes["scripts"]["configMap"]["name"] == "mitigate-db"
        assert volumes["app-data"]["configMap"]["name"] == "hotel-data"
    scripts = config_maps["mitigate-db"]["data"]
    assert sorted(scripts) == ["allow-non-tls.sh", "recreate-user.sh", "restore-data.sh", "restore-grants.sh"]
    for cache in CACHES.values():
        (container,) = deployments[cache]["spec"]["template"]["spec"]["containers"]
        assert container["image"] == "remedlab/memcached:1.6"
        assert container["readinessProbe"]["tcpSocket"] == {"port": 11211}


def test_services_read_the_tables_their_database_creates_and_the_install_fills() -> None:
    config_maps = {doc["metadata"]["name"]: doc["data"] for doc in documents() if doc["kind"] == "ConfigMap"}
    tables = {
        "geo": ["points"],
        "rate": ["rate_plans"],
        "profile": ["hotels"],
        "recommendation": ["hotels"],
        "reservation": ["reservations", "capacity"],
        "user": ["users"],
    }
    data = config_maps["hotel-data"]
    for db, wanted in tables.items():
        schema = "".join(config_maps[f"postgres-{db}-seed"].values())
        assert "INSERT" not in schema  # the database creates the tables; the app's data comes at install
        for table in wanted:
            assert f"CREATE TABLE {table} (" in schema
        loaded = data[f"{DB_NAMES[db]}.sql"]
        # loaded only into an empty table, so that running it again is safe
        assert f"SELECT NOT EXISTS (SELECT 1 FROM {wanted[-1]}) AS empty \\gset\n\\if :empty\n" in loaded
        assert f"INSERT INTO {wanted[-1]} " in loaded
    assert "sha256(convert_to(repeat(i::text, 10), 'UTF8'))" in data["users.sql"]
    assert "generate_series(0, 500)" in data["users.sql"]


def test_the_install_loads_each_database_as_its_service_and_goes() -> None:
    (job,) = _by_kind("Job").values()
    assert job["metadata"]["name"] == "load-data" and job["spec"]["ttlSecondsAfterFinished"] == 0
    pod = job["spec"]["template"]["spec"]
    assert pod["restartPolicy"] == "OnFailure"
    assert pod["volumes"] == [{"name": "data", "configMap": {"name": "hotel-data"}}]
    containers = {c["name"]: c for c in pod["containers"]}
    assert sorted(containers) == sorted(f"load-{db}" for db in DATABASES)
    for db in DATABASES:
        container = containers[f"load-{db}"]
        assert container["command"] == ["sh", "/app-data/load-data.sh"]
        env = _env(container)
        assert (env["DATABASE_ADDR"], env["DATABASE_NAME"]) == (f"postgres-{db}:5432", DB_NAMES[db])
        assert env["DATABASE_PASSWORD"]["secretKeyRef"] == {"name": f"{db}-db-credentials", "key": "password"}


def test_catalog_entry_points_at_the_frontend() -> None:
    assert APP.namespace == "hotel-reservation"
    assert APP.entry["service"] == "frontend" and APP.entry["port"] == 5000
    assert APP.entry["path"].startswith("/hotels?")


# --------------------------------------------------------------------------- workload


def test_workload_is_the_original_mix_with_valid_credentials() -> None:
    mix = load_app_mix(APP)
    assert (mix.service, mix.port) == ("frontend", 5000)
    assert mix.shares() == pytest.approx({"search": 0.6, "recommend": 0.39, "login": 0.005, "reserve": 0.005})
    rng = random.Random(11)
    specs = {spec.name: spec for spec in mix.requests}
    for _ in range(200):
        for name, spec in specs.items():
            rendered = spec.render(rng)
            path, _, query_string = rendered.path.partition("?")
            query = dict(item.split("=", 1) for item in query_string.split("&"))
            if name in ("search", "recommend", "reserve"):
                assert 38.0235 - 0.2405 <= float(query["lat"]) <= 38.0235 + 0.2405
                assert -122.095 - 0.157 <= float(query["lon"]) <= -122.095 + 0.168
            if name in ("search", "reserve"):
                nights = stay_field(query).nights
                assert date(2015, 4, 9) <= nights[0] and nights[-1] <= date(2015, 4, 23)
            if name in ("login", "reserve"):
                assert rendered.method == "POST"
                number = query["username"].removeprefix("Cornell_")
                assert 0 <= int(number) <= 500 and query["password"] == number * 10
            if name == "reserve":
                assert 1 <= int(query["hotelId"]) <= 80 and query["number"] == "1"
                assert query["customerName"] == query["username"]
            if name == "recommend":
                assert query["require"] in REQUIREMENTS
            assert (
                path
                == {"search": "/hotels", "recommend": "/recommendations", "login": "/user", "reserve": "/reservation"}[
                    name
                ]
            )
