"""profile: hotels' names, addresses and pictures, from memcached or the profile database (port 8081).

``POST /profile.Profile/GetProfiles`` takes ``{"hotelIds"}`` and answers
``{"hotels"}`` in the order asked, leaving out unknown ids. Profiles missing
from the cache are read from PostgreSQL, then cached.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from aiohttp import web

from remedlab.apps.hotel_reservation.rpc import cache_all, tables_hold_data
from remedlab.apps.hotel_reservation.shared import hotel_ids_field
from remedlab.apps.kit.cache import Cache
from remedlab.apps.kit.database import Database
from remedlab.apps.kit.health import all_of, latched
from remedlab.apps.kit.rpc import CACHE, DATABASE, serve, service_app, use_cache, use_database
from remedlab.apps.kit.structured_log import get_logger

SERVICE = "profile"
PORT = 8081
PROFILES = (
    "SELECT id, name, phone_number, description, street_number, street_name, city, state, country,"
    " postal_code, lat, lon, images FROM hotels WHERE id = ANY($1::text[])"
)

log = get_logger(SERVICE)

Profile = dict[str, Any]


def profile_from_row(row: Mapping[str, Any]) -> Profile:
    images = row["images"]
    return {
        "id": row["id"],
        "name": row["name"],
        "phoneNumber": row["phone_number"],
        "description": row["description"],
        "address": {
            "streetNumber": row["street_number"],
            "streetName": row["street_name"],
            "city": row["city"],
            "state": row["state"],
            "country": row["country"],
            "postalCode": row["postal_code"],
            "lat": row["lat"],
            "lon": row["lon"],
        },
        "images": json.loads(images) if isinstance(images, str) else [],
    }


async def get_profiles(app: web.Application, body: dict[str, Any]) -> dict[str, Any]:
    hotel_ids = hotel_ids_field(body)
    cache = app[CACHE]
    profiles: dict[str, Profile] = await cache.get_many(hotel_ids)
    missing = [hotel for hotel in hotel_ids if hotel not in profiles]
    if missing:
        rows = await app[DATABASE].fetch(PROFILES, missing, table="hotels")
        fetched = {row["id"]: profile_from_row(row) for row in rows}
        await cache_all(cache, fetched)
        profiles.update(fetched)
    return {"hotels": [profiles[hotel] for hotel in hotel_ids if hotel in profiles]}


def create_app() -> web.Application:
    database, cache = Database.from_env(), Cache.from_env()
    ready = latched(all_of(tables_hold_data(database, "hotels"), cache.check))
    app = service_app(log, {"/profile.Profile/GetProfiles": get_profiles}, ready_check=ready)
    use_database(app, database)
    use_cache(app, cache)
    return app


def main() -> None:
    serve(SERVICE, PORT, create_app)


if __name__ == "__main__":
    main()
