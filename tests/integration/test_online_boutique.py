"""Online Boutique on the embedded cluster: its pages, a checkout's trace, the workload, its load
generator, and a network delay on the cart service as users feel it."""

from __future__ import annotations

import re
import statistics
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from tests.integration.http_probe import Answer, deployed_app, fetch, new_traceparent, trace_with_servers
from tests.integration.load_harness import check_mix_answered
from tests.integration.server_harness import ServerProcess

pytestmark = pytest.mark.integration

NS = "online-boutique"
SUNGLASSES = "OLJCESPC7Z"
CHECKOUT_FORM = {
    "email": "someone@example.com",
    "street_address": "1600 Amphitheatre Parkway",
    "zip_code": "94043",
    "city": "Mountain View",
    "state": "CA",
    "country": "United States",
    "credit_card_number": "4432-8015-6152-0454",
    "credit_card_expiration_month": "1",
    "credit_card_expiration_year": "2039",
    "credit_card_cvv": "672",
}


def failure_of(page: Answer) -> str:
    """What the front end's error page says failed: the failed service and the error message."""
    service = re.search(r'class="failed-service">([^<]*)<', page.text)
    message = re.search(r'class="error-message">([^<]*)<', page.text)
    if not (service or message):
        return page.text[:300]
    return f"{service.group(1) if service else '?'}: {message.group(1).strip() if message else '?'}"


@dataclass
class Shop:
    server: ServerProcess
    url: str

    def page(self, path: str, session: str, **options: Any) -> Answer:
        headers = {"Cookie": f"shop_session-id={session}", **options.pop("headers", {})}
        return fetch(self.url + path, headers=headers, **options)

    def checkout(self, session: str, **options: Any) -> Answer:
        added = self.page("/cart", session, method="POST", form={"product_id": SUNGLASSES, "quantity": "2"})
        assert added.status in (200, 302), (added.status, failure_of(added))
        return self.page("/cart/checkout", session, method="POST", form=CHECKOUT_FORM, **options)


@pytest.fixture(scope="module")
def shop() -> Iterator[Shop]:
    with deployed_app(NS, "frontend", 80) as (server, url):
        yield Shop(server, url)


def test_the_names_microremed_targets_exist(shop: Shop) -> None:
    deployments = {d["metadata"]["name"] for d in shop.server.items("deployments", NS)}
    expected = {
        "adservice",
        "cartservice",
        "checkoutservice",
        "currencyservice",
        "emailservice",
        "frontend",
        "loadgenerator",
        "paymentservice",
        "productcatalogservice",
        "recommendationservice",
        "shippingservice",
        "redis-cart",
    }
    assert expected <= deployments, expected - deployments


def test_browse_add_to_cart_and_check_out(shop: Shop) -> None:
    home = shop.page("/", "pages-1")
    assert home.status == 200 and "Sunglasses" in home.text, home.status
    product = shop.page(f"/product/{SUNGLASSES}", "pages-1")
    assert product.status == 200 and "Sunglasses" in product.text
    assert shop.page("/product/NOSUCHTHING", "pages-1").status == 404
    assert shop.page("/cart", "pages-1", method="POST", form={"product_id": SUNGLASSES, "quantity": "1"}).status == 302
    full = shop.page("/cart", "pages-1")
    assert full.status == 200 and "cart is empty" not in full.text and "Sunglasses" in full.text
    order = shop.checkout("pages-1")
    assert order.status == 200, order
    assert re.search(r"order", order.text, re.IGNORECASE), order.text[:500]
    cart = shop.page("/cart", "pages-1")
    assert cart.status == 200 and "cart is empty" in cart.text  # the order emptied the cart


def _span(spans: list[dict[str, Any]], service: str, kind: str, needle: str) -> dict[str, Any]:
    found = [s for s in spans if s["service"] == service and s["kind"] == kind and needle in s["operation"]]
    assert found, f"no {kind} span of {service} with {needle!r} in {[(s['service'], s['operation']) for s in spans]}"
    return found[0]


def test_a_checkout_trace_crosses_every_service_it_needs(shop: Shop) -> None:
    trace_id, traceparent = new_traceparent()
    assert shop.checkout("trace-1", headers={"traceparent": traceparent}).status == 200
    wanted = {
        "frontend",
        "checkoutservice",
        "cartservice",
        "productcatalogservice",
        "currencyservice",
        "shippingservice",
        "paymentservice",
        "emailservice",
    }

    trace = shop.server.wait_for(
        lambda: trace_with_servers(shop.server, trace_id, wanted, 20), timeout=10, what="the checkout trace"
    )
    spans = trace["spans"]
    _span(spans, "frontend", "SERVER", "checkout")
    place = _span(spans, "checkoutservice", "SERVER", "PlaceOrder")
    get_cart = _span(spans, "cartservice", "SERVER", "GetCart")
    assert any(s["parentSpanId"] == get_cart["spanId"] and s["attributes"].get("db.system") == "redis" for s in spans)
    for service, operation in [
        ("productcatalogservice", "GetProduct"),
        ("currencyservice", "Convert"),
        ("shippingservice", "GetQuote"),
        ("paymentservice", "Charge"),
        ("shippingservice", "ShipOrder"),
        ("cartservice", "EmptyCart"),
        ("emailservice", "SendOrderConfirmation"),
    ]:
        server_span = _span(spans, service, "SERVER", operation)
        caller = next(s for s in spans if s["spanId"] == server_span["parentSpanId"])
        assert caller["service"] == "checkoutservice" and caller["parentSpanId"] == place["spanId"], (service, caller)


def test_every_kind_of_the_workload_is_answered(shop: Shop) -> None:
    host, port = shop.url.removeprefix("http://").rsplit(":", 1)
    check_mix_answered(host, int(port), NS, rate=20)


def test_the_load_generator_drives_traffic(shop: Shop) -> None:
    (pod,) = shop.server.pods(NS, "app=loadgenerator")
    assert pod["status"]["phase"] == "Running"

    def served() -> float:
        items = shop.server.ok("GET", f"/v1/metrics/services?namespace={NS}&service=frontend&seconds=30")["items"]
        return max((s["requestRate"] or 0.0 for item in items for s in item["samples"]), default=0.0)

    assert shop.server.wait_for(served, timeout=30, what="frontend traffic") > 0


def _checkout_seconds(shop: Shop, count: int, prefix: str) -> list[Answer]:
    return [shop.checkout(f"{prefix}-{i}") for i in range(count)]


def test_network_delay_on_the_cart_slows_checkout_until_stopped(shop: Shop) -> None:
    baseline = _checkout_seconds(shop, 5, "delay-before")
    assert all(a.status == 200 for a in baseline), [(a.status, failure_of(a)) for a in baseline if a.status != 200]
    before = statistics.median(a.seconds for a in baseline)
    status, chaos = shop.server.request(
        "POST", "/v1/chaos", {"fault": "network-delay", "target": "cartservice", "namespace": NS}
    )
    assert status == 201 and chaos["confirm"]["injected"], chaos
    try:
        delayed = _checkout_seconds(shop, 3, "delay-during")
    finally:
        shop.server.ok("DELETE", f"/v1/chaos/{NS}/{chaos['metadata']['name']}")
    during = statistics.median(a.seconds for a in delayed)
    print(f"checkout median {before * 1000:.0f} ms, with a 1 s delay on cartservice {during * 1000:.0f} ms")
    assert all(a.status == 200 for a in delayed), [(a.status, failure_of(a)) for a in delayed if a.status != 200]
    assert during >= before + 1.0, (before, during)

    def recovered() -> float | None:
        median = statistics.median(a.seconds for a in _checkout_seconds(shop, 3, "delay-after"))
        return median if median <= max(2 * before, before + 0.05) else None

    shop.server.wait_for(recovered, timeout=30, what="checkout back to its baseline")
