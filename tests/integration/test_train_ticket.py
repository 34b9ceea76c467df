"""Train-Ticket on the embedded cluster: every Deployment Ready, a booking from login to cancellation
through the gateway, a reservation's trace, the mixed workload, and how disk-io on the databases and
cpu-stress on travel show to users."""

from __future__ import annotations

import json
import statistics
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from remedlab.apps.train_ticket import seed, tokens
from tests.integration.http_probe import deployed_app, new_traceparent, trace_with_servers
from tests.integration.kubectl_harness import Kubectl
from tests.integration.load_harness import check_mix_answered
from tests.integration.server_harness import ServerProcess

pytestmark = pytest.mark.integration

NS = "train-ticket"
DATE = "2030-01-15"


@dataclass
class Reply:
    status: int
    body: Any
    seconds: float


@dataclass
class TrainTicket:
    server: ServerProcess
    url: str

    def call(
        self, method: str, path: str, body: Any = None, *, token: str = "", headers: dict[str, str] | None = None
    ) -> Reply:
        sent = dict(headers or {})
        if token:
            sent["Authorization"] = f"Bearer {token}"
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            sent["Content-Type"] = "application/json"
        request = urllib.request.Request(self.url + path, data=data, method=method, headers=sent)
        started = time.perf_counter()
        try:
            with urllib.request.urlopen(request, timeout=30) as resp:
                text, status = resp.read().decode(), resp.status
        except urllib.error.HTTPError as exc:
            text, status = exc.read().decode(errors="replace"), exc.code
        try:
            decoded: Any = json.loads(text)
        except ValueError:
            decoded = text
        return Reply(status, decoded, time.perf_counter() - started)

    def ok(self, method: str, path: str, body: Any = None, **options: Any) -> Any:
        reply = self.call(method, path, body, **options)
        assert reply.status == 200 and isinstance(reply.body, dict) and reply.body["status"] == 1, (path, reply)
        return reply.body["data"]

    def login(self, username: str, password: str) -> dict[str, Any]:
        found: dict[str, Any] = self.ok(
            "POST", "/api/v1/users/login", {"username": username, "password": password, "verificationCode": ""}
        )
        return found


@pytest.fixture(scope="module")
def train() -> Iterator[TrainTicket]:
    with deployed_app(NS, "ts-gateway-service", 18888) as (server, url):
        yield TrainTicket(server, url)


def test_every_deployment_is_ready_with_the_original_shape(train: TrainTicket) -> None:
    deployments = train.server.items("deployments", NS)
    names = {d["metadata"]["name"] for d in deployments}
    assert len({n for n in names if n.startswith("ts-")}) == 46 and names - {"rabbitmq"} == {
        n for n in names if n.startswith("ts-")
    }, sorted(names)
    for d in deployments:
        assert d["spec"]["replicas"] == 1 and d["status"].get("readyReplicas") == 1, d["metadata"]["name"]
    services = {s["metadata"]["name"] for s in train.server.items("services", NS)}
    assert {"tsdb-mysql", "nacosdb-mysql", "rabbitmq", "ts-gateway-service", "ts-ui-dashboard"} <= services
    assert not {"ts-food-delivery-service", "ts-wait-order-service"} & services
    dashboard = TrainTicket(
        train.server, f"http://{train.server.get('services', NS, 'ts-ui-dashboard')['spec']['clusterIP']}:8080"
    )
    page = dashboard.call("GET", "/")
    assert page.status == 200 and "Train Ticket" in str(page.body)
    assert len(dashboard.ok("GET", "/api/v1/stationservice/stations")) == 13  # through the gateway


def _booking(user_id: str, trip_id: str, start: str, end: str) -> dict[str, Any]:
    return {
        "accountId": user_id,
        "contactsId": seed.contact_id(user_id),
        "tripId": trip_id,
        "seatType": 3,
        "date": DATE,
        "from": start,
        "to": end,
        "assurance": 1,
        "foodType": 1,
        "foodName": "Bone Soup",
        "foodPrice": 2.5,
        "stationName": "",
        "storeName": "",
        "consigneeName": "Jack",
        "consigneePhone": "13800000000",
        "consigneeWeight": 3.0,
        "isWithin": False,
    }


def _row_of(train: TrainTicket, path: str, order_id: str, key: str = "orderId") -> dict[str, Any] | None:
    return next((row for row in train.ok("GET", path) if row.get(key) == order_id), None)


def test_login_query_preserve_pay_cancel(train: TrainTicket) -> None:
    user = seed.users()[0]
    session = train.login(user.name, user.password)
    assert session["userId"] == user.user_id and session["token"]
    refused = train.call("POST", "/api/v1/users/login", {"username": user.name, "password": "wrong"})
    assert refused.status == 200 and refused.body["status"] == 0

    trips = train.ok(
        "POST",
        "/api/v1/travelservice/trips/left",
        {"startPlace": "shanghai", "endPlace": "taiyuan", "departureTime": DATE},
    )
    assert {t["tripId"] for t in trips} == {"G1234", "G1235", "G1236", "G1237", "D1345"}
    g1234 = next(t for t in trips if t["tripId"] == "G1234")
    assert g1234["priceForEconomyClass"] == round(1300 * 0.38, 2) and g1234["economyClass"] > 0
    others = train.ok(
        "POST",
        "/api/v1/travel2service/trips/left",
        {"startPlace": "shanghai", "endPlace": "taiyuan", "departureTime": DATE},
    )
    assert {t["tripId"] for t in others} == {"Z1234", "Z1235", "Z1236", "T1235", "K1345"}

    foods = train.ok("GET", f"/api/v1/foodservice/foods/{DATE}/shanghai/taiyuan/G1234")
    assert len(foods["trainFoodList"]) == 3
    assert list(foods["foodStoreListMap"]) == ["shanghai", "nanjing", "shijiazhuang", "taiyuan"]
    assert all(len(stores) == 2 for stores in foods["foodStoreListMap"].values())

    booking = _booking(user.user_id, "G1234", "shanghai", "taiyuan")
    order = train.ok("POST", "/api/v1/preserveservice/preserve", booking, token=session["token"])
    assert order["status"] == 0 and order["price"] == str(g1234["priceForEconomyClass"])
    assert order["from"] == "shanghai" and order["to"] == "taiyuan"
    mine = train.ok("POST", "/api/v1/orderservice/order/refresh", {"loginId": user.user_id}, token=session["token"])
    assert order["id"] in {o["id"] for o in mine}
    assert train.ok("GET", "/api/v1/assuranceservice/assurances/types")
    assert train.ok("GET", f"/api/v1/consignservice/consigns/order/{order['id']}")[0]["consignee"] == "Jack"
    # through RabbitMQ: food's delivery reaches ts-delivery-service, preserve's e-mail ts-notification-service
    delivered = train.server.wait_for(
        lambda: _row_of(train, "/api/v1/deliveryservice/deliveries", order["id"]), timeout=15, what="the delivery"
    )
    assert delivered["foodName"] == "Bone Soup", delivered
    notified = train.server.wait_for(
        lambda: _row_of(train, "/api/v1/notifyservice/notifications", order["id"], key="orderNumber"),
        timeout=15,
        what="the notification",
    )
    assert notified["username"] == user.name and notified["startPlace"] == "shanghai", notified

    train.ok(
        "POST",
        "/api/v1/inside_pay_service/inside_payment",
        {"userId": user.user_id, "orderId": order["id"], "tripId": "G1234"},
    )
    assert train.ok("GET", f"/api/v1/orderservice/order/{order['id']}")["status"] == 1
    again = train.call(
        "POST",
        "/api/v1/inside_pay_service/inside_payment",
        {"userId": user.user_id, "orderId": order["id"], "tripId": "G1234"},
    )
    assert again.body["status"] == 0, again

    refund = train.ok("GET", f"/api/v1/cancelservice/cancel/refound/{order['id']}")
    assert float(refund) == round(float(order["price"]) * 0.8, 2)
    train.ok("GET", f"/api/v1/cancelservice/cancel/{order['id']}/{user.user_id}")
    assert train.ok("GET", f"/api/v1/orderservice/order/{order['id']}")["status"] == 4

    # the order-other side: a Z train through preserve-other
    other = train.ok(
        "POST",
        "/api/v1/preserveotherservice/preserveOther",
        _booking(user.user_id, "Z1234", "nanjing", "taiyuan"),
        token=session["token"],
    )
    assert train.ok("GET", f"/api/v1/orderOtherService/orderOther/{other['id']}")["trainNumber"] == "Z1234"

    admin = seed.users()[1]
    admin_token = train.login(admin.name, admin.password)["token"]
    orders = train.ok("GET", "/api/v1/adminorderservice/adminorder", token=admin_token)
    assert {order["id"], other["id"]} <= {o["id"] for o in orders}
    forbidden = train.call("GET", "/api/v1/adminorderservice/adminorder", token=session["token"])
    assert forbidden.body["status"] == 0


def test_collect_enter_and_rebook(train: TrainTicket) -> None:
    user = seed.users()[3]
    token = train.login(user.name, user.password)["token"]
    order = train.ok(
        "POST", "/api/v1/preserveservice/preserve", _booking(user.user_id, "G1234", "shanghai", "taiyuan"), token=token
    )
    payment = {"userId": user.user_id, "orderId": order["id"], "tripId": "G1234"}
    train.ok("POST", "/api/v1/inside_pay_service/inside_payment", payment)
    collected = train.ok(
        "POST", "/api/v1/preserveservice/preserve", _booking(user.user_id, "G1236", "shanghai", "nanjing"), token=token
    )
    train.ok("POST", "/api/v1/inside_pay_service/inside_payment", payment | {"orderId": collected["id"]})
    train.ok("GET", f"/api/v1/executeservice/execute/collected/{collected['id']}")
    train.ok("GET", f"/api/v1/executeservice/execute/execute/{collected['id']}")
    assert train.ok("GET", f"/api/v1/orderservice/order/{collected['id']}")["status"] == 6
    change = {"loginId": user.user_id, "orderId": order["id"], "oldTripId": "G1234", "seatType": 3, "date": DATE}
    dearer = train.call("POST", "/api/v1/rebookservice/rebook", change | {"tripId": "D1345"})
    assert dearer.body["status"] == 2 and float(dearer.body["data"]) == round(1300 * (0.4 - 0.38), 2), dearer
    changed = train.ok("POST", "/api/v1/rebookservice/rebook", change | {"tripId": "G1235"})
    assert changed["trainNumber"] == "G1235" and changed["status"] == 3
    assert train.ok("GET", f"/api/v1/orderservice/order/{order['id']}")["trainNumber"] == "G1235"
    early = train.call("GET", f"/api/v1/executeservice/execute/execute/{order['id']}")
    assert early.body["status"] == 0, early  # a ticket is collected before it opens the gate
    across = train.call("POST", "/api/v1/rebookservice/rebook", change | {"oldTripId": "G1235", "tripId": "Z1234"})
    assert across.body["status"] == 0, across


def test_a_reservation_trace_shows_the_fan_out(train: TrainTicket) -> None:
    user = seed.users()[2]
    token = train.login(user.name, user.password)["token"]
    trace_id, parent = new_traceparent()
    train.ok(
        "POST",
        "/api/v1/preserveservice/preserve",
        _booking(user.user_id, "G1235", "shanghai", "nanjing"),
        token=token,
        headers={"traceparent": parent},
    )
    expected = {
        "ts-gateway-service",
        "ts-preserve-service",
        "ts-security-service",
        "ts-contacts-service",
        "ts-travel-service",
        "ts-basic-service",
        "ts-seat-service",
        "ts-order-service",
        "ts-assurance-service",
        "ts-food-service",
        "ts-consign-service",
        "ts-user-service",
        "ts-station-service",
    }
    consumers = {"ts-delivery-service", "ts-notification-service"}  # across the broker's queues
    deadline = time.monotonic() + 15
    trace = trace_with_servers(train.server, trace_id, expected)
    while trace is None and time.monotonic() < deadline:
        time.sleep(0.5)
        trace = trace_with_servers(train.server, trace_id, expected)
    assert trace is not None, "the reservation's trace lacks some services"
    deadline = time.monotonic() + 10
    while consumers - _consumer_services(trace) and time.monotonic() < deadline:
        time.sleep(0.5)
        trace = trace_with_servers(train.server, trace_id, expected) or trace
    assert consumers <= _consumer_services(trace), trace
    kinds = {(s["service"], s["kind"]) for s in trace["spans"]}
    assert {("ts-food-service", "PRODUCER"), ("ts-preserve-service", "PRODUCER")} <= kinds


def _consumer_services(trace: dict[str, Any]) -> set[str]:
    return {s["service"] for s in trace["spans"] if s["kind"] == "CONSUMER"}


def test_every_kind_of_the_mixed_workload_is_answered(train: TrainTicket) -> None:
    host, port = train.url.removeprefix("http://").rsplit(":", 1)
    check_mix_answered(host, int(port), NS, rate=10)


# MicroRemed's check_disk_io_performance: 10 MB written with O_DIRECT, the milliseconds it took
DD_CHECK = (
    "time_start=$(date +%s%3N); "
    "dd if=/dev/zero of=/var/log/mysql/test-disk-write.tmp bs=1M count=10 oflag=direct 2>&1; "
    "time_end=$(date +%s%3N); "
    "echo $((time_end - time_start))"
)
MIN_MB_PER_S = 10.0


def _write_speed(kubectl: Kubectl, pod: str, timeout: float) -> float | None:
    try:
        done = kubectl.run("exec", pod, "-n", NS, "--", "sh", "-c", DD_CHECK, timeout=timeout)
    except subprocess.TimeoutExpired:
        return None
    assert done.returncode == 0, done.stderr
    return 10 / (max(int(done.stdout.strip().splitlines()[-1]), 1) / 1000)


def _preserve(train: TrainTicket, user_index: int) -> Reply:
    user = seed.users()[2 + user_index % 40]
    token = tokens.issue(user.user_id, user.name, ["ROLE_USER"])
    return train.call(
        "POST", "/api/v1/preserveservice/preserve", _booking(user.user_id, "G1236", "nanjing", "taiyuan"), token=token
    )


def _preserve_seconds(train: TrainTicket, user_index: int) -> float:
    reply = _preserve(train, user_index)
    assert reply.status == 200 and reply.body["status"] == 1, reply
    return reply.seconds


def test_disk_io_on_the_databases_shows_where_they_write_and_clears(train: TrainTicket) -> None:
    kubectl = Kubectl(train.server, train.server.home / "kube-cache")
    # nacosdb-mysql, MicroRemed's target: its own check (dd into /var/log/mysql) fails, then passes again
    assert (_write_speed(kubectl, "nacosdb-mysql-0", 10) or 0) >= MIN_MB_PER_S
    status, chaos = train.server.request(
        "POST", "/v1/chaos", {"fault": "disk-io", "target": "nacosdb-mysql", "namespace": NS}
    )
    assert status == 201 and chaos["confirm"]["injected"], chaos
    try:
        slowed = _write_speed(kubectl, "nacosdb-mysql-0", 5)
        assert slowed is None or slowed < MIN_MB_PER_S, slowed
    finally:
        train.server.ok("DELETE", f"/v1/chaos/{NS}/{chaos['metadata']['name']}")
    train.server.wait_for(
        lambda: (_write_speed(kubectl, "nacosdb-mysql-0", 10) or 0) >= MIN_MB_PER_S, timeout=30, what="dd fast again"
    )
    # no flow reads the registry's database here (discovery is Kubernetes'); the services' database is
    # tsdb-mysql, whose redo log is in the same place: a reservation (several commits) slows there
    baseline = statistics.fmean(_preserve_seconds(train, i) for i in range(5))
    status, chaos = train.server.request(
        "POST", "/v1/chaos", {"fault": "disk-io", "target": "tsdb-mysql", "namespace": NS}
    )
    assert status == 201 and chaos["confirm"]["injected"], chaos
    try:
        hit = [_preserve(train, i) for i in range(5, 7)]
    finally:
        train.server.ok("DELETE", f"/v1/chaos/{NS}/{chaos['metadata']['name']}")
    print(f"preserve: {baseline * 1000:.0f} ms; with disk-io on tsdb-mysql: {[(r.status, r.seconds) for r in hit]}")
    # each reservation either fails, naming the service whose database write timed out, or is much slower
    for reply in hit:
        failed = reply.status >= 500 and "ts-" in str(reply.body)
        assert failed or reply.seconds >= 2 * baseline, (baseline, reply)
    after = train.server.wait_for(
        lambda: (
            (m := statistics.fmean(_preserve_seconds(train, i) for i in range(8, 11))) <= 1.5 * baseline + 0.05 and m
        ),
        timeout=30,
        what="reservations as fast as before",
    )
    print(f"preserve after the fault: {after * 1000:.0f} ms")


QUERY = {"startPlace": "shanghai", "endPlace": "taiyuan", "departureTime": DATE}


def _query_mean(train: TrainTicket, count: int = 8) -> float:
    replies = [train.call("POST", "/api/v1/travelservice/trips/left", QUERY) for _ in range(count)]
    assert all(r.status == 200 for r in replies), [r.status for r in replies]
    return statistics.fmean(r.seconds for r in replies)


def test_cpu_stress_on_travel_raises_query_latency_until_stopped(train: TrainTicket) -> None:
    baseline = _query_mean(train)
    status, chaos = train.server.request(
        "POST", "/v1/chaos", {"fault": "cpu-stress", "target": "ts-travel-service", "namespace": NS}
    )
    assert status == 201 and chaos["confirm"]["injected"], chaos
    samples: list[float] = []

    def slower() -> float | bool:
        samples.append(_query_mean(train))
        return samples[-1] >= 1.3 * baseline and samples[-1]

    try:
        time.sleep(1.0)
        stressed = train.server.wait_for(slower, timeout=20, what=f"queries slower than {baseline:.4f} s")
    finally:
        train.server.ok("DELETE", f"/v1/chaos/{NS}/{chaos['metadata']['name']}")
    print(f"query mean: {baseline * 1000:.1f} ms, with travel under cpu stress {stressed * 1000:.1f} ms")
    train.server.wait_for(
        lambda: _query_mean(train) <= max(1.3 * baseline, baseline + 0.02),
        timeout=30,
        what="query latency back to its baseline",
    )
