"""Using a ticket: ts-execute-service.

``GET /api/v1/executeservice/execute/collected/{orderId}`` collects a paid ticket (status 2) and
``GET /api/v1/executeservice/execute/execute/{orderId}`` lets a collected one through the gate
(status 6, used), on order, else order-other, as the original.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from remedlab.apps.train_ticket.cancel import ORDER_BASES
from remedlab.apps.train_ticket.order import OrderStatus
from remedlab.apps.train_ticket.service_base import Context, Handler, Program, Refused, Route, ServiceSpec, ok


def _step(wanted: OrderStatus, to: OrderStatus, refusal: str, done: str) -> Handler:
    async def handle(ctx: Context, request: web.Request) -> Any:
        order_id = request.match_info["orderId"]
        for service, base in ORDER_BASES:
            try:
                order = await ctx.call(service, "GET", f"{base}/{order_id}")
            except Refused:
                continue
            if int(order["status"]) != wanted:
                raise Refused(refusal)
            await ctx.call(service, "GET", f"{base}/status/{order_id}/{int(to)}")
            return ok(None, done)
        raise Refused("Order Not Found")

    return handle


def program(spec: ServiceSpec) -> Program:
    base = "/api/v1/executeservice/execute"
    collect = _step(OrderStatus.PAID, OrderStatus.COLLECTED, "Order Status Wrong", "Success.")
    enter = _step(OrderStatus.COLLECTED, OrderStatus.USED, "Order Status Wrong", "Success.")
    return Program(
        [Route("GET", base + "/collected/{orderId}", collect), Route("GET", base + "/execute/{orderId}", enter)]
    )
