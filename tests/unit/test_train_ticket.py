"""Train-Ticket: the seeded data, the services' pure logic, handlers on an in-memory store, the
manifests, the catalog entry and the workload mix."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from remedlab.apps.catalog import app_manifests, get_app
from remedlab.apps.stores import mariadb
from remedlab.apps.train_ticket import cancel, gateway, order, payment, preserve_parts, query, seed, tokens
from remedlab.apps.train_ticket.docstore import DocStore
from remedlab.apps.train_ticket.service_base import Context, Refused, Route, service_specs
from remedlab.observe.workload.mix import load_app_mix

NS = "train-ticket"


# --------------------------------------------------------------------------- data


def test_seed_is_deterministic_and_consistent() -> None:
    assert seed.rows_for("trip") == seed.rows_for("trip")
    stations = {s["id"] for s in seed.rows_for("station")}
    trains = {t["name"] for t in seed.rows_for("train_type")}
    routes = {r["id"]: r for r in seed.rows_for("route")}
    for route in routes.values():
        assert set(route["stations"]) <= stations
        assert route["distances"] == sorted(route["distances"]) and route["distances"][0] == 0
    trips = seed.rows_for("trip") + seed.rows_for("trip2")
    assert {t["tripId"][0] for t in seed.rows_for("trip")} <= {"G", "D"}
    assert not {t["tripId"][0] for t in seed.rows_for("trip2")} & {"G", "D"}
    for trip in trips:
        assert trip["routeId"] in routes and trip["trainTypeName"] in trains
    priced = {(p["routeId"], p["trainType"]) for p in seed.rows_for("price_config")}
    assert all((t["routeId"], t["trainTypeName"]) in priced for t in trips)


def test_seed_users_accounts_and_contacts_line_up() -> None:
    users = seed.users()
    assert users[0].name == "fdse_microservice" and users[1].roles == ("ROLE_ADMIN",)
    assert users[2].user_id == seed.generated_user_id(0) == "00000000-0000-4000-8000-000000000000"
    assert seed.contact_id(users[2].user_id) == "00000000-0000-4000-9000-000000000000"
    ids = {u.user_id for u in users}
    assert len(ids) == len(users) == 52
    assert {c["accountId"] for c in seed.rows_for("contacts")} == ids
    assert {a["userId"] for a in seed.rows_for("auth_user")} == ids
    assert all(m["money"] == "10000" for m in seed.rows_for("money"))
    assert seed.rows_for("no-such-table") == []
    assert len(seed.rows_for("train_food")) == len(seed.parameters()["trips"])
    assert len(seed.rows_for("station_food")) == 2 * len(seed.rows_for("station"))


# --------------------------------------------------------------------------- pure logic


def test_tokens_round_trip_and_refuse_forgeries_and_expiry() -> None:
    token = tokens.issue("u1", "alice", ["ROLE_USER"], now=1000.0)
    claims = tokens.verify(token, now=1001.0)
    assert (claims.user_id, claims.username, claims.roles) == ("u1", "alice", ("ROLE_USER",))
    with pytest.raises(Refused, match="expired"):
        tokens.verify(token, now=1000.0 + tokens.LIFETIME_S + 1)
    body, _, signature = token.partition(".")
    with pytest.raises(Refused, match="invalid"):
        tokens.verify(body + "." + signature[::-1])


def test_segments_overlaps_and_sold_tickets() -> None:
    stations = ["a", "b", "c", "d"]
    route: dict[str, Any] = {"id": "r", "stations": stations, "distances": [0, 100, 250, 400]}
    assert query.segment_distance(route, "b", "d") == 300
    with pytest.raises(Refused):
        query.segment_distance(route, "d", "a")
    assert query.overlaps(stations, "a", "c", "b", "d")
    assert not query.overlaps(stations, "a", "b", "b", "d")
    orders = [
        {"travelDate": "d1", "trainNumber": "G1", "seatNumber": "7", "from": "a", "to": "b", "status": 1},
        {"travelDate": "d1", "trainNumber": "G1", "seatNumber": "8", "from": "a", "to": "b", "status": 4},
        {"travelDate": "d2", "trainNumber": "G1", "seatNumber": "9", "from": "a", "to": "b", "status": 0},
    ]
    assert order.sold_tickets(orders, "d1", "G1") == [{"seatNo": 7, "startStation": "a", "destStation": "b"}]
    assert query.order_base("G1234")[0] == "ts-order-service"
    assert query.order_base("Z1234") == ("ts-order-other-service", "/api/v1/orderOtherService/orderOther")


def test_security_counts_balance_refund_and_consign_price() -> None:
    now = 10 * order.HOUR_MS
    orders = [
        {"accountId": "u", "status": 0, "boughtDate": now - 1000},
        {"accountId": "u", "status": 4, "boughtDate": now - 2 * order.HOUR_MS},
        {"accountId": "v", "status": 1, "boughtDate": now},
    ]
    assert order.security_counts(orders, "u", now) == {"orderNumInLastOneHour": 1, "orderNumOfValidOrder": 1}
    money = [{"userId": "u", "money": "100"}, {"userId": "u", "money": "20.5"}]
    paid = [{"userId": "u", "price": "30", "type": "P"}, {"userId": "u", "price": "50", "type": "O"}]
    assert payment.balance(money, paid, "u") == Decimal("90.5")
    assert cancel.refund_of({"status": 0, "price": "100"}) == 0
    assert cancel.refund_of({"status": 1, "price": "494"}) == Decimal("395.20")
    config = seed.rows_for("consign_price")[0]
    assert preserve_parts.consign_price(config, 1.0, True) == 2.0
    assert preserve_parts.consign_price(config, 3.0, False) == 2.0 + 2 * 4.0


def test_the_gateway_routes_every_prefix_to_its_service() -> None:
    table = gateway.route_table()
    assert gateway.target_of("/api/v1/travelservice/trips/left", table) == "ts-travel-service"
    assert gateway.target_of("/api/v1/users/login", table) == "ts-auth-service"
    assert gateway.target_of("/api/v1/inside_pay_service/inside_payment", table) == "ts-inside-payment-service"
    assert gateway.target_of("/api/v1/nothing/here", table) is None
    assert gateway.target_of("/other", table) is None
    assert len(set(table.values())) == 44  # all but the gateway and the dashboard


# --------------------------------------------------------------------------- handlers on an in-memory store


class MemoryStore(DocStore):
    def __init__(self, tables: dict[str, list[dict[str, Any]]]) -> None:
        self.tables = {name: {str(d["id"]): dict(d) for d in docs} for name, docs in tables.items()}

    async def all(self, table: str) -> list[dict[str, Any]]:
        return [dict(d) for d in self.tables.setdefault(table, {}).values()]

    async def get(self, table: str, doc_id: str) -> dict[str, Any] | None:
        found = self.tables.setdefault(table, {}).get(doc_id)
        return dict(found) if found else None

    async def put(self, table: str, doc: dict[str, Any]) -> dict[str, Any]:
        self.tables.setdefault(table, {})[str(doc["id"])] = dict(doc)
        return doc

    async def delete(self, table: str, doc_id: str) -> bool:
        self.tables.setdefault(table, {}).pop(doc_id, None)
        return True


def _run(service: str, method: str, path: str, tables: dict[str, list[dict[str, Any]]]) -> Any:
    """The envelope a service's handler answers (a refusal raises :class:`Refused`), on an in-memory store."""
    spec = service_specs()[service]
    module = {"order": order, "query": query}[spec.module]
    program = module.program(spec)
    ctx = Context(spec, MemoryStore(tables))
    results: list[Any] = []

    def bind(route: Route) -> Any:
        async def handle(request: web.Request) -> web.Response:
            try:
                results.append(await route.handler(ctx, request))
            except Refused as exc:
                results.append(exc)
            return web.Response()

        return handle

    async def call() -> None:
        app = web.Application()
        for route in program.routes:
            app.router.add_route(route.method, route.path, bind(route))
        async with TestClient(TestServer(app)) as client, client.request(method, path) as answer:
            assert answer.status == 200, await answer.text()

    asyncio.run(call())
    if isinstance(results[0], Refused):
        raise results[0]
    return results[0]


def test_station_and_route_handlers_answer_from_their_tables() -> None:
    tables = {"station": seed.rows_for("station")}
    answer = _run("ts-station-service", "GET", "/api/v1/stationservice/stations/id/nanjing", tables)
    assert answer == {"status": 1, "msg": "Success", "data": "nanjing"}
    with pytest.raises(Refused, match="not exist"):
        _run("ts-station-service", "GET", "/api/v1/stationservice/stations/id/atlantis", tables)
    routes = {"route": seed.rows_for("route")}
    route_id = seed.route_id(0)
    found = _run("ts-route-service", "GET", f"/api/v1/routeservice/routes/{route_id}", routes)
    assert found["data"]["stations"][0] == "shanghai"


def test_order_status_changes_and_unknown_orders_are_refused() -> None:
    tables = {"order": [{"id": "o1", "accountId": "u", "status": 0, "price": "10"}]}
    changed = _run("ts-order-service", "GET", "/api/v1/orderservice/order/status/o1/1", tables)
    assert changed["data"]["status"] == 1
    with pytest.raises(Refused, match="Not Found"):
        _run("ts-order-service", "GET", "/api/v1/orderservice/order/nope", tables)


# --------------------------------------------------------------------------- manifests, catalog, workload, store


def test_manifests_have_the_original_names_ports_and_resources() -> None:
    docs = app_manifests(get_app("train-ticket"))
    deployments = {d["metadata"]["name"]: d for d in docs if d["kind"] == "Deployment"}
    broker = deployments.pop("rabbitmq")  # the message broker, beside the 46 services
    assert broker["spec"]["template"]["spec"]["containers"][0]["ports"][0]["containerPort"] == 5672
    assert len(deployments) == 46 and set(deployments) == set(service_specs())
    services = {d["metadata"]["name"] for d in docs if d["kind"] == "Service"}
    assert set(deployments) - services == {"ts-food-delivery-service", "ts-wait-order-service"}
    assert "rabbitmq" in services
    for name, deployment in deployments.items():
        (container,) = deployment["spec"]["template"]["spec"]["containers"]
        assert deployment["spec"]["replicas"] == 1
        assert container["ports"][0]["containerPort"] == service_specs()[name].port
        assert container["readinessProbe"]["tcpSocket"]["port"] == service_specs()[name].port
        expected = (
            ({"cpu": "50m", "memory": "100Mi"}, {"cpu": "500m", "memory": "500Mi"})
            if name == "ts-ui-dashboard"
            else ({"cpu": "100m", "memory": "300Mi"}, {"cpu": "500m", "memory": "2000Mi"})
        )
        assert (container["resources"]["requests"], container["resources"]["limits"]) == expected
    ports = {n: service_specs()[n].port for n in ("ts-gateway-service", "ts-ui-dashboard", "ts-travel-service")}
    assert ports == {"ts-gateway-service": 18888, "ts-ui-dashboard": 8080, "ts-travel-service": 12346}
    stateful = {d["metadata"]["name"]: d for d in docs if d["kind"] == "StatefulSet"}
    assert set(stateful) == {"tsdb-mysql", "nacosdb-mysql"}
    for sts in stateful.values():
        mounts = {m["mountPath"] for m in sts["spec"]["template"]["spec"]["containers"][0]["volumeMounts"]}
        assert "/var/log/mysql" in mounts
    secrets = {d["metadata"]["name"] for d in docs if d["kind"] == "Secret"}
    for spec in service_specs().values():
        if spec.mysql:
            assert f"ts-{spec.short}-mysql" in secrets


def test_catalog_targets_are_microremeds() -> None:
    app = get_app("train-ticket")
    assert app.namespace == NS
    for fault in ("cpu-stress", "memory-stress", "network-delay", "network-loss", "pod-fail", "pod-config-error"):
        assert sorted(app.targets_for(fault)) == sorted(service_specs())
    assert app.targets_for("disk-io") == ["nacosdb-mysql"]


def test_the_workload_mix_loads_and_its_token_is_valid() -> None:
    mix = load_app_mix(get_app("train-ticket"))
    names = {r.name for r in mix.requests}
    assert {"search-travel", "search-travel2", "login", "preserve"} <= names
    preserve = next(r for r in mix.requests if r.name == "preserve")
    assert preserve.headers is not None
    claims = tokens.verify(preserve.headers["Authorization"].removeprefix("Bearer "))
    assert claims.user_id == seed.generated_user_id(0)
    # the services behind paying, cancelling and the admin's views get traffic too
    assert {"refund-quote", "accounts", "payments", "travel-plans", "admin-routes"} <= names
    admin = next(r for r in mix.requests if r.name == "admin-routes")
    assert admin.headers is not None
    assert "ROLE_ADMIN" in tokens.verify(admin.headers["Authorization"].removeprefix("Bearer ")).roles


def test_mariadb_init_sql_sets_root_and_makes_the_database() -> None:
    sql = mariadb.init_sql(
        {"MYSQL_ROOT_PASSWORD": "p'w", "MYSQL_DATABASE": "ts", "MYSQL_USER": "u", "MYSQL_PASSWORD": "x"}
    )
    assert "CREATE DATABASE IF NOT EXISTS `ts`;" in sql
    assert "IDENTIFIED BY 'p''w'" in sql and "'root'@'127.0.0.1'" in sql
    assert "GRANT ALL ON `ts`.* TO 'u'@'%';" in sql
