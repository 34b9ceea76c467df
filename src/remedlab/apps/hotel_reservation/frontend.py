"""frontend: Hotel Reservation's HTTP API (port 5000).

- ``GET /hotels?inDate=&outDate=&lat=&lon=``: hotels near the point with rates
  and a free room for the stay (search, reservation, profile), as GeoJSON.
- ``GET /recommendations?require=dis|rate|price&lat=&lon=``: recommended
  hotels (recommendation, profile), as GeoJSON.
- ``GET|POST /user?username=&password=``: ``{"message"}`` saying whether the
  login succeeded (user).
- ``GET|POST /reservation?inDate=&outDate=&hotelId=&customerName=&username=&password=&number=``:
  ``{"message"}`` saying whether the rooms were booked (user, reservation).

Parameters come from the query string or, for POST, a form body. A missing or
invalid one answers 400; a failing service answers 500 naming it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aiohttp import web

from remedlab.apps.hotel_reservation.rpc import answer_flag, answer_ids, answer_list
from remedlab.apps.hotel_reservation.shared import (
    Stay,
    count_field,
    hotel_id,
    hotels_geojson,
    latitude,
    longitude,
    requirement_field,
    stay_field,
    text_field,
)
from remedlab.apps.kit.client import ServiceClient
from remedlab.apps.kit.health import add_health_routes
from remedlab.apps.kit.metrics import add_metrics_route
from remedlab.apps.kit.rpc import CLIENT, answer, serve, use_client
from remedlab.apps.kit.structured_log import get_logger

SERVICE = "frontend"
PORT = 5000
SEARCH, RESERVATION, PROFILE = "search", "reservation", "profile"
RECOMMENDATION, USER = "recommendation", "user"
SEARCH_TIMEOUT = 5.0  # search waits for geo and rate, each with a retry
CALL_TIMEOUT = 2.0
CALL_RETRIES = 1
BOOKING_TIMEOUT = 3.0  # never retried: a booking may have been made

LOGIN_OK = "Login successfully!"
LOGIN_FAILED = "Failed. Please check your username and password. "
RESERVED = "Reserve successfully!"
ALREADY_RESERVED = "Failed. Already reserved. "

log = get_logger(SERVICE)


async def _profiles(client: ServiceClient, hotel_ids: list[str]) -> list[Any]:
    reply = await client.post_json(
        PROFILE,
        "/profile.Profile/GetProfiles",
        {"hotelIds": hotel_ids, "locale": "en"},
        timeout=CALL_TIMEOUT,
        retries=CALL_RETRIES,
    )
    return answer_list(reply, "hotels", PROFILE)


async def _available(client: ServiceClient, hotel_ids: list[str], stay: Stay) -> list[str]:
    reply = await client.post_json(
        RESERVATION,
        "/reservation.Reservation/CheckAvailability",
        {"customerName": "", "hotelIds": hotel_ids, **stay.as_fields(), "roomNumber": 1},
        timeout=CALL_TIMEOUT,
        retries=CALL_RETRIES,
    )
    return answer_ids(reply, RESERVATION)


async def _login(client: ServiceClient, fields: Mapping[str, Any]) -> bool:
    username = text_field(fields, "username", max_length=100)
    password = text_field(fields, "password", strip=False)
    reply = await client.post_json(
        USER,
        "/user.User/CheckUser",
        {"username": username, "password": password},
        timeout=CALL_TIMEOUT,
        retries=CALL_RETRIES,
    )
    return answer_flag(reply, "correct", USER)


async def search_hotels(client: ServiceClient, query: Mapping[str, str]) -> dict[str, Any]:
    stay, lat, lon = stay_field(query), latitude(query), longitude(query)
    found = await client.post_json(
        SEARCH,
        "/search.Search/Nearby",
        {"lat": lat, "lon": lon, **stay.as_fields()},
        timeout=SEARCH_TIMEOUT,
        retries=0,
    )
    available = await _available(client, answer_ids(found, SEARCH), stay)
    return hotels_geojson(await _profiles(client, available))


async def recommend_hotels(client: ServiceClient, query: Mapping[str, str]) -> dict[str, Any]:
    require, lat, lon = requirement_field(query), latitude(query), longitude(query)
    reply = await client.post_json(
        RECOMMENDATION,
        "/recommendation.Recommendation/GetRecommendations",
        {"require": require, "lat": lat, "lon": lon},
        timeout=CALL_TIMEOUT,
        retries=CALL_RETRIES,
    )
    return hotels_geojson(await _profiles(client, answer_ids(reply, RECOMMENDATION)))


async def login(client: ServiceClient, fields: Mapping[str, str]) -> dict[str, Any]:
    return {"message": LOGIN_OK if await _login(client, fields) else LOGIN_FAILED}


async def reserve(client: ServiceClient, fields: Mapping[str, str]) -> dict[str, Any]:
    stay, hotel = stay_field(fields), hotel_id(fields.get("hotelId"))
    customer = text_field(fields, "customerName", max_length=100)
    rooms = count_field(fields, "number", default=1)
    if not await _login(client, fields):
        return {"message": LOGIN_FAILED}
    reply = await client.post_json(
        RESERVATION,
        "/reservation.Reservation/MakeReservation",
        {"customerName": customer, "hotelIds": [hotel], **stay.as_fields(), "roomNumber": rooms},
        timeout=BOOKING_TIMEOUT,
        retries=0,
    )
    return {"message": RESERVED if answer_ids(reply, RESERVATION) else ALREADY_RESERVED}


async def parameters(request: web.Request) -> dict[str, str]:
    """The query string's parameters, and a POSTed form's where the query does not set them."""
    fields = {key: value for key, value in request.query.items()}
    if request.method == "POST" and request.can_read_body:
        form = await request.post()
        for key, value in form.items():
            if isinstance(value, str):
                fields.setdefault(key, value)
    return fields


async def hotels_handler(request: web.Request) -> web.Response:
    return await answer(log, search_hotels(request.app[CLIENT], request.query))


async def recommendations_handler(request: web.Request) -> web.Response:
    return await answer(log, recommend_hotels(request.app[CLIENT], request.query))


async def user_handler(request: web.Request) -> web.Response:
    return await answer(log, login(request.app[CLIENT], await parameters(request)))


async def reservation_handler(request: web.Request) -> web.Response:
    return await answer(log, reserve(request.app[CLIENT], await parameters(request)))


def create_app() -> web.Application:
    app = web.Application()
    use_client(app, log)
    app.router.add_get("/hotels", hotels_handler)
    app.router.add_get("/recommendations", recommendations_handler)
    for method in ("GET", "POST"):
        app.router.add_route(method, "/user", user_handler)
        app.router.add_route(method, "/reservation", reservation_handler)
    add_health_routes(app)
    add_metrics_route(app)
    return app


def main() -> None:
    serve(SERVICE, PORT, create_app)


if __name__ == "__main__":
    main()
