"""The rows Train-Ticket's services seed their tables with, from seed.yaml.

Every id is a uuid5 of a readable name, so the data is the same on every
deployment. ``rows_for(table)`` gives a table's documents (each with an ``id``).
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import yaml

NAMESPACE = uuid.UUID("6f1d2c59-9d1e-4a51-a2f4-0b8c7f0e7a11")
HIGH_SPEED = ("G", "D")  # trips on travel (and order); the others on travel2 (and order-other)


def stable_id(*parts: object) -> str:
    return str(uuid.uuid5(NAMESPACE, "/".join(str(p) for p in parts)))


def password_hash(password: str) -> str:
    return hashlib.sha256(password.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class SeedUser:
    user_id: str
    name: str
    password: str
    roles: tuple[str, ...]


@cache
def parameters() -> dict[str, Any]:
    text = resources.files("remedlab.apps.train_ticket").joinpath("seed.yaml").read_text()
    loaded = yaml.safe_load(text)
    assert isinstance(loaded, dict)
    return loaded


def station_id(name: str) -> str:
    # the original keys stations by their name's id: the name itself, lower-case
    return name.lower()


def route_id(index: int) -> str:
    return stable_id("route", index)


def users() -> list[SeedUser]:
    p = parameters()["users"]
    found = [
        SeedUser(p["default"]["userId"], p["default"]["userName"], p["default"]["password"], ("ROLE_USER",)),
        SeedUser(p["admin"]["userId"], p["admin"]["userName"], p["admin"]["password"], ("ROLE_ADMIN",)),
    ]
    for n in range(int(p["generated"])):
        found.append(SeedUser(generated_user_id(n), f"user_{n}", f"pass_{n}", ("ROLE_USER",)))
    return found


def generated_user_id(n: int) -> str:
    """The id of user_<n>: uuid-shaped and numbered, so a workload's templates can name it."""
    return f"00000000-0000-4000-8000-{n:012d}"


def contact_id(user_id: str) -> str:
    """The seeded contact of an account: its id with the variant digit 9 (the workload names them too)."""
    return user_id[:19] + "9" + user_id[20:]


def _stations() -> list[dict[str, Any]]:
    return [{"id": station_id(n), "name": n, "stayTime": s} for n, s in parameters()["stations"]]


def _trains() -> list[dict[str, Any]]:
    return [
        {"id": name, "name": name, "economyClass": eco, "confortClass": comfort, "averageSpeed": speed}
        for name, eco, comfort, speed in parameters()["trains"]
    ]


def _routes() -> list[dict[str, Any]]:
    found = []
    for index, route in enumerate(parameters()["routes"]):
        stations = [station_id(s) for s in route["stations"]]
        found.append(
            {
                "id": route_id(index),
                "stations": stations,
                "distances": list(route["distances"]),
                "startStation": stations[0],
                "endStation": stations[-1],
            }
        )
    return found


def _prices() -> list[dict[str, Any]]:
    rates = parameters()["prices"]
    found = []
    for index, _route in enumerate(parameters()["routes"]):
        for train, (economy, comfort) in rates.items():
            found.append(
                {
                    "id": stable_id("price", index, train),
                    "routeId": route_id(index),
                    "trainType": train,
                    "basicPriceRate": economy,
                    "firstClassPriceRate": comfort,
                }
            )
    return found


def _trips(high_speed: bool) -> list[dict[str, Any]]:
    found = []
    routes = parameters()["routes"]
    for trip_id, train, index, start, end in parameters()["trips"]:
        if trip_id.startswith(HIGH_SPEED) != high_speed:
            continue
        stations = routes[index]["stations"]
        found.append(
            {
                "id": trip_id,
                "tripId": trip_id,
                "trainTypeName": train,
                "routeId": route_id(index),
                "startStationName": station_id(stations[0]),
                "stationsName": station_id(stations[1]) if len(stations) > 2 else "",
                "terminalStationName": station_id(stations[-1]),
                "startTime": start,
                "endTime": end,
            }
        )
    return found


def _user_rows() -> list[dict[str, Any]]:
    return [
        {
            "id": u.user_id,
            "userId": u.user_id,
            "userName": u.name,
            "password": password_hash(u.password),
            "gender": 1,
            "documentType": 1,
            "documentNum": f"DOC{i:06d}",
            "email": f"{u.name}@trainticket.example",
        }
        for i, u in enumerate(users())
    ]


def _auth_rows() -> list[dict[str, Any]]:
    return [
        {
            "id": u.user_id,
            "userId": u.user_id,
            "username": u.name,
            "password": password_hash(u.password),
            "roles": list(u.roles),
        }
        for u in users()
    ]


def _contacts() -> list[dict[str, Any]]:
    return [
        {
            "id": contact_id(u.user_id),
            "accountId": u.user_id,
            "name": f"Contact of {u.name}",
            "documentType": 1,
            "documentNumber": f"DOC{i:06d}",
            "phoneNumber": f"1380000{i:04d}",
        }
        for i, u in enumerate(users())
    ]


def _money() -> list[dict[str, Any]]:
    balance = str(parameters()["users"]["starting_balance"])
    return [{"id": stable_id("money", u.user_id), "userId": u.user_id, "money": balance, "type": "A"} for u in users()]


def _configs() -> list[dict[str, Any]]:
    return [
        {"id": name, "name": name, "value": str(value), "description": name}
        for name, value in parameters()["configs"].items()
    ]


def _security() -> list[dict[str, Any]]:
    return [
        {"id": "max_order_not_use", "name": "max_order_not_use", "value": "50", "description": "Max not used orders"},
        {"id": "max_order_1_hour", "name": "max_order_1_hour", "value": "1000", "description": "Max orders in 1 hour"},
    ]


def _consign_price() -> list[dict[str, Any]]:
    return [
        {
            "id": "price_config",
            "index": 0,
            "initialWeight": 1.0,
            "initialPrice": 2.0,
            "withinPrice": 2.0,
            "beyondPrice": 4.0,
        }
    ]


def _train_food() -> list[dict[str, Any]]:
    foods = [{"foodName": n, "price": p} for n, p in parameters()["food"]["train_foods"]]
    trips = [t[0] for t in parameters()["trips"]]
    return [{"id": stable_id("train_food", trip), "tripId": trip, "foodList": foods} for trip in trips]


def _station_food() -> list[dict[str, Any]]:
    p = parameters()["food"]
    foods = [{"foodName": n, "price": price} for n, price in p["store_foods"]]
    return [
        {
            "id": stable_id("store", name, n),
            "stationName": station_id(name),
            "storeName": f"{name.capitalize()} Store {n + 1}",
            "telephone": f"021-{n:04d}",
            "businessTime": "06:00-22:00",
            "deliveryFee": 1.5,
            "foodList": foods,
        }
        for name, _stay in parameters()["stations"]
        for n in range(int(p["stores_per_station"]))
    ]


SEEDERS = {
    "station": _stations,
    "train_type": _trains,
    "route": _routes,
    "price_config": _prices,
    "trip": lambda: _trips(True),
    "trip2": lambda: _trips(False),
    "user": _user_rows,
    "auth_user": _auth_rows,
    "contacts": _contacts,
    "money": _money,
    "config": _configs,
    "security_config": _security,
    "consign_price": _consign_price,
    "train_food": _train_food,
    "station_food": _station_food,
}


def rows_for(table: str) -> list[dict[str, Any]]:
    """The documents a table starts with (none for tables filled only by requests)."""
    seeder = SEEDERS.get(table)
    return seeder() if seeder else []
