"""geo: the hotels nearest a point, from the geo database (port 8083).

``POST /geo.Geo/Nearby`` takes ``{"lat", "lon"}`` and answers ``{"hotelIds"}``:
at most 5 hotels within 10 km, nearest first. Each request reads the points in
a box around the point from PostgreSQL and measures great-circle distances.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from remedlab.apps.hotel_reservation.rpc import tables_hold_data
from remedlab.apps.hotel_reservation.shared import bounding_box, haversine_km, latitude, longitude
from remedlab.apps.kit.database import Database
from remedlab.apps.kit.health import latched
from remedlab.apps.kit.rpc import DATABASE, serve, service_app, use_database
from remedlab.apps.kit.structured_log import get_logger

SERVICE = "geo"
PORT = 8083
MAX_SEARCH_RADIUS_KM = 10.0
MAX_SEARCH_RESULTS = 5
POINTS_IN_BOX = "SELECT hotel_id, lat, lon FROM points WHERE lat BETWEEN $1 AND $2 AND lon BETWEEN $3 AND $4"

log = get_logger(SERVICE)


@dataclass(frozen=True, slots=True)
class Point:
    hotel_id: str
    lat: float
    lon: float


def nearest(
    lat: float,
    lon: float,
    points: Iterable[Point],
    *,
    radius_km: float = MAX_SEARCH_RADIUS_KM,
    limit: int = MAX_SEARCH_RESULTS,
) -> list[str]:
    """The ids of the ``limit`` points nearest ``(lat, lon)`` within ``radius_km``, nearest first."""
    measured = ((haversine_km(lat, lon, p.lat, p.lon), p.hotel_id) for p in points)
    within = sorted(pair for pair in measured if pair[0] <= radius_km)
    return [hotel_id for _, hotel_id in within[:limit]]


async def nearby(app: web.Application, body: dict[str, Any]) -> dict[str, Any]:
    lat, lon = latitude(body), longitude(body)
    box = bounding_box(lat, lon, MAX_SEARCH_RADIUS_KM)
    rows = await app[DATABASE].fetch(POINTS_IN_BOX, *box, table="points")
    points = [Point(row["hotel_id"], row["lat"], row["lon"]) for row in rows]
    return {"hotelIds": nearest(lat, lon, points)}


def create_app() -> web.Application:
    database = Database.from_env()
    app = service_app(log, {"/geo.Geo/Nearby": nearby}, ready_check=latched(tables_hold_data(database, "points")))
    use_database(app, database)
    return app


def main() -> None:
    serve(SERVICE, PORT, create_app)


if __name__ == "__main__":
    main()
