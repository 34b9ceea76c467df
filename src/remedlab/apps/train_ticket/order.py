"""Orders: ts-order-service (G and D trains) and ts-order-other-service (the others), each on its own table.

Under ``/api/v1/orderservice/order`` (order-other: ``/api/v1/orderOtherService/orderOther``):
``POST /tickets`` ``{travelDate, trainNumber}`` the seats sold; ``POST`` creates an order (status 0,
not paid); ``POST /refresh`` the caller's orders (bearer token); ``GET /{orderId}``; ``PUT`` updates;
``GET /status/{orderId}/{status}``; ``GET /security/{checkDate}/{accountId}`` (security's counts);
``GET /price/{orderId}``, ``GET /orderPay/{orderId}`` (marks it paid); ``GET`` all (the admin's);
``DELETE /{orderId}``.
"""

from __future__ import annotations

import time
import uuid
from enum import IntEnum
from typing import Any

from aiohttp import web

from remedlab.apps.train_ticket import tokens
from remedlab.apps.train_ticket.service_base import Context, Program, Refused, Route, ServiceSpec, body_of, ok, text

HOUR_MS = 3_600_000


class OrderStatus(IntEnum):
    NOTPAID = 0
    PAID = 1
    COLLECTED = 2
    CHANGE = 3
    CANCEL = 4
    REFUNDS = 5
    USED = 6


VALID = (OrderStatus.NOTPAID, OrderStatus.PAID, OrderStatus.COLLECTED)


def now_ms() -> int:
    return int(time.time() * 1000)


def sold_tickets(orders: list[dict[str, Any]], travel_date: str, train_number: str) -> list[dict[str, Any]]:
    """The seats taken on one train on one day: orders neither cancelled nor refunded."""
    return [
        {"seatNo": int(o["seatNumber"]), "startStation": o["from"], "destStation": o["to"]}
        for o in orders
        if o["travelDate"] == travel_date
        and o["trainNumber"] == train_number
        and int(o["status"]) not in (OrderStatus.CANCEL, OrderStatus.REFUNDS)
    ]


def security_counts(orders: list[dict[str, Any]], account_id: str, now: int) -> dict[str, int]:
    mine = [o for o in orders if o["accountId"] == account_id]
    return {
        "orderNumInLastOneHour": sum(1 for o in mine if now - int(o.get("boughtDate", 0)) <= HOUR_MS),
        "orderNumOfValidOrder": sum(1 for o in mine if int(o["status"]) in VALID),
    }


def program(spec: ServiceSpec) -> Program:
    table = spec.short.replace("-", "_")
    base = "/api/v1/orderservice/order" if spec.short == "order" else "/api/v1/orderOtherService/orderOther"

    async def find(ctx: Context, order_id: str) -> dict[str, Any]:
        found = await ctx.db.get(table, order_id)
        if found is None:
            raise Refused("Order Not Found")
        return found

    async def tickets(ctx: Context, request: web.Request) -> Any:
        body = await body_of(request)
        date, train = text(body, "travelDate"), text(body, "trainNumber")
        sold = sold_tickets(await ctx.db.all(table), date, train)
        return ok({"travelDate": date, "trainNumber": train, "soldTickets": sold})

    async def create(ctx: Context, request: web.Request) -> Any:
        order = await body_of(request)
        for name in ("accountId", "travelDate", "trainNumber", "from", "to", "seatNumber", "price"):
            text(order, name)
        mine = [o for o in await ctx.db.all(table) if o["accountId"] == order["accountId"]]
        if any(
            o["trainNumber"] == order["trainNumber"]
            and o["travelDate"] == order["travelDate"]
            and str(o["seatNumber"]) == str(order["seatNumber"])
            and int(o["status"]) in VALID
            for o in mine
        ):
            raise Refused("Order already exist")
        order["id"] = str(uuid.uuid4())
        order["status"] = int(OrderStatus.NOTPAID)
        order["boughtDate"] = now_ms()
        return ok(await ctx.db.put(table, order), "Success")

    async def refresh(ctx: Context, request: web.Request) -> Any:
        claims = tokens.claims_of(request)
        body = await body_of(request)
        account = str(body.get("loginId") or claims.user_id)
        mine = [o for o in await ctx.db.all(table) if o["accountId"] == account]
        return ok(sorted(mine, key=lambda o: -int(o.get("boughtDate", 0))), "Query Orders For Refresh Success")

    async def one(ctx: Context, request: web.Request) -> Any:
        return ok(await find(ctx, request.match_info["orderId"]), "Success")

    async def update(ctx: Context, request: web.Request) -> Any:
        body = await body_of(request)
        order = await find(ctx, text(body, "id"))
        return ok(await ctx.db.put(table, order | body), "Success")

    async def status(ctx: Context, request: web.Request) -> Any:
        order = await find(ctx, request.match_info["orderId"])
        order["status"] = int(OrderStatus(int(request.match_info["status"])))
        return ok(await ctx.db.put(table, order), "Modify Order Success")

    async def security(ctx: Context, request: web.Request) -> Any:
        counts = security_counts(await ctx.db.all(table), request.match_info["accountId"], now_ms())
        return ok(counts, "Check Security Success . ")

    async def price(ctx: Context, request: web.Request) -> Any:
        return ok(str((await find(ctx, request.match_info["orderId"]))["price"]))

    async def pay(ctx: Context, request: web.Request) -> Any:
        order = await find(ctx, request.match_info["orderId"])
        order["status"] = int(OrderStatus.PAID)
        return ok(await ctx.db.put(table, order), "Pay Order Success.")

    async def every(ctx: Context, request: web.Request) -> Any:
        return ok(await ctx.db.all(table), "Success")

    async def delete(ctx: Context, request: web.Request) -> Any:
        await ctx.db.delete(table, request.match_info["orderId"])
        return ok(request.match_info["orderId"], "Delete Order Success")

    return Program(
        routes=[
            Route("POST", base + "/tickets", tickets),
            Route("POST", base + "/refresh", refresh),
            Route("POST", base, create),
            Route("PUT", base, update),
            Route("GET", base, every),
            Route("GET", base + "/status/{orderId}/{status}", status),
            Route("GET", base + "/security/{checkDate}/{accountId}", security),
            Route("GET", base + "/price/{orderId}", price),
            Route("GET", base + "/orderPay/{orderId}", pay),
            Route("GET", base + "/{orderId}", one),
            Route("DELETE", base + "/{orderId}", delete),
        ],
        tables={table: []},
    )
