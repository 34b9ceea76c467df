"""The admin views: ts-admin-basic-info, -order, -route, -travel and -user, each a view over the services
that hold the data, for an administrator's bearer token (ROLE_ADMIN).

- ``GET /api/v1/adminbasicservice/adminbasic/{stations|trains|configs|prices}`` → station, train,
  config, price;
- ``GET /api/v1/adminorderservice/adminorder`` → order and order-other;
- ``GET /api/v1/adminrouteservice/adminroute`` → route;
- ``GET /api/v1/admintravelservice/admintravel`` → travel and travel2;
- ``GET /api/v1/adminuserservice/users`` → user.
"""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web

from remedlab.apps.train_ticket import tokens
from remedlab.apps.train_ticket.service_base import Context, Handler, Program, Refused, Route, ServiceSpec, ok

BASIC = {
    "stations": ("ts-station-service", "/api/v1/stationservice/stations"),
    "trains": ("ts-train-service", "/api/v1/trainservice/trains"),
    "configs": ("ts-config-service", "/api/v1/configservice/configs"),
    "prices": ("ts-price-service", "/api/v1/priceservice/prices"),
}
VIEWS: dict[str, tuple[str, list[tuple[str, str]]]] = {
    "admin-order": (
        "/api/v1/adminorderservice/adminorder",
        [
            ("ts-order-service", "/api/v1/orderservice/order"),
            ("ts-order-other-service", "/api/v1/orderOtherService/orderOther"),
        ],
    ),
    "admin-route": ("/api/v1/adminrouteservice/adminroute", [("ts-route-service", "/api/v1/routeservice/routes")]),
    "admin-travel": (
        "/api/v1/admintravelservice/admintravel",
        [("ts-travel-service", "/api/v1/travelservice/trips"), ("ts-travel2-service", "/api/v1/travel2service/trips")],
    ),
    "admin-user": ("/api/v1/adminuserservice/users", [("ts-user-service", "/api/v1/userservice/users")]),
}


def require_admin(request: web.Request) -> None:
    if "ROLE_ADMIN" not in tokens.claims_of(request).roles:
        raise Refused("Forbidden: an administrator's token is needed")


def view(sources: list[tuple[str, str]]) -> Handler:
    async def handle(ctx: Context, request: web.Request) -> Any:
        require_admin(request)
        parts = await asyncio.gather(*(ctx.call(service, "GET", path) for service, path in sources))
        return ok([row for part in parts for row in part], "Success")

    return handle


def program(spec: ServiceSpec) -> Program:
    if spec.short == "admin-basic-info":
        base = "/api/v1/adminbasicservice/adminbasic"
        return Program([Route("GET", f"{base}/{name}", view([source])) for name, source in BASIC.items()])
    path, sources = VIEWS[spec.short]
    return Program([Route("GET", path, view(sources))])
