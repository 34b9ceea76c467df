"""Searching trips: travel and travel2 → basic → station, train, route, price; seat → order, config.

- station ``GET /api/v1/stationservice/stations``, ``.../stations/id/{name}`` (the id of a name);
  train ``GET /api/v1/trainservice/trains``, ``.../trains/byName/{name}``; route ``GET
  /api/v1/routeservice/routes``, ``.../routes/{routeId}``; price ``GET /api/v1/priceservice/prices``,
  ``.../prices/{routeId}/{trainType}``; config ``GET /api/v1/configservice/configs/{name}``.
- basic ``POST /api/v1/basicservice/basic/travel`` ``{trip, startPlace, endPlace, departureTime}``:
  checks both stations (station), the train type (train), the route (route) and the rates (price),
  and answers ``{status, percent, trainType, route, prices}``.
- seat ``POST /api/v1/seatservice/seats/left_tickets`` ``{travelDate, trainNumber, startStation,
  destStation, seatType, totalNum, stations}``: tickets left (sold ones from order, or order-other
  for trains other than G and D, and config's allocation proportion); ``POST /api/v1/seatservice/seats``
  dispatches a seat: the trip's route and train type (travel or travel2), the sold seats (order).
- travel (G, D trips) and travel2 (the others) ``POST /api/v1/<travel|travel2>service/trips/left``
  ``{startPlace, endPlace, departureTime}``: each trip whose route runs from start to end, with
  basic's prices and seat's tickets left per class; ``POST .../trip_detail``; ``GET .../routes/{tripId}``,
  ``.../train_types/{tripId}``, ``.../trips`` and the admin's ``POST``/``PUT``/``DELETE .../trips``.
"""

from __future__ import annotations

import asyncio
import random
from typing import Any

from aiohttp import web

from remedlab.apps.train_ticket import seed
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

ECONOMY, COMFORT = 3, 2  # the original's seat classes: 2 first (comfort) class, 3 second (economy)


def is_high_speed(trip_id: str) -> bool:
    return trip_id.startswith(seed.HIGH_SPEED)


def order_base(trip_id: str) -> tuple[str, str]:
    """The order service of a trip and its orders' path: order for G and D trains, order-other otherwise."""
    if is_high_speed(trip_id):
        return "ts-order-service", "/api/v1/orderservice/order"
    return "ts-order-other-service", "/api/v1/orderOtherService/orderOther"


def travel_service(trip_id: str) -> tuple[str, str]:
    return (
        ("ts-travel-service", "travelservice") if is_high_speed(trip_id) else ("ts-travel2-service", "travel2service")
    )


def segment_distance(route: dict[str, Any], start: str, end: str) -> float:
    """The km from ``start`` to ``end`` on ``route``; refused when the route does not run that way."""
    stations: list[str] = route["stations"]
    if start not in stations or end not in stations or stations.index(start) >= stations.index(end):
        raise Refused(f"route {route['id']} does not run from {start} to {end}")
    distances: list[float] = route["distances"]
    return float(distances[stations.index(end)] - distances[stations.index(start)])


def overlaps(stations: list[str], a_start: str, a_end: str, b_start: str, b_end: str) -> bool:
    """Whether two journeys on one route share a stretch of track."""
    try:
        a0, a1, b0, b1 = (stations.index(s) for s in (a_start, a_end, b_start, b_end))
    except ValueError:
        return True
    return a0 < b1 and b0 < a1


# --------------------------------------------------------------------------- station, train, route, price, config


def _lookup(table: str, key: str, match: str, message: str) -> Any:
    async def handle(ctx: Context, request: web.Request) -> Any:
        wanted = request.match_info[key]
        found = next((r for r in await ctx.db.all(table) if str(r.get(match)) == wanted), None)
        if found is None:
            raise Refused(message)
        return ok(found)

    return handle


def _listing(table: str) -> Any:
    async def handle(ctx: Context, request: web.Request) -> Any:
        return ok(await ctx.db.all(table))

    return handle


def _saving(table: str) -> Any:
    async def handle(ctx: Context, request: web.Request) -> Any:
        body = await body_of(request)
        body["id"] = text(body, "id")
        return ok(await ctx.db.put(table, body))

    return handle


async def _station_id(ctx: Context, request: web.Request) -> Any:
    name = request.match_info["name"]
    found = await ctx.db.get("station", seed.station_id(name))
    if found is None:
        raise Refused("Station not exist")
    return ok(found["id"], "Success")


async def _price(ctx: Context, request: web.Request) -> Any:
    route_id, train = request.match_info["routeId"], request.match_info["trainType"]
    found = next(
        (p for p in await ctx.db.all("price_config") if p["routeId"] == route_id and p["trainType"] == train), None
    )
    if found is None:
        raise Refused("No that config")
    return ok(found)


# --------------------------------------------------------------------------- basic


async def _basic_travel(ctx: Context, request: web.Request) -> Any:
    body = await body_of(request)
    trip = body.get("trip") or {}
    start, end = text(body, "startPlace"), text(body, "endPlace")
    start_id, end_id, train, route = await asyncio.gather(
        ctx.call("ts-station-service", "GET", f"/api/v1/stationservice/stations/id/{start}"),
        ctx.call("ts-station-service", "GET", f"/api/v1/stationservice/stations/id/{end}"),
        ctx.call("ts-train-service", "GET", f"/api/v1/trainservice/trains/byName/{text(trip, 'trainTypeName')}"),
        ctx.call("ts-route-service", "GET", f"/api/v1/routeservice/routes/{text(trip, 'routeId')}"),
    )
    price = await ctx.call("ts-price-service", "GET", f"/api/v1/priceservice/prices/{route['id']}/{train['id']}")
    distance = segment_distance(route, start_id, end_id)
    prices = {
        "economyClass": round(distance * float(price["basicPriceRate"]), 2),
        "confortClass": round(distance * float(price["firstClassPriceRate"]), 2),
    }
    return ok({"status": True, "percent": 1.0, "trainType": train, "route": route, "prices": prices})


# --------------------------------------------------------------------------- seat


async def _sold(ctx: Context, trip_id: str, travel_date: str) -> list[dict[str, Any]]:
    service, base = order_base(trip_id)
    info = await ctx.call(service, "POST", f"{base}/tickets", {"travelDate": travel_date, "trainNumber": trip_id})
    return list((info or {}).get("soldTickets") or [])


async def _left_tickets(ctx: Context, request: web.Request) -> Any:
    body = await body_of(request)
    trip_id, date = text(body, "trainNumber"), text(body, "travelDate")
    start, end = text(body, "startStation"), text(body, "destStation")
    stations = [str(s) for s in body.get("stations") or []]
    total = int(number(body, "totalNum"))
    sold, proportion = await asyncio.gather(
        _sold(ctx, trip_id, date),
        ctx.call("ts-config-service", "GET", "/api/v1/configservice/configs/DirectTicketAllocationProportion"),
    )
    taken = sum(1 for t in sold if overlaps(stations, start, end, t["startStation"], t["destStation"]))
    # the original allots a share of the seats to through journeys from the first to the last station
    share = float(proportion["value"]) if stations and (start, end) != (stations[0], stations[-1]) else 1.0
    return ok(max(0, int(total * share) - taken))


async def _dispatch_seat(ctx: Context, request: web.Request) -> Any:
    body = await body_of(request)
    trip_id, date = text(body, "trainNumber"), text(body, "travelDate")
    start, end = text(body, "startStation"), text(body, "destStation")
    service, prefix = travel_service(trip_id)
    route, train, sold = await asyncio.gather(
        ctx.call(service, "GET", f"/api/v1/{prefix}/routes/{trip_id}"),
        ctx.call(service, "GET", f"/api/v1/{prefix}/train_types/{trip_id}"),
        _sold(ctx, trip_id, date),
    )
    seats = int(train["confortClass"] if int(number(body, "seatType", ECONOMY)) == COMFORT else train["economyClass"])
    taken = {
        int(t["seatNo"]) for t in sold if overlaps(route["stations"], start, end, t["startStation"], t["destStation"])
    }
    rng = random.Random(f"{trip_id}/{date}/{len(sold)}")
    seat_no = next(n for n in (rng.randint(1, min(seats, 10_000)) for _ in range(10_000)) if n not in taken)
    return ok({"seatNo": seat_no, "startStation": start, "destStation": end}, "Use a new seat number!")


# --------------------------------------------------------------------------- travel, travel2


def _travel_routes(spec: ServiceSpec) -> list[Route]:
    table = "trip" if spec.short == "travel" else "trip2"
    base = f"/api/v1/{spec.prefixes[0]}"

    async def trip_of(ctx: Context, trip_id: str) -> dict[str, Any]:
        trip = await ctx.db.get(table, trip_id)
        if trip is None:
            raise Refused(f"Trip {trip_id} not found")
        return trip

    async def response(ctx: Context, trip: dict[str, Any], start: str, end: str, date: str) -> dict[str, Any]:
        """A trip's TripResponse from ``start`` to ``end`` (station names) on ``date``."""
        basic = await ctx.call(
            "ts-basic-service",
            "POST",
            "/api/v1/basicservice/basic/travel",
            {"trip": trip, "startPlace": start, "endPlace": end, "departureTime": date},
        )
        route, train = basic["route"], basic["trainType"]
        seat = {"travelDate": date, "trainNumber": trip["tripId"], "startStation": seed.station_id(start)}
        seat |= {"destStation": seed.station_id(end), "stations": route["stations"]}
        economy, comfort = await asyncio.gather(
            ctx.call(
                "ts-seat-service",
                "POST",
                "/api/v1/seatservice/seats/left_tickets",
                seat | {"seatType": ECONOMY, "totalNum": train["economyClass"]},
            ),
            ctx.call(
                "ts-seat-service",
                "POST",
                "/api/v1/seatservice/seats/left_tickets",
                seat | {"seatType": COMFORT, "totalNum": train["confortClass"]},
            ),
        )
        return {
            "tripId": trip["tripId"],
            "trainTypeName": trip["trainTypeName"],
            "startStation": start,
            "terminalStation": end,
            "startTime": trip["startTime"],
            "endTime": trip["endTime"],
            "economyClass": economy,
            "confortClass": comfort,
            "priceForEconomyClass": basic["prices"]["economyClass"],
            "priceForConfortClass": basic["prices"]["confortClass"],
        }

    async def left(ctx: Context, request: web.Request) -> Any:
        body = await body_of(request)
        start, end, date = text(body, "startPlace"), text(body, "endPlace"), text(body, "departureTime")
        start_id, end_id = seed.station_id(start), seed.station_id(end)
        trips = await ctx.db.all(table)
        routes = await asyncio.gather(
            *(ctx.call("ts-route-service", "GET", f"/api/v1/routeservice/routes/{t['routeId']}") for t in trips)
        )
        on_way = []
        for trip, route in zip(trips, routes, strict=True):
            stations = route["stations"]
            if start_id in stations and end_id in stations and stations.index(start_id) < stations.index(end_id):
                on_way.append(trip)
        found = await asyncio.gather(*(response(ctx, t, start, end, date) for t in on_way))
        return ok(sorted(found, key=lambda r: r["tripId"]), "Success Query")

    async def detail(ctx: Context, request: web.Request) -> Any:
        body = await body_of(request)
        trip = await trip_of(ctx, text(body, "tripId"))
        found = await response(ctx, trip, text(body, "from"), text(body, "to"), text(body, "travelDate"))
        return ok({"status": True, "message": "Success", "tripResponse": found, "trip": trip})

    async def route_of(ctx: Context, request: web.Request) -> Any:
        trip = await trip_of(ctx, request.match_info["tripId"])
        return ok(await ctx.call("ts-route-service", "GET", f"/api/v1/routeservice/routes/{trip['routeId']}"))

    async def train_of(ctx: Context, request: web.Request) -> Any:
        trip = await trip_of(ctx, request.match_info["tripId"])
        return ok(
            await ctx.call("ts-train-service", "GET", f"/api/v1/trainservice/trains/byName/{trip['trainTypeName']}")
        )

    async def one(ctx: Context, request: web.Request) -> Any:
        return ok(await trip_of(ctx, request.match_info["tripId"]))

    async def save(ctx: Context, request: web.Request) -> Any:
        body = await body_of(request)
        body["id"] = body["tripId"] = text(body, "tripId")
        return ok(await ctx.db.put(table, body))

    async def delete(ctx: Context, request: web.Request) -> Any:
        await ctx.db.delete(table, request.match_info["tripId"])
        return ok(request.match_info["tripId"], "Delete trip")

    return [
        Route("POST", base + "/trips/left", left),
        Route("POST", base + "/trip_detail", detail),
        Route("GET", base + "/routes/{tripId}", route_of),
        Route("GET", base + "/train_types/{tripId}", train_of),
        Route("GET", base + "/trips", _listing(table)),
        Route("GET", base + "/trips/{tripId}", one),
        Route("POST", base + "/trips", save),
        Route("PUT", base + "/trips", save),
        Route("DELETE", base + "/trips/{tripId}", delete),
    ]


def program(spec: ServiceSpec) -> Program:
    short = spec.short
    if short in ("travel", "travel2"):
        table = "trip" if short == "travel" else "trip2"
        return Program(_travel_routes(spec), {table: seed.rows_for(table)})
    if short == "basic":
        return Program([Route("POST", "/api/v1/basicservice/basic/travel", _basic_travel)])
    if short == "seat":
        return Program(
            [
                Route("POST", "/api/v1/seatservice/seats/left_tickets", _left_tickets),
                Route("POST", "/api/v1/seatservice/seats", _dispatch_seat),
            ]
        )
    base = f"/api/v1/{spec.prefixes[0]}"
    if short == "station":
        routes = [
            Route("GET", base + "/stations", _listing("station")),
            Route("POST", base + "/stations", _saving("station")),
            Route("GET", base + "/stations/id/{name}", _station_id),
        ]
        return Program(routes, {"station": seed.rows_for("station")})
    if short == "train":
        routes = [
            Route("GET", base + "/trains", _listing("train_type")),
            Route("POST", base + "/trains", _saving("train_type")),
            Route("GET", base + "/trains/byName/{name}", _lookup("train_type", "name", "name", "here is no train")),
        ]
        return Program(routes, {"train_type": seed.rows_for("train_type")})
    if short == "route":
        routes = [
            Route("GET", base + "/routes", _listing("route")),
            Route("POST", base + "/routes", _saving("route")),
            Route("GET", base + "/routes/{routeId}", _lookup("route", "routeId", "id", "No content with the routeId")),
        ]
        return Program(routes, {"route": seed.rows_for("route")})
    if short == "price":
        routes = [
            Route("GET", base + "/prices", _listing("price_config")),
            Route("POST", base + "/prices", _saving("price_config")),
            Route("GET", base + "/prices/{routeId}/{trainType}", _price),
        ]
        return Program(routes, {"price_config": seed.rows_for("price_config")})
    if short == "config":
        routes = [
            Route("GET", base + "/configs", _listing("config")),
            Route("POST", base + "/configs", _saving("config")),
            Route("GET", base + "/configs/{name}", _lookup("config", "name", "name", "No content")),
        ]
        return Program(routes, {"config": seed.rows_for("config")})
    raise ValueError(f"{spec.name} is not a query service")
