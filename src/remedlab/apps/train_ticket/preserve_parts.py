"""What a reservation touches besides trips and orders: security, contacts, assurance, food, consign,
consign-price.

- security ``GET /api/v1/securityservice/securityConfigs/{accountId}``: the account's orders in the
  last hour and its valid orders (from order and order-other) against its two limits.
- contacts ``GET /api/v1/contactservice/contacts``, ``.../contacts/{id}``, ``.../contacts/account/{accountId}``,
  ``POST .../contacts``, ``DELETE .../contacts/{id}``.
- assurance ``GET /api/v1/assuranceservice/assurances/types``, ``.../assurances/{typeIndex}/{orderId}``
  (buys one), ``.../assurances``.
- food ``POST /api/v1/foodservice/orders``, ``GET .../orders``, ``.../orders/{orderId}``, and the
  foods of a journey (see :mod:`.food_menus`).
- consign ``PUT /api/v1/consignservice/consigns`` (the price from consign-price), ``GET
  .../consigns/order/{orderId}``, ``.../consigns/account/{accountId}``.
- consign-price ``GET /api/v1/consignpriceservice/consignprice/{weight}/{isWithinRegion}``,
  ``.../consignprice/price``.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from aiohttp import web

from remedlab.apps.train_ticket import seed
from remedlab.apps.train_ticket.food_menus import foods_for_journey
from remedlab.apps.train_ticket.service_base import (
    Context,
    Program,
    Refused,
    Route,
    ServiceSpec,
    body_of,
    number,
    ok,
    text,
)


def consign_price(config: dict[str, Any], weight: float, within_region: bool) -> float:
    """The original's rule: a fixed price up to the initial weight, then a rate per extra kg."""
    initial, base = float(config["initialWeight"]), float(config["initialPrice"])
    if weight <= initial:
        return base
    rate = float(config["withinPrice"] if within_region else config["beyondPrice"])
    return round(base + (weight - initial) * rate, 2)


async def _security_check(ctx: Context, request: web.Request) -> Any:
    account = request.match_info["accountId"]
    configs = {c["name"]: int(c["value"]) for c in await ctx.db.all("security_config")}
    day = "today"
    high, other = await asyncio.gather(
        ctx.call("ts-order-service", "GET", f"/api/v1/orderservice/order/security/{day}/{account}"),
        ctx.call("ts-order-other-service", "GET", f"/api/v1/orderOtherService/orderOther/security/{day}/{account}"),
    )
    last_hour = high["orderNumInLastOneHour"] + other["orderNumInLastOneHour"]
    valid = high["orderNumOfValidOrder"] + other["orderNumOfValidOrder"]
    if last_hour > configs["max_order_1_hour"] or valid > configs["max_order_not_use"]:
        raise Refused("Too much order in last one hour or too much valid order")
    return ok(account, "Success.r")


async def _security_configs(ctx: Context, request: web.Request) -> Any:
    return ok(await ctx.db.all("security_config"))


async def _contacts_all(ctx: Context, request: web.Request) -> Any:
    return ok(await ctx.db.all("contacts"))


async def _contact(ctx: Context, request: web.Request) -> Any:
    found = await ctx.db.get("contacts", request.match_info["id"])
    if found is None:
        raise Refused("No contacts according to contacts id")
    return ok(found)


async def _contacts_of(ctx: Context, request: web.Request) -> Any:
    account = request.match_info["accountId"]
    return ok([c for c in await ctx.db.all("contacts") if c["accountId"] == account])


async def _add_contact(ctx: Context, request: web.Request) -> Any:
    body = await body_of(request)
    for name in ("accountId", "name", "documentNumber"):
        text(body, name)
    body["id"] = str(body.get("id") or uuid.uuid4())
    return ok(await ctx.db.put("contacts", body), "Create contacts success")


async def _delete_contact(ctx: Context, request: web.Request) -> Any:
    await ctx.db.delete("contacts", request.match_info["id"])
    return ok(request.match_info["id"], "Delete success")


ASSURANCE_TYPES = [{"index": i, "name": n, "price": p} for i, n, p in seed.parameters()["assurance_types"]]


async def _assurance_types(ctx: Context, request: web.Request) -> Any:
    return ok(ASSURANCE_TYPES, "Find All Assurance")


async def _buy_assurance(ctx: Context, request: web.Request) -> Any:
    index, order_id = int(request.match_info["typeIndex"]), request.match_info["orderId"]
    kind = next((t for t in ASSURANCE_TYPES if t["index"] == index), None)
    if kind is None:
        raise Refused("Assurance type doesn't exist")
    doc = {"id": str(uuid.uuid4()), "orderId": order_id, "type": kind["name"], "price": kind["price"]}
    return ok(await ctx.db.put("assurance", doc), "Success")


async def _assurances(ctx: Context, request: web.Request) -> Any:
    return ok(await ctx.db.all("assurance"))


async def _food_order(ctx: Context, request: web.Request) -> Any:
    body = await body_of(request)
    text(body, "orderId")
    body["id"] = str(uuid.uuid4())
    body["price"] = number(body, "price", 0.0)
    saved = await ctx.db.put("food_order", body)
    delivery = {k: body.get(k) for k in ("orderId", "foodName", "storeName", "stationName")}
    await ctx.send("food_delivery", delivery)
    return ok(saved, "Success.")


async def _food_orders(ctx: Context, request: web.Request) -> Any:
    return ok(await ctx.db.all("food_order"))


async def _food_order_of(ctx: Context, request: web.Request) -> Any:
    order_id = request.match_info["orderId"]
    found = next((f for f in await ctx.db.all("food_order") if f["orderId"] == order_id), None)
    if found is None:
        raise Refused("Order Id Is Non-Existent.")
    return ok(found)


async def _consign(ctx: Context, request: web.Request) -> Any:
    body = await body_of(request)
    order_id, weight = text(body, "orderId"), number(body, "weight")
    within = bool(body.get("isWithin"))
    price = await ctx.call(
        "ts-consign-price-service", "GET", f"/api/v1/consignpriceservice/consignprice/{weight}/{str(within).lower()}"
    )
    existing = next((c for c in await ctx.db.all("consign") if c["orderId"] == order_id), None)
    doc = (existing or {"id": str(uuid.uuid4())}) | body | {"price": float(price)}
    doc["id"] = existing["id"] if existing else doc["id"]
    return ok(await ctx.db.put("consign", doc), "You have consigned successfully! The price is " + str(price))


def _consigns_by(field: str) -> Any:
    async def handle(ctx: Context, request: web.Request) -> Any:
        wanted = request.match_info["id"]
        return ok([c for c in await ctx.db.all("consign") if c.get(field) == wanted])

    return handle


async def _consign_price(ctx: Context, request: web.Request) -> Any:
    config = await ctx.db.get("consign_price", "price_config")
    if config is None:
        raise Refused("no price configuration")
    weight = float(request.match_info["weight"])
    within = request.match_info["isWithinRegion"].lower() == "true"
    return ok(consign_price(config, weight, within))


async def _consign_price_config(ctx: Context, request: web.Request) -> Any:
    return ok(await ctx.db.get("consign_price", "price_config"))


def program(spec: ServiceSpec) -> Program:
    short = spec.short
    if short == "security":
        base = "/api/v1/securityservice/securityConfigs"
        routes = [Route("GET", base, _security_configs), Route("GET", base + "/{accountId}", _security_check)]
        return Program(routes, {"security_config": seed.rows_for("security_config")})
    if short == "contacts":
        base = "/api/v1/contactservice/contacts"
        routes = [
            Route("GET", base, _contacts_all),
            Route("POST", base, _add_contact),
            Route("GET", base + "/account/{accountId}", _contacts_of),
            Route("GET", base + "/{id}", _contact),
            Route("DELETE", base + "/{id}", _delete_contact),
        ]
        return Program(routes, {"contacts": seed.rows_for("contacts")})
    if short == "assurance":
        base = "/api/v1/assuranceservice/assurances"
        routes = [
            Route("GET", base, _assurances),
            Route("GET", base + "/types", _assurance_types),
            Route("GET", base + "/{typeIndex}/{orderId}", _buy_assurance),
        ]
        return Program(routes, {"assurance": []})
    if short == "food":
        base = "/api/v1/foodservice/orders"
        routes = [
            Route("POST", base, _food_order),
            Route("GET", base, _food_orders),
            Route("GET", base + "/{orderId}", _food_order_of),
            Route("GET", "/api/v1/foodservice/foods/{date}/{startStation}/{endStation}/{tripId}", foods_for_journey),
        ]
        return Program(routes, {"food_order": []})
    if short == "consign":
        base = "/api/v1/consignservice/consigns"
        routes = [
            Route("PUT", base, _consign),
            Route("GET", base + "/order/{id}", _consigns_by("orderId")),
            Route("GET", base + "/account/{id}", _consigns_by("accountId")),
        ]
        return Program(routes, {"consign": []})
    if short == "consign-price":
        base = "/api/v1/consignpriceservice/consignprice"
        routes = [
            Route("GET", base + "/price", _consign_price_config),
            Route("GET", base + "/{weight}/{isWithinRegion}", _consign_price),
        ]
        return Program(routes, {"consign_price": seed.rows_for("consign_price")})
    raise ValueError(f"{spec.name} is not one of preserve's parts")
