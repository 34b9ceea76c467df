"""Paying: ts-inside-payment-service (the account's balance) and ts-payment-service (outside payments).

- inside-payment ``POST /api/v1/inside_pay_service/inside_payment`` ``{userId, orderId, tripId}``:
  reads the order (order or order-other), pays it from the account's balance, or through payment when
  the balance is short, then marks it paid (order's ``/status/{orderId}/1``).
  ``GET .../inside_payment/drawback/{userId}/{money}`` credits a refund; ``GET .../inside_payment/account``
  the balances; ``GET .../inside_payment/payment`` the payments.
- payment ``POST /api/v1/paymentservice/payment`` ``{orderId, price, userId}``; ``GET`` lists them.
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from aiohttp import web

from remedlab.apps.train_ticket import seed
from remedlab.apps.train_ticket.order import OrderStatus
from remedlab.apps.train_ticket.query import order_base
from remedlab.apps.train_ticket.service_base import Context, Program, Refused, Route, ServiceSpec, body_of, ok, text


def balance(money: list[dict[str, Any]], payments: list[dict[str, Any]], user_id: str) -> Decimal:
    """Credits (the starting balance, refunds) less what the account paid from its balance."""
    credits = sum((Decimal(m["money"]) for m in money if m["userId"] == user_id), Decimal(0))
    spent = sum((Decimal(p["price"]) for p in payments if p["userId"] == user_id and p["type"] == "P"), Decimal(0))
    return credits - spent


async def _pay(ctx: Context, request: web.Request) -> Any:
    body = await body_of(request)
    user_id, order_id, trip_id = text(body, "userId"), text(body, "orderId"), text(body, "tripId")
    service, path = order_base(trip_id)
    order = await ctx.call(service, "GET", f"{path}/{order_id}")
    if int(order["status"]) != OrderStatus.NOTPAID:
        raise Refused("Error. Order status Not allowed to Pay.")
    price = Decimal(str(order["price"]))
    left = balance(await ctx.db.all("money"), await ctx.db.all("inside_payment"), user_id)
    kind = "P"
    if left < price:
        await ctx.call(
            "ts-payment-service",
            "POST",
            "/api/v1/paymentservice/payment",
            {"orderId": order_id, "price": str(price), "userId": user_id},
        )
        kind = "O"
    payment = {"id": str(uuid.uuid4()), "orderId": order_id, "userId": user_id, "price": str(price), "type": kind}
    await ctx.db.put("inside_payment", payment)
    await ctx.call(service, "GET", f"{path}/status/{order_id}/{int(OrderStatus.PAID)}")
    return ok(None, "Payment Success")


async def _drawback(ctx: Context, request: web.Request) -> Any:
    user_id, money = request.match_info["userId"], request.match_info["money"]
    try:
        amount = Decimal(money)
    except ArithmeticError:
        raise Refused("money must be a number") from None
    await ctx.db.put("money", {"id": str(uuid.uuid4()), "userId": user_id, "money": str(amount), "type": "D"})
    return ok(None, "Draw Back Money Success")


async def _accounts(ctx: Context, request: web.Request) -> Any:
    money, payments = await ctx.db.all("money"), await ctx.db.all("inside_payment")
    users = sorted({m["userId"] for m in money})
    return ok([{"userId": u, "balance": str(balance(money, payments, u))} for u in users])


async def _payments(ctx: Context, request: web.Request) -> Any:
    return ok(await ctx.db.all("inside_payment"))


async def _outside_pay(ctx: Context, request: web.Request) -> Any:
    body = await body_of(request)
    doc = {"id": str(uuid.uuid4()), "orderId": text(body, "orderId"), "userId": text(body, "userId")}
    doc["price"] = text(body, "price")
    return ok(await ctx.db.put("payment", doc), "Pay Success")


async def _outside_payments(ctx: Context, request: web.Request) -> Any:
    return ok(await ctx.db.all("payment"))


def program(spec: ServiceSpec) -> Program:
    if spec.short == "payment":
        base = "/api/v1/paymentservice/payment"
        return Program([Route("POST", base, _outside_pay), Route("GET", base, _outside_payments)], {"payment": []})
    base = "/api/v1/inside_pay_service/inside_payment"
    routes = [
        Route("POST", base, _pay),
        Route("GET", base + "/drawback/{userId}/{money}", _drawback),
        Route("GET", base + "/account", _accounts),
        Route("GET", base + "/payment", _payments),
    ]
    return Program(routes, {"money": seed.rows_for("money"), "inside_payment": []})
