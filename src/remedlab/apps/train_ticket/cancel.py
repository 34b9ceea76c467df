"""Cancelling: ts-cancel-service.

``GET /api/v1/cancelservice/cancel/refound/{orderId}`` the refund a cancellation would give (80 % of a
paid order's price, nothing for an unpaid one); ``GET /api/v1/cancelservice/cancel/{orderId}/{loginId}``
cancels: the order from order (else order-other), its status set to cancelled there, the refund
credited through inside-payment's drawback, and the account read from user (to notify).
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from aiohttp import web

from remedlab.apps.train_ticket.order import OrderStatus
from remedlab.apps.train_ticket.service_base import Context, Program, Refused, Route, ServiceSpec, ok

REFUND_SHARE = Decimal("0.8")
CANCELLABLE = (OrderStatus.NOTPAID, OrderStatus.PAID, OrderStatus.CHANGE)
ORDER_BASES = (
    ("ts-order-service", "/api/v1/orderservice/order"),
    ("ts-order-other-service", "/api/v1/orderOtherService/orderOther"),
)


def refund_of(order: dict[str, Any]) -> Decimal:
    if int(order["status"]) == OrderStatus.NOTPAID:
        return Decimal(0)
    return (Decimal(str(order["price"])) * REFUND_SHARE).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


async def _find(ctx: Context, order_id: str) -> tuple[str, str, dict[str, Any]]:
    for service, base in ORDER_BASES:
        try:
            return service, base, await ctx.call(service, "GET", f"{base}/{order_id}")
        except Refused:
            continue
    raise Refused("Order Not Found.")


async def _refund(ctx: Context, request: web.Request) -> Any:
    _, _, order = await _find(ctx, request.match_info["orderId"])
    if int(order["status"]) not in CANCELLABLE:
        raise Refused("Order Status Cancel Not Permitted, Refound error")
    return ok(str(refund_of(order)), "Success. ")


async def _cancel(ctx: Context, request: web.Request) -> Any:
    order_id, login_id = request.match_info["orderId"], request.match_info["loginId"]
    service, base, order = await _find(ctx, order_id)
    if order["accountId"] != login_id:
        raise Refused("Order Not Belong To This User")
    if int(order["status"]) not in CANCELLABLE:
        raise Refused("Order Status Cancel Not Permitted")
    refund = refund_of(order)
    await ctx.call(service, "PUT", base, {"id": order_id, "status": int(OrderStatus.CANCEL)})
    if refund > 0:
        await ctx.call(
            "ts-inside-payment-service",
            "GET",
            f"/api/v1/inside_pay_service/inside_payment/drawback/{login_id}/{refund}",
        )
    await ctx.call("ts-user-service", "GET", f"/api/v1/userservice/users/id/{login_id}")
    return ok(str(refund), "Success.")


def program(spec: ServiceSpec) -> Program:
    base = "/api/v1/cancelservice/cancel"
    return Program(
        [Route("GET", base + "/refound/{orderId}", _refund), Route("GET", base + "/{orderId}/{loginId}", _cancel)]
    )
