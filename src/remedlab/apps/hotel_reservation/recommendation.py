"""recommendation: the hotels that best meet one requirement, from the recommendation database (port 8085).

``POST /recommendation.Recommendation/GetRecommendations`` takes ``{"require",
"lat", "lon"}`` and answers ``{"hotelIds"}``: for ``dis`` the hotels nearest the
point, for ``rate`` the best rated, for ``price`` the cheapest (every hotel tied
for first place). Each request reads the hotels from PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from remedlab.apps.hotel_reservation.rpc import tables_hold_data
from remedlab.apps.hotel_reservation.shared import REQUIREMENTS, haversine_km, latitude, longitude, requirement_field
from remedlab.apps.kit.database import Database
from remedlab.apps.kit.health import latched
from remedlab.apps.kit.rpc import DATABASE, BadRequest, serve, service_app, use_database
from remedlab.apps.kit.structured_log import get_logger

SERVICE = "recommendation"
PORT = 8085
ALL_HOTELS = "SELECT id, lat, lon, rate, price FROM hotels"

log = get_logger(SERVICE)


@dataclass(frozen=True, slots=True)
class Candidate:
    hotel_id: str
    lat: float
    lon: float
    rate: float
    price: float


def recommend(require: str, lat: float, lon: float, hotels: Sequence[Candidate]) -> list[str]:
    """The ids of the hotels ranked first for ``require`` (all of them when tied)."""
    if require == "dis":
        scores = [haversine_km(lat, lon, hotel.lat, hotel.lon) for hotel in hotels]
    elif require == "rate":
        scores = [-hotel.rate for hotel in hotels]
    elif require == "price":
        scores = [hotel.price for hotel in hotels]
    else:
        raise BadRequest(f"require must be one of {', '.join(REQUIREMENTS)}")
    if not scores:
        return []
    best = min(scores)
    return [hotel.hotel_id for hotel, score in zip(hotels, scores, strict=True) if score == best]


async def get_recommendations(app: web.Application, body: dict[str, Any]) -> dict[str, Any]:
    require, lat, lon = requirement_field(body), latitude(body), longitude(body)
    rows = await app[DATABASE].fetch(ALL_HOTELS, table="hotels")
    hotels = [Candidate(row["id"], row["lat"], row["lon"], row["rate"], row["price"]) for row in rows]
    return {"hotelIds": recommend(require, lat, lon, hotels)}


def create_app() -> web.Application:
    database = Database.from_env()
    methods = {"/recommendation.Recommendation/GetRecommendations": get_recommendations}
    app = service_app(log, methods, ready_check=latched(tables_hold_data(database, "hotels")))
    use_database(app, database)
    return app


def main() -> None:
    serve(SERVICE, PORT, create_app)


if __name__ == "__main__":
    main()
