"""What there is to eat: ts-train-food-service (each trip's menu) and ts-station-food-service (the stores
at each station), which ts-food-service puts together for a journey.

- train-food ``GET /api/v1/trainfoodservice/trainfoods``, ``.../trainfoods/{tripId}``;
- station-food ``GET /api/v1/stationfoodservice/stationfoodstores``, ``POST .../stationfoodstores``
  (a list of station names: their stores), ``GET .../stationfoodstores/{stationId}``;
- food ``GET /api/v1/foodservice/foods/{date}/{startStation}/{endStation}/{tripId}``: the trip's menu
  (train-food), its route (travel or travel2) and the stores of the stations from start to end
  (station-food), as ``{trainFoodList, foodStoreListMap}``.
"""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web

from remedlab.apps.train_ticket import seed
from remedlab.apps.train_ticket.query import travel_service
from remedlab.apps.train_ticket.service_base import Context, Program, Refused, Route, ServiceSpec, ok


async def _train_foods(ctx: Context, request: web.Request) -> Any:
    return ok(await ctx.db.all("train_food"))


async def _train_food_of(ctx: Context, request: web.Request) -> Any:
    trip = request.match_info["tripId"]
    found = [f for f in await ctx.db.all("train_food") if f["tripId"] == trip]
    if not found:
        raise Refused("No TrainFood of this trip")
    return ok(found[0]["foodList"])


async def _stores(ctx: Context, request: web.Request) -> Any:
    return ok(await ctx.db.all("station_food"))


async def _stores_of_stations(ctx: Context, request: web.Request) -> Any:
    try:
        names = await request.json() if request.can_read_body else []
    except ValueError:
        raise Refused("the request body is not JSON") from None
    if not isinstance(names, list):
        raise Refused("expected a list of station names")
    wanted = {seed.station_id(str(n)) for n in names}
    return ok([s for s in await ctx.db.all("station_food") if s["stationName"] in wanted])


async def _stores_of_station(ctx: Context, request: web.Request) -> Any:
    station = request.match_info["stationId"]
    return ok([s for s in await ctx.db.all("station_food") if s["stationName"] == station])


async def foods_for_journey(ctx: Context, request: web.Request) -> Any:
    trip, start, end = (request.match_info[k] for k in ("tripId", "startStation", "endStation"))
    travel, prefix = travel_service(trip)
    menu, route = await asyncio.gather(
        ctx.call("ts-train-food-service", "GET", f"/api/v1/trainfoodservice/trainfoods/{trip}"),
        ctx.call(travel, "GET", f"/api/v1/{prefix}/routes/{trip}"),
    )
    stations: list[str] = route["stations"]
    start_id, end_id = seed.station_id(start), seed.station_id(end)
    if start_id not in stations or end_id not in stations:
        raise Refused("the trip does not pass these stations")
    on_way = stations[stations.index(start_id) : stations.index(end_id) + 1]
    stores = await ctx.call("ts-station-food-service", "POST", "/api/v1/stationfoodservice/stationfoodstores", on_way)
    by_station: dict[str, list[dict[str, Any]]] = {s: [] for s in on_way}
    for store in stores:
        by_station.setdefault(store["stationName"], []).append(store)
    return ok({"trainFoodList": menu, "foodStoreListMap": by_station}, "Get All Food Success")


def program(spec: ServiceSpec) -> Program:
    if spec.short == "train-food":
        base = "/api/v1/trainfoodservice/trainfoods"
        routes = [Route("GET", base, _train_foods), Route("GET", base + "/{tripId}", _train_food_of)]
        return Program(routes, {"train_food": seed.rows_for("train_food")})
    base = "/api/v1/stationfoodservice/stationfoodstores"
    routes = [
        Route("GET", base, _stores),
        Route("POST", base, _stores_of_stations),
        Route("GET", base + "/{stationId}", _stores_of_station),
    ]
    return Program(routes, {"station_food": seed.rows_for("station_food")})
