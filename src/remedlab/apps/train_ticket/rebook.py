"""Changing a ticket: ts-rebook-service.

``POST /api/v1/rebookservice/rebook`` ``{loginId, orderId, oldTripId, tripId, seatType, date}``: the paid
order from order (or order-other), the new trip's prices and tickets left from travel (or travel2),
a seat from seat; when the new ticket costs more it is refused with the difference to pay, else the
order (same order service: G and D trips change among themselves, the others among themselves) takes
the new trip, seat, date and price with status "changed", and inside-payment refunds the difference.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from aiohttp import web

from remedlab.apps.train_ticket.order import OrderStatus
from remedlab.apps.train_ticket.query import COMFORT, ECONOMY, is_high_speed, order_base, travel_service
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


async def _rebook(ctx: Context, request: web.Request) -> Any:
    info = await body_of(request)
    login, order_id = text(info, "loginId"), text(info, "orderId")
    old_trip, new_trip, date = text(info, "oldTripId"), text(info, "tripId"), text(info, "date")
    seat_type = int(number(info, "seatType", ECONOMY))
    if is_high_speed(old_trip) != is_high_speed(new_trip):
        raise Refused("a G or D ticket changes to a G or D train, any other to any other")
    service, base = order_base(old_trip)
    order = await ctx.call(service, "GET", f"{base}/{order_id}")
    if order["accountId"] != login:
        raise Refused("Order Not Belong To This User")
    if int(order["status"]) != OrderStatus.PAID:
        raise Refused("you can only change the ticket of a paid order")
    start, end = order["from"], order["to"]  # station ids are their names, lower-case
    travel, prefix = travel_service(new_trip)
    detail = await ctx.call(
        travel,
        "POST",
        f"/api/v1/{prefix}/trip_detail",
        {"tripId": new_trip, "travelDate": date, "from": start, "to": end},
    )
    trip = detail["tripResponse"]
    if int(trip["confortClass"] if seat_type == COMFORT else trip["economyClass"]) <= 0:
        raise Refused("Seat Not Enough")
    price = Decimal(str(trip["priceForConfortClass"] if seat_type == COMFORT else trip["priceForEconomyClass"]))
    old_price = Decimal(str(order["price"]))
    if price > old_price:
        return {"status": 2, "msg": "Please pay the different money!", "data": str(price - old_price)}
    ticket = await ctx.call(
        "ts-seat-service",
        "POST",
        "/api/v1/seatservice/seats",
        {"travelDate": date, "trainNumber": new_trip, "startStation": start, "destStation": end, "seatType": seat_type},
    )
    changed = {
        "id": order_id,
        "trainNumber": new_trip,
        "travelDate": date,
        "travelTime": detail["trip"]["startTime"],
        "seatClass": seat_type,
        "seatNumber": str(ticket["seatNo"]),
        "price": str(price),
        "status": int(OrderStatus.CHANGE),
    }
    updated = await ctx.call(service, "PUT", base, changed)
    if old_price > price:
        path = f"/api/v1/inside_pay_service/inside_payment/drawback/{login}/{old_price - price}"
        await ctx.call("ts-inside-payment-service", "GET", path)
    return ok(updated, "Success!")


def program(spec: ServiceSpec) -> Program:
    return Program([Route("POST", "/api/v1/rebookservice/rebook", _rebook)])
