"""Booking: ts-preserve-service (G and D trains) and ts-preserve-other-service (the others).

``POST /api/v1/preserveservice/preserve`` (preserve-other: ``/api/v1/preserveotherservice/preserveOther``)
takes the original's OrderTicketsInfo ``{accountId, contactsId, tripId, seatType, date, from, to,
assurance, foodType, foodName, foodPrice, stationName, storeName, consigneeName, consigneePhone,
consigneeWeight, isWithin}`` with a bearer token, and calls in the original's order:
security (the account's limits), contacts, travel's trip_detail (prices and tickets left), station
(both ids), seat (a seat), order (the order, not paid), then assurance, food and consign when asked
for, and user (the account, to notify); then the notification, to the broker's `email` queue, which
ts-notification-service consumes. Answers the new order.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from remedlab.apps.train_ticket import tokens
from remedlab.apps.train_ticket.query import COMFORT, ECONOMY, order_base, travel_service
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


async def preserve(ctx: Context, request: web.Request) -> Any:
    tokens.claims_of(request)  # any signed-in caller may book, for any account, as in the original
    info = await body_of(request)
    account, trip_id = text(info, "accountId"), text(info, "tripId")
    date, start, end = text(info, "date"), text(info, "from"), text(info, "to")
    seat_type = int(number(info, "seatType", ECONOMY))
    await ctx.call("ts-security-service", "GET", f"/api/v1/securityservice/securityConfigs/{account}")
    contact = await ctx.call(
        "ts-contacts-service", "GET", f"/api/v1/contactservice/contacts/{text(info, 'contactsId')}"
    )
    travel, prefix = travel_service(trip_id)
    detail = await ctx.call(
        travel,
        "POST",
        f"/api/v1/{prefix}/trip_detail",
        {"tripId": trip_id, "travelDate": date, "from": start, "to": end},
    )
    trip = detail["tripResponse"]
    left = trip["confortClass"] if seat_type == COMFORT else trip["economyClass"]
    if int(left) <= 0:
        raise Refused("Seat Not Enough")
    start_id = await ctx.call("ts-station-service", "GET", f"/api/v1/stationservice/stations/id/{start}")
    end_id = await ctx.call("ts-station-service", "GET", f"/api/v1/stationservice/stations/id/{end}")
    ticket = await ctx.call(
        "ts-seat-service",
        "POST",
        "/api/v1/seatservice/seats",
        {
            "travelDate": date,
            "trainNumber": trip_id,
            "startStation": start_id,
            "destStation": end_id,
            "seatType": seat_type,
        },
    )
    price = trip["priceForConfortClass"] if seat_type == COMFORT else trip["priceForEconomyClass"]
    order = {
        "accountId": account,
        "contactsName": contact["name"],
        "documentType": contact["documentType"],
        "contactsDocumentNumber": contact["documentNumber"],
        "trainNumber": trip_id,
        "coachNumber": 5,
        "seatClass": seat_type,
        "seatNumber": str(ticket["seatNo"]),
        "from": start_id,
        "to": end_id,
        "travelDate": date,
        "travelTime": detail["trip"]["startTime"],
        "price": str(price),
    }
    service, path = order_base(trip_id)
    created = await ctx.call(service, "POST", path, order)
    order_id = created["id"]
    if int(number(info, "assurance", 0)) != 0:
        await ctx.call(
            "ts-assurance-service", "GET", f"/api/v1/assuranceservice/assurances/{int(info['assurance'])}/{order_id}"
        )
    if int(number(info, "foodType", 0)) != 0:
        food = {k: info.get(k) for k in ("foodType", "foodName", "stationName", "storeName")}
        await ctx.call(
            "ts-food-service",
            "POST",
            "/api/v1/foodservice/orders",
            food | {"orderId": order_id, "price": info.get("foodPrice", 0)},
        )
    if str(info.get("consigneeName") or "").strip():
        consign = {
            "orderId": order_id,
            "accountId": account,
            "handleDate": info.get("handleDate") or date,
            "targetDate": date,
            "from": start,
            "to": end,
            "consignee": info["consigneeName"],
            "phone": info.get("consigneePhone", ""),
            "weight": info.get("consigneeWeight", 1.0),
            "isWithin": bool(info.get("isWithin")),
        }
        await ctx.call("ts-consign-service", "PUT", "/api/v1/consignservice/consigns", consign)
    user = await ctx.call("ts-user-service", "GET", f"/api/v1/userservice/users/id/{account}")
    notify = {
        "email": (user or {}).get("email", ""),
        "username": (user or {}).get("userName", ""),
        "orderNumber": order_id,
        "startPlace": start,
        "endPlace": end,
        "startTime": detail["trip"]["startTime"],
        "date": date,
        "seatClass": seat_type,
        "seatNumber": str(ticket["seatNo"]),
        "price": str(price),
    }
    await ctx.send("email", notify)
    return ok(created, "Success.")


def program(spec: ServiceSpec) -> Program:
    path = (
        "/api/v1/preserveservice/preserve" if spec.short == "preserve" else "/api/v1/preserveotherservice/preserveOther"
    )
    return Program([Route("POST", path, preserve)])
