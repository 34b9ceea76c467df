"""Online Boutique: money, conversion, cards, forms, pages, data files, the services in-process, manifests."""

from __future__ import annotations

import asyncio
import random
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import date
from decimal import Decimal
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from remedlab.apps.catalog import app_manifests, get_app
from remedlab.apps.kit.redis_store import RedisStore
from remedlab.apps.kit.store_calls import StoreError
from remedlab.apps.online_boutique import (
    adservice,
    cartservice,
    checkoutservice,
    currencyservice,
    emailservice,
    frontend,
    paymentservice,
    productcatalogservice,
    recommendationservice,
    shippingservice,
)
from remedlab.apps.online_boutique.cards import CardError, card_brand, luhn_valid, normalize_number, validate_card
from remedlab.apps.online_boutique.conversion import RateTable, UnsupportedCurrencyError, load_rate_table
from remedlab.apps.online_boutique.data_files import load_json
from remedlab.apps.online_boutique.forms import FormError, parse_add_to_cart, parse_checkout, parse_currency
from remedlab.apps.online_boutique.frontend_backend import Addresses
from remedlab.apps.online_boutique.loadgenerator import TASKS, LoadConfig, Tally
from remedlab.apps.online_boutique.model import Address, CartItem, OrderItem, OrderResult, Product, load_products
from remedlab.apps.online_boutique.money import Money, MoneyError, format_money, total
from remedlab.apps.online_boutique.pages import CartLine, Chrome, cart_page, error_page, home_page, product_page
from remedlab.apps.online_boutique.rpc import peer_name, rpc_path
from remedlab.apps.online_boutique.storefront import storefront
from remedlab.apps.online_boutique.templates import Html, TemplateFieldError, escape, placeholders, render
from remedlab.cluster.apiserver.validation import validate_object
from remedlab.observe.workload.mix import load_app_mix

NAMESPACE = "online-boutique"
TEST_CARD = "4432-8015-6152-0454"
TODAY = date(2026, 6, 15)

# --------------------------------------------------------------------------- money


def test_money_adds_with_carry_in_both_directions() -> None:
    assert Money("USD", 1, 600_000_000) + Money("USD", 2, 700_000_000) == Money("USD", 4, 300_000_000)
    assert Money("USD", 5, 100_000_000) + Money("USD", -2, -300_000_000) == Money("USD", 2, 800_000_000)
    assert Money("USD", 1, 0) + Money("USD", -3, -500_000_000) == Money("USD", -2, -500_000_000)
    assert Money("USD", 0, 999_999_999) + Money("USD", 0, 1) == Money("USD", 1, 0)
    assert Money("USD", 0, -999_999_999) + Money("USD", 0, -1) == Money("USD", -1, 0)


def test_money_multiplies_and_sums() -> None:
    assert Money("USD", 19, 990_000_000).times(3) == Money("USD", 59, 970_000_000)
    assert Money("USD", 8, 990_000_000).times(0) == Money.zero("USD")
    assert total([Money("EUR", 1, 500_000_000)] * 4, "EUR") == Money("EUR", 6, 0)
    assert total([], "JPY") == Money("JPY", 0, 0)


def test_money_rejects_malformed_amounts() -> None:
    with pytest.raises(MoneyError, match="opposite signs"):
        Money("USD", 1, -5)
    with pytest.raises(MoneyError, match="out of range"):
        Money("USD", 0, 1_000_000_000)
    with pytest.raises(MoneyError, match="cannot add"):
        Money("USD", 1) + Money("EUR", 1)
    with pytest.raises(MoneyError, match="integer"):
        Money.from_json({"currency_code": "USD", "units": "1", "nanos": 0})
    assert Money.from_json({"currency_code": "USD", "units": 3}) == Money("USD", 3, 0)


def test_money_from_nanos_and_decimal_keep_one_sign() -> None:
    assert Money.from_nanos("USD", -1_500_000_000) == Money("USD", -1, -500_000_000)
    assert Money.from_decimal("USD", Decimal("2.1234567899")) == Money("USD", 2, 123_456_789)
    assert Money.from_decimal("USD", Decimal("-0.0000000019")) == Money("USD", 0, -1)
    assert Money("USD", 4, 250_000_000).as_decimal() == Decimal("4.25")


def test_money_formats_with_symbol_and_truncated_cents() -> None:
    assert format_money(Money("USD", 19, 990_000_000), "$") == "$19.99"
    assert format_money(Money("EUR", 7, 952_233_524), "€") == "€7.95"
    assert format_money(Money("BGN", 3, 50_000_000)) == "BGN 3.05"
    assert format_money(Money("USD", -1, -250_000_000), "$") == "-$1.25"


# --------------------------------------------------------------------------- currency conversion


def test_conversion_goes_through_euros_and_truncates_to_nanos() -> None:
    rates = load_rate_table()
    assert rates.base == "EUR"
    assert {"USD", "EUR", "CAD", "JPY", "GBP", "TRY"} <= set(rates.codes)
    assert len(rates.codes) == 33
    euros = rates.convert(Money("USD", 89, 990_000_000), "EUR")
    assert euros == Money("EUR", 79, 601_946_041)  # 89.99 / 1.1305
    assert rates.convert(Money("EUR", 10, 0), "JPY") == Money("JPY", 1264, 0)
    assert rates.convert(Money("USD", 8, 990_000_000), "USD") == Money("USD", 8, 990_000_000)
    assert rates.convert(Money("EUR", 0, 500_000_000), "GBP") == Money("GBP", 0, 429_850_000)


def test_conversion_carries_nanos_into_units() -> None:
    table = RateTable("EUR", {"EUR": Decimal(1), "XXX": Decimal("0.5")})
    assert table.convert(Money("EUR", 3, 750_000_000), "XXX") == Money("XXX", 1, 875_000_000)
    assert table.convert(Money("XXX", 0, 600_000_000), "EUR") == Money("EUR", 1, 200_000_000)


def test_conversion_refuses_unknown_currencies() -> None:
    with pytest.raises(UnsupportedCurrencyError, match="XYZ"):
        load_rate_table().convert(Money("USD", 1), "XYZ")
    with pytest.raises(ValueError, match="base currency"):
        RateTable.from_json({"base": "EUR", "rates": {"EUR": "2"}})


# --------------------------------------------------------------------------- cards


def test_luhn_and_brands() -> None:
    assert luhn_valid(normalize_number(TEST_CARD))
    assert luhn_valid("4111111111111111") and not luhn_valid("4111111111111112")
    assert normalize_number("4111 1111-1111 1111") == "4111111111111111"
    assert normalize_number("4111x") == ""
    assert card_brand("4111111111111111") == "visa"
    assert card_brand("5555555555554444") == "mastercard"
    assert card_brand("2221000000000009") == "mastercard"
    assert card_brand("378282246310005") == "amex"
    assert card_brand("1234") is None


def test_card_validation_accepts_the_test_card() -> None:
    card = validate_card(TEST_CARD, 2030, 1, TODAY)
    assert (card.brand, card.last_four) == ("visa", "0454")
    assert validate_card("5555555555554444", TODAY.year, TODAY.month, TODAY).brand == "mastercard"


@pytest.mark.parametrize(
    ("number", "year", "month", "reason", "message"),
    [
        ("4111111111111112", 2030, 1, "invalid", "Credit card info is invalid"),
        ("not a card", 2030, 1, "invalid", "Credit card info is invalid"),
        (TEST_CARD, 2030, 13, "invalid", "Credit card info is invalid"),
        ("378282246310005", 2030, 1, "unaccepted", "cannot process American Express"),
        (TEST_CARD, 2026, 5, "expired", "ending 0454\\) expired on 5/2026"),
    ],
)
def test_card_validation_refusals(number: str, year: int, month: int, reason: str, message: str) -> None:
    with pytest.raises(CardError, match=message) as caught:
        validate_card(number, year, month, TODAY)
    assert caught.value.reason == reason


# --------------------------------------------------------------------------- shipping, recommendations, ads, cart


def test_shipping_quote_is_flat_and_tracking_ids_look_right() -> None:
    assert shippingservice.quote_for(0) == shippingservice.quote_for(7) == Money("USD", 8, 990_000_000)
    with pytest.raises(ValueError):
        shippingservice.quote_for(-1)
    address = Address("1600 Amphitheatre Parkway", "Mountain View", "CA", "United States", "94043")
    tracking = shippingservice.tracking_id(address, random.Random(7))
    assert re.fullmatch(r"[A-Z]{2}-44\d{3}-22\d{7}", tracking)


def test_recommendations_leave_out_the_products_asked_about() -> None:
    ids = [p.id for p in load_products()]
    chosen = recommendationservice.recommend(ids, ids[:2], random.Random(1))
    assert len(chosen) == 5 and len(set(chosen)) == 5 and not set(chosen) & set(ids[:2])
    assert sorted(recommendationservice.recommend(ids, ids[:6])) == sorted(ids[6:])
    assert recommendationservice.recommend(ids, ids) == []


def test_ads_match_categories_or_are_random() -> None:
    book = adservice.load_ad_book()
    kitchen = book.ads_for(["kitchen"])
    assert [ad.redirect_url for ad in kitchen] == ["/product/9SIQT8TOJO", "/product/6E92ZMYYFZ"]
    assert len(book.ads_for(["footwear", "hair"])) == 2
    fallback = book.ads_for(["nothing"], random.Random(3))
    assert len(fallback) == book.max_random == 2 and all(ad in book.all_ads for ad in fallback)


def test_cart_answer_lists_items_from_the_hash() -> None:
    answer = cartservice.cart_answer("u1", {"OLJCESPC7Z": "3", "66VCHSJNUP": "1"})
    assert answer == {
        "user_id": "u1",
        "items": [{"product_id": "66VCHSJNUP", "quantity": 1}, {"product_id": "OLJCESPC7Z", "quantity": 3}],
    }


def test_order_total_is_shipping_plus_items() -> None:
    order = OrderResult(
        "o1",
        "T1",
        Money("USD", 8, 990_000_000),
        Address("s", "c", "st", "co", "z"),
        (OrderItem(CartItem("A", 2), Money("USD", 19, 990_000_000)), OrderItem(CartItem("B", 1), Money("USD", 5))),
    )
    assert order.total_paid() == Money("USD", 53, 970_000_000)
    assert OrderResult.from_json(order.to_json()) == order


# --------------------------------------------------------------------------- forms


def test_add_to_cart_form() -> None:
    assert parse_add_to_cart({"product_id": "OLJCESPC7Z", "quantity": "3"}, 10).quantity == 3
    for form, message in [
        ({"product_id": "OLJCESPC7Z", "quantity": "0"}, "between 1 and 10"),
        ({"product_id": "OLJCESPC7Z", "quantity": "11"}, "between 1 and 10"),
        ({"product_id": "OLJCESPC7Z", "quantity": "two"}, "whole number"),
        ({"product_id": "OLJCESPC7Z", "quantity": "-1"}, "whole number"),
        ({"quantity": "1"}, "product_id is required"),
    ]:
        with pytest.raises(FormError, match=message):
            parse_add_to_cart(form, 10)


def test_currency_form() -> None:
    assert parse_currency({"currency_code": "EUR"}) == "EUR"
    for bad in ({"currency_code": "euro"}, {}):
        with pytest.raises(FormError):
            parse_currency(bad)


def checkout_form(**changes: str) -> dict[str, str]:
    form = {
        "email": "someone@example.com",
        "street_address": "1600 Amphitheatre Parkway",
        "zip_code": "94043",
        "city": "Mountain View",
        "state": "CA",
        "country": "United States",
        "credit_card_number": TEST_CARD,
        "credit_card_expiration_month": "1",
        "credit_card_expiration_year": "2030",
        "credit_card_cvv": "672",
    }
    form.update(changes)
    return form


def test_checkout_form() -> None:
    order = parse_checkout(checkout_form())
    assert order.address.city == "Mountain View" and order.email == "someone@example.com"
    assert order.credit_card() == {
        "credit_card_number": TEST_CARD,
        "credit_card_cvv": 672,
        "credit_card_expiration_year": 2030,
        "credit_card_expiration_month": 1,
    }
    for changes, message in [
        ({"email": "nobody"}, "not an email"),
        ({"city": " "}, "city is required"),
        ({"credit_card_expiration_month": "13"}, "between 1 and 12"),
        ({"credit_card_cvv": "abc"}, "whole number"),
    ]:
        with pytest.raises(FormError, match=message):
            parse_checkout(checkout_form(**changes))


# --------------------------------------------------------------------------- templates and pages


def test_templates_escape_values_but_not_fragments() -> None:
    assert escape("<b>&") == "&lt;b&gt;&amp;"
    assert escape(Html("<b>")) == "<b>"
    option = render("option", value='a"b', label="<x>", selected=Html(" selected"))
    assert option.strip() == '<option value="a&quot;b" selected>&lt;x&gt;</option>'
    with pytest.raises(TemplateFieldError, match="label"):
        render("option", value="v", selected="")
    assert placeholders("ad") == {"redirect_url", "text"}


def chrome() -> Chrome:
    return Chrome("sess-1", "req-1", "EUR", ("USD", "EUR"), cart_size=3)


def test_home_and_product_pages() -> None:
    shop = storefront()
    products = load_products()
    home = home_page(chrome(), [(p, p.price_usd) for p in products], None, shop)
    assert home.count('class="hot-product-card"') == 9
    assert "Salt &amp; Pepper Shakers" in home and "$18.49" in home
    assert '<option value="EUR" selected>€ EUR</option>' in home and 'class="cart-size">3<' in home
    assert "session-id: sess-1" in home and "${" not in home
    loafers = next(p for p in products if p.id == "L9ECAV7KIM")
    ad = adservice.load_ad_book().ads_for(["footwear"])[0]
    page = product_page(chrome(), loafers, Money("EUR", 79, 600_000_000), products[:4], ad, storefront())
    assert "€79.60" in page and 'value="L9ECAV7KIM"' in page and page.count('class="recommendation"') == 4
    assert "Loafers for sale" in page and "${" not in page


def test_cart_and_error_pages() -> None:
    shop = storefront()
    mug = next(p for p in load_products() if p.id == "6E92ZMYYFZ")
    line = CartLine(mug, 2, Money("USD", 17, 980_000_000))
    shipping = Money("USD", 8, 990_000_000)
    page = cart_page(chrome(), [line], shipping, shipping + line.price, [], shop, 2026)
    assert "Quantity: 2" in page and "$17.98" in page and "$26.97" in page
    assert 'value="4432-8015-6152-0454"' in page and '<option value="2027" selected>' in page
    empty = cart_page(chrome(), [], shipping, shipping, [], shop, 2026)
    assert "Your shopping cart is empty!" in empty
    bare = Chrome("sess-1", "req-1", "USD", show_tools=False)
    error = error_page(bare, 500, "could not retrieve cart: cartservice: HTTP 500", "cartservice", shop)
    assert "500 Internal Server Error" in error and "cartservice" in error and 'class="cart-size"' not in error


# --------------------------------------------------------------------------- data files


def test_catalog_data() -> None:
    products = {p.id: p for p in load_products()}
    expected = {
        "OLJCESPC7Z": ("Sunglasses", "19.99"),
        "66VCHSJNUP": ("Tank Top", "18.99"),
        "1YMWWN1N4O": ("Watch", "109.99"),
        "L9ECAV7KIM": ("Loafers", "89.99"),
        "2ZYFJ3GM2N": ("Hairdryer", "24.99"),
        "0PUK6V6EV0": ("Candle Holder", "18.99"),
        "LS4PSXUNUM": ("Salt & Pepper Shakers", "18.49"),
        "9SIQT8TOJO": ("Bamboo Glass Jar", "5.49"),
        "6E92ZMYYFZ": ("Mug", "8.99"),
    }
    assert {pid: (p.name, str(p.price_usd.as_decimal())) for pid, p in products.items()} == expected
    for product in products.values():
        assert product.price_usd.currency_code == "USD" and product.categories and product.description
        assert product.picture.startswith("/static/img/products/")
        assert Product.from_json(product.to_json()) == product
    ad_categories = set(load_json("ads.json")["ads_by_category"])
    assert ad_categories <= {c for p in products.values() for c in p.categories}


def test_storefront_and_load_generator_data() -> None:
    shop = storefront()
    assert shop.shown_currencies == ("USD", "EUR", "CAD", "JPY", "GBP", "TRY")
    assert set(shop.shown_currencies) <= set(load_rate_table().codes) and shop.default_currency == "USD"
    config = LoadConfig.from_json(load_json("loadgenerator.json"))
    assert dict(config.weights) == {
        "index": 1,
        "setCurrency": 2,
        "browseProduct": 10,
        "addToCart": 2,
        "viewCart": 3,
        "checkout": 1,
    }
    assert set(config.weights) == set(TASKS) and (config.min_wait, config.max_wait) == (1, 10)
    assert set(config.products) == {p.id for p in load_products()}
    form = config.checkout_form(TODAY)
    assert form["credit_card_expiration_year"] == "2027" and form["credit_card_number"] == TEST_CARD
    parse_checkout(form)
    tally = Tally()
    tally.record("index", 0.010, True)
    tally.record("checkout", 0.030, False)
    line = tally.summary()
    assert (line["requests"], line["failures"], line["total_failures"]) == (2, 1, 1)
    assert tally.summary()["requests"] == 0


def test_workload_mix_has_the_shops_weights() -> None:
    mix = load_app_mix(get_app("online-boutique"))
    assert (mix.service, mix.port) == ("frontend", 80)
    weights = {spec.label: spec.weight for spec in mix.requests}
    assert weights == {"index": 1, "setCurrency": 2, "browseProduct": 10, "addToCart": 2, "viewCart": 3, "checkout": 1}
    rng = random.Random(5)
    for spec in mix.requests:
        request = spec.render(rng)
        assert request.headers is not None and re.match(r"shop_session-id=user-\d+", request.headers["Cookie"])
        if request.method == "POST":
            assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    checkout = next(spec for spec in mix.requests if spec.label == "checkout").render(rng)
    assert "credit_card_number=4432-8015-6152-0454" in checkout.body


# --------------------------------------------------------------------------- the services, in-process


class MemoryRedis(RedisStore):
    """A Redis stand-in holding hashes in a dict; ``down`` makes every command fail."""

    def __init__(self) -> None:
        super().__init__("127.0.0.1:6379")
        self.hashes: dict[str, dict[str, str]] = {}
        self.down = False

    async def command(self, name: str, *args: Any, target: str = "") -> Any:
        if self.down:
            raise StoreError("redis-cart", "cannot reach redis: connection refused", kind="connect_error")
        op = name.upper()
        if op == "PING":
            return True
        if op == "HINCRBY":
            key, field, amount = args
            cart = self.hashes.setdefault(key, {})
            cart[field] = str(int(cart.get(field, "0")) + int(amount))
            return int(cart[field])
        if op == "HGETALL":
            return dict(self.hashes.get(args[0], {}))
        if op == "DEL":
            return int(self.hashes.pop(args[0], None) is not None)
        raise AssertionError(f"unexpected command {name}")


@asynccontextmanager
async def started(app: web.Application) -> AsyncIterator[int]:
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    assert server.port is not None
    try:
        yield server.port
    finally:
        await server.close()


async def shop(stack: AsyncExitStack, redis: MemoryRedis, monkeypatch: pytest.MonkeyPatch) -> str:
    """Every service on a free loopback port, found by name as in the cluster; the frontend's base URL."""

    async def up(name: str, app: web.Application) -> str:
        port = await stack.enter_async_context(started(app))
        monkeypatch.setenv(f"{name.upper()}_SERVICE_HOST", "127.0.0.1")
        return f"{name}:{port}"

    catalog = await up("productcatalogservice", productcatalogservice.create_app())
    currency = await up("currencyservice", currencyservice.create_app())
    cart = await up("cartservice", cartservice.create_app(redis))
    shipping = await up("shippingservice", shippingservice.create_app())
    payment = await up("paymentservice", paymentservice.create_app())
    email = await up("emailservice", emailservice.create_app())
    ads = await up("adservice", adservice.create_app())
    recommendation = await up("recommendationservice", recommendationservice.create_app(catalog))
    checkout = await up(
        "checkoutservice",
        checkoutservice.create_app(checkoutservice.Peers(catalog, shipping, payment, email, currency, cart)),
    )
    addresses = Addresses(catalog, currency, cart, recommendation, shipping, checkout, ads)
    port = await stack.enter_async_context(started(frontend.create_app(addresses)))
    return f"http://127.0.0.1:{port}"


Scenario = Callable[[aiohttp.ClientSession, str, MemoryRedis], Awaitable[None]]


def run_shop(scenario: Scenario, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("REMEDLAB_POD_IP", raising=False)

    async def main() -> None:
        redis = MemoryRedis()
        async with AsyncExitStack() as stack:
            base = await shop(stack, redis, monkeypatch)
            jar = aiohttp.CookieJar(unsafe=True)
            async with aiohttp.ClientSession(cookie_jar=jar) as session:
                await scenario(session, base, redis)

    asyncio.run(main())


def test_shopping_from_home_page_to_order(monkeypatch: pytest.MonkeyPatch) -> None:
    async def scenario(session: aiohttp.ClientSession, base: str, redis: MemoryRedis) -> None:
        async with session.get(base + "/") as resp:
            assert resp.status == 200 and "shop_session-id" in resp.cookies
            assert (await resp.text()).count('class="hot-product-card"') == 9
        async with session.get(base + "/product/L9ECAV7KIM") as resp:
            page = await resp.text()
            assert resp.status == 200 and "$89.99" in page and page.count('class="recommendation"') == 4
        async with session.post(base + "/setCurrency", data={"currency_code": "EUR"}, allow_redirects=False) as resp:
            assert resp.status == 302 and resp.cookies["shop_currency"].value == "EUR"
        form = {"product_id": "L9ECAV7KIM", "quantity": "2"}
        async with session.post(base + "/cart", data=form, allow_redirects=False) as resp:
            assert resp.status == 302 and resp.headers["Location"] == "/cart"
        (user,) = redis.hashes
        assert redis.hashes[user] == {"L9ECAV7KIM": "2"}
        async with session.get(base + "/cart") as resp:
            page = await resp.text()
            assert "€159.20" in page and "€7.95" in page and "€167.15" in page
        async with session.post(base + "/cart/checkout", data=checkout_form()) as resp:
            page = await resp.text()
            assert resp.status == 200 and "Your order is complete!" in page and "€167.15" in page
        assert redis.hashes == {}
        async with session.post(base + "/cart/checkout", data=checkout_form()) as resp:
            assert resp.status == 200 and "€7.95" in await resp.text()  # an empty cart pays shipping only

    run_shop(scenario, monkeypatch)


def test_failures_become_error_pages(monkeypatch: pytest.MonkeyPatch) -> None:
    async def scenario(session: aiohttp.ClientSession, base: str, redis: MemoryRedis) -> None:
        async with session.get(base + "/product/NOPE") as resp:
            page = await resp.text()
            assert resp.status == 404 and "no product with ID NOPE" in page and "productcatalogservice" in page
        async with session.post(
            base + "/cart/checkout", data=checkout_form(credit_card_number="4111111111111112")
        ) as r:
            page = await r.text()
            assert (
                r.status == 500 and "failed to charge card: paymentservice" in page and "card info is invalid" in page
            )
        async with session.post(base + "/cart", data={"product_id": "OLJCESPC7Z", "quantity": "99"}) as resp:
            assert resp.status == 422 and "between 1 and 10" in await resp.text()
        redis.down = True
        async with session.get(base + "/cart") as resp:
            page = await resp.text()
            assert resp.status == 500 and "cartservice" in page and "Can&#x27;t access cart storage" in page
        async with session.get(base + "/_healthz") as resp:
            assert resp.status == 200 and await resp.text() == "ok"

    run_shop(scenario, monkeypatch)


def test_rpc_paths_and_peer_names() -> None:
    assert rpc_path("CartService", "AddItem") == "/hipstershop.CartService/AddItem"
    assert peer_name("cartservice:7070") == "cartservice"
    assert peer_name("redis-cart.online-boutique.svc.cluster.local:6379") == "redis-cart"
    assert peer_name("10.0.0.7:8080") == "10.0.0.7"


# --------------------------------------------------------------------------- manifests

PORTS = {
    # name: (container port, Service port)
    "frontend": (8080, 80),
    "cartservice": (7070, 7070),
    "productcatalogservice": (3550, 3550),
    "currencyservice": (7000, 7000),
    "paymentservice": (50051, 50051),
    "shippingservice": (50051, 50051),
    "emailservice": (8080, 5000),
    "checkoutservice": (5050, 5050),
    "recommendationservice": (8080, 8080),
    "adservice": (9555, 9555),
    "redis-cart": (6379, 6379),
}


def manifests() -> list[dict[str, Any]]:
    return app_manifests(get_app("online-boutique"))


def test_manifests_validate() -> None:
    docs = manifests()
    assert docs[0]["kind"] == "Namespace" and docs[0]["metadata"]["name"] == NAMESPACE
    for doc in docs:
        validate_object(doc, NAMESPACE)
    kinds = [doc["kind"] for doc in docs]
    assert max(i for i, k in enumerate(kinds) if k == "Service") < kinds.index("Deployment")


def test_services_and_deployments_match_the_shop() -> None:
    docs = manifests()
    services = {d["metadata"]["name"]: d for d in docs if d["kind"] == "Service"}
    deployments = {d["metadata"]["name"]: d for d in docs if d["kind"] == "Deployment"}
    assert set(services) == set(PORTS)
    assert set(deployments) == set(PORTS) | {"loadgenerator"}
    for name, (container_port, service_port) in PORTS.items():
        (port,) = services[name]["spec"]["ports"]
        assert (port["port"], port["targetPort"]) == (service_port, container_port)
        assert services[name]["spec"]["selector"] == {"app": name}
        pod = deployments[name]["spec"]["template"]
        (container,) = pod["spec"]["containers"]
        assert [p["containerPort"] for p in container["ports"]] == [container_port]
        assert container["resources"] == {
            "requests": {"cpu": "50m", "memory": "64Mi"},
            "limits": {"cpu": "1", "memory": "256Mi"},
        }
        assert container["readinessProbe"]["periodSeconds"] == 1
        if name == "redis-cart":
            assert container["readinessProbe"]["tcpSocket"] == {"port": 6379}
            assert pod["spec"]["volumes"] == [{"name": "redis-data", "emptyDir": {}}]
            continue
        assert container["image"] == f"remedlab/online-boutique-{name}:0.10.1"
        assert pod["metadata"]["annotations"]["prometheus.io/port"] == str(container_port)
        assert container["livenessProbe"]["periodSeconds"] == 5
        env = {e["name"]: e.get("value") for e in container["env"]}
        assert env["PORT"] == str(container_port) and env["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://$(HOST_IP):4318"


def test_peers_are_configured_by_address() -> None:
    deployments = {d["metadata"]["name"]: d for d in manifests() if d["kind"] == "Deployment"}

    def env(name: str) -> dict[str, str]:
        (container,) = deployments[name]["spec"]["template"]["spec"]["containers"]
        return {e["name"]: e["value"] for e in container["env"] if "value" in e}

    addresses = {f"{name}:{port}" for name, (_, port) in PORTS.items()}
    frontend_env = env("frontend")
    for variable in (
        "PRODUCT_CATALOG_SERVICE_ADDR",
        "CURRENCY_SERVICE_ADDR",
        "CART_SERVICE_ADDR",
        "RECOMMENDATION_SERVICE_ADDR",
        "SHIPPING_SERVICE_ADDR",
        "CHECKOUT_SERVICE_ADDR",
        "AD_SERVICE_ADDR",
    ):
        assert frontend_env[variable] in addresses
    checkout_env = env("checkoutservice")
    assert checkout_env["EMAIL_SERVICE_ADDR"] == "emailservice:5000"
    assert checkout_env["PAYMENT_SERVICE_ADDR"] == "paymentservice:50051"
    assert env("cartservice")["REDIS_ADDR"] == "redis-cart:6379"
    assert env("recommendationservice")["PRODUCT_CATALOG_SERVICE_ADDR"] == "productcatalogservice:3550"
    assert env("loadgenerator")["FRONTEND_ADDR"] == "frontend:80"
    Addresses.from_env(frontend_env)
