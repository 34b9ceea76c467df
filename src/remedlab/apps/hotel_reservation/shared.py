"""What the Hotel Reservation services share: request fields, stays, distances and GeoJSON.

Fields come from JSON bodies (between services) or query strings (at the
frontend), so the readers accept numbers written as text. Each reader raises
:class:`BadRequest` with a one-line message naming the field.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from remedlab.apps.kit.rpc import BadRequest

EARTH_RADIUS_KM = 6371.0
KM_PER_DEGREE_LAT = math.pi * EARTH_RADIUS_KM / 180.0
MAX_NIGHTS = 31
MAX_HOTELS = 100
REQUIREMENTS = ("dis", "rate", "price")
_HOTEL_ID = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


# --------------------------------------------------------------------------- fields


def text_field(fields: Mapping[str, Any], name: str, *, max_length: int = 200, strip: bool = True) -> str:
    """A non-blank text field, stripped of surrounding blanks unless ``strip`` is False (passwords)."""
    value = fields.get(name)
    if not isinstance(value, str) or not value.strip():
        raise BadRequest(f"missing {name}")
    if len(value) > max_length:
        raise BadRequest(f"{name} is longer than {max_length} characters")
    return value.strip() if strip else value


def number_field(fields: Mapping[str, Any], name: str, low: float, high: float) -> float:
    value = fields.get(name)
    if value is None or value == "":
        raise BadRequest(f"missing {name}")
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise BadRequest(f"{name} must be a number")
    try:
        number = float(value)
    except ValueError:
        raise BadRequest(f"{name} must be a number, not {str(value)[:40]!r}") from None
    if not math.isfinite(number) or not low <= number <= high:
        raise BadRequest(f"{name} must be between {low:g} and {high:g}")
    return number


def count_field(fields: Mapping[str, Any], name: str, *, default: int | None = None, high: int = 1000) -> int:
    value = fields.get(name)
    if value is None or value == "":
        if default is None:
            raise BadRequest(f"missing {name}")
        return default
    if isinstance(value, str):
        text = value.strip()
        if not (text.isascii() and text.isdigit()):
            raise BadRequest(f"{name} must be a whole number")
        value = int(text)
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadRequest(f"{name} must be a whole number")
    if not 1 <= value <= high:
        raise BadRequest(f"{name} must be between 1 and {high}")
    return value


def latitude(fields: Mapping[str, Any], name: str = "lat") -> float:
    return number_field(fields, name, -90.0, 90.0)


def longitude(fields: Mapping[str, Any], name: str = "lon") -> float:
    return number_field(fields, name, -180.0, 180.0)


def requirement_field(fields: Mapping[str, Any], name: str = "require") -> str:
    """What a recommendation optimises: ``dis`` (distance), ``rate`` or ``price``."""
    require = text_field(fields, name)
    if require not in REQUIREMENTS:
        raise BadRequest(f"{name} must be one of {', '.join(REQUIREMENTS)}")
    return require


def hotel_id(value: Any, name: str = "hotelId") -> str:
    if not isinstance(value, str) or not _HOTEL_ID.match(value):
        raise BadRequest(f"{name} must be 1 to 64 letters, digits, '.', '_' or '-'")
    return value


def hotel_ids_field(fields: Mapping[str, Any], name: str = "hotelIds") -> list[str]:
    """A list of hotel ids, duplicates dropped, order kept."""
    values = fields.get(name)
    if not isinstance(values, list):
        raise BadRequest(f"{name} must be a list of hotel ids")
    if len(values) > MAX_HOTELS:
        raise BadRequest(f"{name} holds more than {MAX_HOTELS} hotels")
    return list(dict.fromkeys(hotel_id(value, name) for value in values))


# --------------------------------------------------------------------------- stays


def parse_day(value: Any, name: str) -> date:
    if not isinstance(value, str) or not value:
        raise BadRequest(f"missing {name}")
    if not _DAY.match(value):
        raise BadRequest(f"{name} must be a date written YYYY-MM-DD")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise BadRequest(f"{name} {value!r} is not a date") from None


@dataclass(frozen=True, slots=True)
class Stay:
    """From the night of ``in_date`` to the morning of ``out_date``."""

    in_date: date
    out_date: date

    @property
    def nights(self) -> list[date]:
        """The dates of the nights stayed (``out_date`` is not one)."""
        return [self.in_date + timedelta(days=n) for n in range((self.out_date - self.in_date).days)]

    def overlaps(self, start: date, end: date) -> bool:
        """True when the stay shares a night with ``[start, end)``."""
        return start < self.out_date and end > self.in_date

    def as_fields(self) -> dict[str, str]:
        return {"inDate": self.in_date.isoformat(), "outDate": self.out_date.isoformat()}


def stay_field(fields: Mapping[str, Any], in_name: str = "inDate", out_name: str = "outDate") -> Stay:
    in_date, out_date = parse_day(fields.get(in_name), in_name), parse_day(fields.get(out_name), out_name)
    nights = (out_date - in_date).days
    if nights < 1:
        raise BadRequest(f"{out_name} must come after {in_name}")
    if nights > MAX_NIGHTS:
        raise BadRequest(f"a stay lasts at most {MAX_NIGHTS} nights")
    return Stay(in_date, out_date)


# --------------------------------------------------------------------------- places


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """The great-circle distance between two points, in kilometres."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    half_dphi = (phi2 - phi1) / 2
    half_dlambda = math.radians(lon2 - lon1) / 2
    a = math.sin(half_dphi) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(half_dlambda) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


def bounding_box(lat: float, lon: float, radius_km: float) -> tuple[float, float, float, float]:
    """``(lat_min, lat_max, lon_min, lon_max)`` of a box holding every point within ``radius_km``."""
    dlat = radius_km / KM_PER_DEGREE_LAT
    lat_min, lat_max = max(-90.0, lat - dlat), min(90.0, lat + dlat)
    widest = max(abs(lat_min), abs(lat_max))
    cos_lat = math.cos(math.radians(widest))
    if cos_lat < 1e-6:
        return lat_min, lat_max, -180.0, 180.0
    dlon = radius_km / (KM_PER_DEGREE_LAT * cos_lat)
    if dlon >= 180.0 or lon - dlon < -180.0 or lon + dlon > 180.0:
        return lat_min, lat_max, -180.0, 180.0
    return lat_min, lat_max, lon - dlon, lon + dlon


def hotels_geojson(hotels: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """A GeoJSON FeatureCollection with one Point per hotel profile, as the frontend answers."""
    features = []
    for hotel in hotels:
        address = hotel.get("address") or {}
        features.append(
            {
                "type": "Feature",
                "id": hotel["id"],
                "properties": {"name": hotel.get("name", ""), "phone_number": hotel.get("phoneNumber", "")},
                "geometry": {"type": "Point", "coordinates": [address.get("lon"), address.get("lat")]},
            }
        )
    return {"type": "FeatureCollection", "features": features}
