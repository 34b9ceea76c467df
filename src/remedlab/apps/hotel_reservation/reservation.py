"""reservation: rooms left per hotel and night, and booking them (port 8087).

``POST /reservation.Reservation/CheckAvailability`` takes ``{"customerName",
"hotelIds", "inDate", "outDate", "roomNumber"}`` and answers ``{"hotelIds"}``:
the hotels with ``roomNumber`` rooms free every night of the stay. The rooms
taken on a night are cached under ``<hotel>_<date>``, a hotel's capacity under
``<hotel>_cap``; misses are read from PostgreSQL, then cached.

``POST /reservation.Reservation/MakeReservation`` takes the same fields and
books the first hotel: in one transaction (the hotel's capacity row locked) it
counts the rooms taken each night, inserts the reservation when every night
has room, and updates the cached counts. It answers ``{"hotelIds": [hotel]}``,
or an empty list when the hotel is full.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from aiohttp import web

from remedlab.apps.hotel_reservation.rpc import cache_all, tables_hold_data, tables_readable
from remedlab.apps.hotel_reservation.shared import count_field, hotel_ids_field, stay_field, text_field
from remedlab.apps.kit.cache import Cache
from remedlab.apps.kit.database import Database
from remedlab.apps.kit.health import all_of, latched
from remedlab.apps.kit.rpc import CACHE, DATABASE, BadRequest, serve, service_app, use_cache, use_database
from remedlab.apps.kit.structured_log import get_logger

SERVICE = "reservation"
PORT = 8087
RESERVED_PER_NIGHT = (
    "SELECT k.hotel_id, k.night, COALESCE(SUM(r.number), 0)::integer AS reserved"
    " FROM unnest($1::text[], $2::date[]) AS k(hotel_id, night)"
    " LEFT JOIN reservations r ON r.hotel_id = k.hotel_id AND r.in_date <= k.night AND r.out_date > k.night"
    " GROUP BY k.hotel_id, k.night"
)
CAPACITIES = "SELECT hotel_id, capacity FROM capacity WHERE hotel_id = ANY($1::text[])"
LOCK_CAPACITY = "SELECT capacity FROM capacity WHERE hotel_id = $1 FOR UPDATE"
INSERT_RESERVATION = (
    "INSERT INTO reservations (hotel_id, customer_name, in_date, out_date, number) VALUES ($1, $2, $3, $4, $5)"
)

log = get_logger(SERVICE)


def count_key(hotel: str, night: date) -> str:
    return f"{hotel}_{night.isoformat()}"


def capacity_key(hotel: str) -> str:
    return f"{hotel}_cap"


def has_room(reserved: Mapping[date, int], capacity: int | None, nights: Iterable[date], rooms: int) -> bool:
    """True when ``rooms`` more rooms fit every night (a hotel of unknown capacity has none)."""
    return capacity is not None and all(reserved.get(night, 0) + rooms <= capacity for night in nights)


@dataclass
class Occupancy:
    """Rooms taken per (hotel, night) and capacity per hotel."""

    reserved: dict[tuple[str, date], int] = field(default_factory=dict)
    capacity: dict[str, int] = field(default_factory=dict)

    def has_room(self, hotel: str, nights: Sequence[date], rooms: int) -> bool:
        taken = {night: self.reserved.get((hotel, night), 0) for night in nights}
        return has_room(taken, self.capacity.get(hotel), nights, rooms)


async def occupancy(cache: Cache, database: Database, hotels: Sequence[str], nights: Sequence[date]) -> Occupancy:
    """What the cache knows of ``hotels`` on ``nights``, the rest read from the database and cached."""
    count_keys = {count_key(hotel, night): (hotel, night) for hotel in hotels for night in nights}
    capacity_keys = {capacity_key(hotel): hotel for hotel in hotels}
    cached = await cache.get_many([*count_keys, *capacity_keys])
    known = Occupancy(
        {pair: int(cached[key]) for key, pair in count_keys.items() if key in cached},
        {hotel: int(cached[key]) for key, hotel in capacity_keys.items() if key in cached},
    )
    unknown_counts = [pair for key, pair in count_keys.items() if key not in cached]
    if unknown_counts:
        hotel_column, night_column = [h for h, _ in unknown_counts], [n for _, n in unknown_counts]
        rows = await database.fetch(RESERVED_PER_NIGHT, hotel_column, night_column, table="reservations")
        counts = {(row["hotel_id"], row["night"]): int(row["reserved"]) for row in rows}
        await cache_all(cache, {count_key(*pair): reserved for pair, reserved in counts.items()})
        known.reserved.update(counts)
    unknown_capacity = [hotel for key, hotel in capacity_keys.items() if key not in cached]
    if unknown_capacity:
        rows = await database.fetch(CAPACITIES, unknown_capacity, table="capacity")
        capacities = {row["hotel_id"]: int(row["capacity"]) for row in rows}
        await cache_all(cache, {capacity_key(hotel): capacity for hotel, capacity in capacities.items()})
        known.capacity.update(capacities)
    return known


async def check_availability(app: web.Application, body: dict[str, Any]) -> dict[str, Any]:
    hotels, stay = hotel_ids_field(body), stay_field(body)
    rooms = count_field(body, "roomNumber", default=1)
    nights = stay.nights
    known = await occupancy(app[CACHE], app[DATABASE], hotels, nights)
    return {"hotelIds": [hotel for hotel in hotels if known.has_room(hotel, nights, rooms)]}


async def make_reservation(app: web.Application, body: dict[str, Any]) -> dict[str, Any]:
    customer = text_field(body, "customerName", max_length=100)
    hotels, stay = hotel_ids_field(body), stay_field(body)
    rooms = count_field(body, "roomNumber", default=1)
    if not hotels:
        raise BadRequest("hotelIds must name a hotel")
    hotel, nights = hotels[0], stay.nights
    cache = app[CACHE]
    async with app[DATABASE].transaction() as tx:
        capacity = await tx.fetchval(LOCK_CAPACITY, hotel, table="capacity")
        rows = await tx.fetch(RESERVED_PER_NIGHT, [hotel] * len(nights), nights, table="reservations")
        reserved = {row["night"]: int(row["reserved"]) for row in rows}
        if not has_room(reserved, capacity, nights, rooms):
            return {"hotelIds": []}
        await tx.execute(INSERT_RESERVATION, hotel, customer, stay.in_date, stay.out_date, rooms, table="reservations")
        # while the capacity row is locked, so that concurrent bookings update the counts in order
        counts = {count_key(hotel, night): reserved.get(night, 0) + rooms for night in nights}
        await cache_all(cache, {**counts, capacity_key(hotel): capacity})
    return {"hotelIds": [hotel]}


def create_app() -> web.Application:
    database, cache = Database.from_env(), Cache.from_env()
    methods = {
        "/reservation.Reservation/CheckAvailability": check_availability,
        "/reservation.Reservation/MakeReservation": make_reservation,
    }
    ready = latched(
        all_of(tables_readable(database, "reservations"), tables_hold_data(database, "capacity"), cache.check)
    )
    app = service_app(log, methods, ready_check=ready)
    use_database(app, database)
    use_cache(app, cache)
    return app


def main() -> None:
    serve(SERVICE, PORT, create_app)


if __name__ == "__main__":
    main()
