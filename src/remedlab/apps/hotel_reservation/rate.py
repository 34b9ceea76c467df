"""rate: the rate plans of hotels for a stay, from memcached or the rate database (port 8084).

``POST /rate.Rate/GetRates`` takes ``{"hotelIds", "inDate", "outDate"}`` and
answers ``{"ratePlans"}``, cheapest room first. A hotel's plans are cached
under its id; hotels missing from the cache are read from PostgreSQL and the
plans found are cached. A hotel without plans is not cached, so requests for
it reach the database every time.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any

from aiohttp import web

from remedlab.apps.hotel_reservation.rpc import cache_all, tables_readable
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


def create_app() -> web.Application:
    database, cache = Database.from_env(), Cache.from_env()
    ready = latched(all_of(tables_readable(database, "rate_plans"), cache.check))
    app = service_app(log, {"/rate.Rate/GetRates": get_rates}, ready_check=ready)
    use_database(app, database)
    use_cache(app, cache)
    return app


def main() -> None:
    serve(SERVICE, PORT, create_app)


if __name__ == "__main__":
    main()
