"""search: hotels near a point that have rates for a stay (port 8082).

``POST /search.Search/Nearby`` takes ``{"lat", "lon", "inDate", "outDate"}``,
asks geo for the hotels nearby, then rate for their plans, and answers
``{"hotelIds"}``: the hotels with a plan, in the order of their plans.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from remedlab.apps.hotel_reservation.rpc import answer_ids, answer_list
from remedlab.apps.hotel_reservation.shared import latitude, longitude, stay_field
from remedlab.apps.kit.client import UpstreamError
from remedlab.apps.kit.rpc import CLIENT, serve, service_app, use_client
from remedlab.apps.kit.structured_log import get_logger

SERVICE = "search"
PORT = 8082
GEO, RATE = "geo", "rate"
CALL_TIMEOUT = 2.0
CALL_RETRIES = 1

log = get_logger(SERVICE)


def hotels_with_plans(plans: list[Any]) -> list[str]:
    """The distinct hotel ids of rate plans, in order."""
    ids: dict[str, None] = {}
    for plan in plans:
        hotel = plan.get("hotelId") if isinstance(plan, dict) else None
        if not isinstance(hotel, str):
            raise UpstreamError(RATE, reason="a rate plan has no hotelId")
        ids[hotel] = None
    return list(ids)


async def nearby(app: web.Application, body: dict[str, Any]) -> dict[str, Any]:
    lat, lon, stay = latitude(body), longitude(body), stay_field(body)
    client = app[CLIENT]
    found = await client.post_json(
        GEO, "/geo.Geo/Nearby", {"lat": lat, "lon": lon}, timeout=CALL_TIMEOUT, retries=CALL_RETRIES
    )
    rates = await client.post_json(
        RATE,
        "/rate.Rate/GetRates",
        {"hotelIds": answer_ids(found, GEO), **stay.as_fields()},
        timeout=CALL_TIMEOUT,
        retries=CALL_RETRIES,
    )
    return {"hotelIds": hotels_with_plans(answer_list(rates, "ratePlans", RATE))}


def create_app() -> web.Application:
    app = service_app(log, {"/search.Search/Nearby": nearby})
    use_client(app, log)
    return app


def main() -> None:
    serve(SERVICE, PORT, create_app)


if __name__ == "__main__":
    main()
