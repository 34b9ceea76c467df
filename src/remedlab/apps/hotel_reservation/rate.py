"""rate: the rate plans of hotels for a stay, from memcached or the rate database (port 8084).

``POST /rate.Rate/GetRates`` takes ``{"hotelIds", "inDate", "outDate"}`` and
answers ``{"ratePlans"}``, cheapest room first. A hotel's plans are cached
under its id; hotels missing from the cache are read from PostgreSQL and the
plans found are cached. A hotel without plans is not cached, so requests for
it reach the database every time.

Release 1.1 (``rate --warm-cache``, the image ``remedlab/hotel-reservation-rate:1.1``)
also fills the cache with every hotel's plans before it serves. Its warm-up
builds its own connection to the database, and builds it wrong: it keeps the
host of ``DATABASE_ADDR`` but takes the port of the original's MongoDB (27017),
so it cannot connect, the service exits at start and crash-loops: the buggy
image of the misconfig-app fault, repaired by rolling back to release 1.0.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any

from aiohttp import web

from remedlab.apps.hotel_reservation.rpc import cache_all, tables_hold_data
from remedlab.apps.hotel_reservation.shared import Stay, hotel_ids_field, stay_field
from remedlab.apps.kit.cache import Cache
from remedlab.apps.kit.database import Database
from remedlab.apps.kit.health import all_of, latched
from remedlab.apps.kit.rpc import CACHE, DATABASE, serve, service_app, use_cache, use_database
from remedlab.apps.kit.structured_log import get_logger

SERVICE = "rate"
PORT = 8084
PLANS_OF_HOTELS = (
    "SELECT hotel_id, code, in_date, out_date, bookable_rate, total_rate, total_rate_inclusive,"
    " room_code, room_description FROM rate_plans WHERE hotel_id = ANY($1::text[]) ORDER BY hotel_id, id"
)

ALL_PLANS = (
    "SELECT hotel_id, code, in_date, out_date, bookable_rate, total_rate, total_rate_inclusive,"
    " room_code, room_description FROM rate_plans ORDER BY hotel_id, id"
)
WARM_CACHE_FLAG = "--warm-cache"
WARM_UP_DATABASE_PORT = 27017
"""The port the 1.1 warm-up connects to: MongoDB's, where the original kept its rate plans."""

log = get_logger(SERVICE)

RatePlan = dict[str, Any]


def plan_from_row(row: Mapping[str, Any]) -> RatePlan:
    return {
        "hotelId": row["hotel_id"],
        "code": row["code"],
        "inDate": row["in_date"].isoformat(),
        "outDate": row["out_date"].isoformat(),
        "roomType": {
            "bookableRate": row["bookable_rate"],
            "totalRate": row["total_rate"],
            "totalRateInclusive": row["total_rate_inclusive"],
            "code": row["room_code"],
            "roomDescription": row["room_description"],
        },
    }


def plans_for_stay(plans: Mapping[str, list[RatePlan]], hotel_ids: Iterable[str], stay: Stay) -> list[RatePlan]:
    """The plans of ``hotel_ids`` that cover a night of ``stay``, lowest bookable rate first."""
    chosen = [
        plan
        for hotel in hotel_ids
        for plan in plans.get(hotel, ())
        if stay.overlaps(date.fromisoformat(plan["inDate"]), date.fromisoformat(plan["outDate"]))
    ]
    return sorted(chosen, key=lambda plan: float(plan["roomType"]["bookableRate"]))


async def get_rates(app: web.Application, body: dict[str, Any]) -> dict[str, Any]:
    hotel_ids, stay = hotel_ids_field(body), stay_field(body)
    cache = app[CACHE]
    plans: dict[str, list[RatePlan]] = await cache.get_many(hotel_ids)
    missing = [hotel for hotel in hotel_ids if hotel not in plans]
    if missing:
        rows = await app[DATABASE].fetch(PLANS_OF_HOTELS, missing, table="rate_plans")
        fetched: dict[str, list[RatePlan]] = {}
        for row in rows:
            fetched.setdefault(row["hotel_id"], []).append(plan_from_row(row))
        await cache_all(cache, fetched)
        plans.update(fetched)
    return {"ratePlans": plans_for_stay(plans, hotel_ids, stay)}


def warm_up_database(environ: Mapping[str, str]) -> Database:
    """The database the cache warm-up reads every plan from: the host of ``DATABASE_ADDR`` on
    :data:`WARM_UP_DATABASE_PORT` (release 1.1's bug), with the service's own credentials."""
    host = environ.get("DATABASE_ADDR", "").strip().rpartition(":")[0]
    return Database.from_env(environ={**environ, "DATABASE_ADDR": f"{host}:{WARM_UP_DATABASE_PORT}"})


async def warm_cache(app: web.Application) -> None:
    """Fill the cache with the plans of every hotel before serving (release 1.1); a failure stops the start."""
    database = warm_up_database(os.environ)
    try:
        rows = await database.fetch(ALL_PLANS, table="rate_plans")
    finally:
        await database.close()
    plans: dict[str, list[RatePlan]] = {}
    for row in rows:
        plans.setdefault(row["hotel_id"], []).append(plan_from_row(row))
    await cache_all(app[CACHE], plans)
    log.info(f"cache warmed with the plans of {len(plans)} hotels")


def create_app(warm: bool = False) -> web.Application:
    database, cache = Database.from_env(), Cache.from_env()
    ready = latched(all_of(tables_hold_data(database, "rate_plans"), cache.check))
    app = service_app(log, {"/rate.Rate/GetRates": get_rates}, ready_check=ready)
    use_database(app, database)
    use_cache(app, cache)
    if warm:
        app.on_startup.append(warm_cache)
    return app


def main(argv: list[str] | None = None) -> None:
    warm = WARM_CACHE_FLAG in (sys.argv[1:] if argv is None else argv)
    serve(SERVICE, PORT, lambda: create_app(warm))


if __name__ == "__main__":
    main()
