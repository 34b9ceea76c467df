"""A movie's records as the original's IDL structs: ``MovieInfo`` (with its ``Cast``) and ``CastInfo``,
read from and written to JSON (between services, and the front end's JSON bodies)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from remedlab.apps.kit.fields import MAX_NAME, MAX_TEXT, id_field, list_field, text_field, text_list_field
from remedlab.apps.kit.rpc import BadRequest

Json = dict[str, Any]


def _object(data: Any, what: str) -> Mapping[str, Any]:
    if not isinstance(data, Mapping):
        raise BadRequest(f"{what} must be a JSON object")
    return data


def number_field(fields: Mapping[str, Any], name: str) -> float:
    value = fields.get(name, 0)
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise BadRequest(f"{name} must be a number") from None
    if isinstance(value, bool) or not math.isfinite(number):
        raise BadRequest(f"{name} must be a number")
    return number


def gender_field(fields: Mapping[str, Any], name: str) -> bool:
    value = fields.get(name, False)
    if isinstance(value, bool):
        return value
    if str(value).lower() in ("true", "1"):
        return True
    if str(value).lower() in ("false", "0", ""):
        return False
    raise BadRequest(f"{name} must be true or false")


@dataclass(frozen=True, slots=True)
class Cast:
    cast_id: int
    character: str
    cast_info_id: int

    @classmethod
    def from_json(cls, data: Any) -> Cast:
        fields = _object(data, "a cast")
        character = text_field(fields, "character", max_length=MAX_NAME, required=False)
        return cls(id_field(fields, "cast_id"), character, id_field(fields, "cast_info_id"))

    def to_json(self) -> Json:
        return {"cast_id": self.cast_id, "character": self.character, "cast_info_id": self.cast_info_id}


@dataclass(frozen=True, slots=True)
class CastInfo:
    cast_info_id: int
    name: str
    gender: bool
    intro: str

    @classmethod
    def from_json(cls, data: Any) -> CastInfo:
        fields = _object(data, "a cast info")
        return cls(
            cast_info_id=id_field(fields, "cast_info_id"),
            name=text_field(fields, "name", max_length=MAX_NAME),
            gender=gender_field(fields, "gender"),
            intro=text_field(fields, "intro", max_length=MAX_TEXT, required=False),
        )

    def to_json(self) -> Json:
        return {"cast_info_id": self.cast_info_id, "name": self.name, "gender": self.gender, "intro": self.intro}


@dataclass(frozen=True, slots=True)
class MovieInfo:
    movie_id: str
    title: str
    casts: tuple[Cast, ...]
    plot_id: int
    thumbnail_ids: tuple[str, ...]
    photo_ids: tuple[str, ...]
    video_ids: tuple[str, ...]
    avg_rating: float
    num_rating: int

    @classmethod
    def from_json(cls, data: Any) -> MovieInfo:
        fields = _object(data, "a movie info")
        return cls(
            movie_id=text_field(fields, "movie_id", max_length=MAX_NAME),
            title=text_field(fields, "title", max_length=MAX_NAME),
            casts=tuple(Cast.from_json(cast) for cast in list_field(fields, "casts")),
            plot_id=id_field(fields, "plot_id"),
            thumbnail_ids=tuple(text_list_field(fields, "thumbnail_ids", max_length=MAX_NAME)),
            photo_ids=tuple(text_list_field(fields, "photo_ids", max_length=MAX_NAME)),
            video_ids=tuple(text_list_field(fields, "video_ids", max_length=MAX_NAME)),
            avg_rating=number_field(fields, "avg_rating"),
            num_rating=id_field(fields, "num_rating") if fields.get("num_rating") not in (None, "") else 0,
        )

    def to_json(self) -> Json:
        return {
            "movie_id": self.movie_id,
            "title": self.title,
            "casts": [cast.to_json() for cast in self.casts],
            "plot_id": self.plot_id,
            "thumbnail_ids": list(self.thumbnail_ids),
            "photo_ids": list(self.photo_ids),
            "video_ids": list(self.video_ids),
            "avg_rating": self.avg_rating,
            "num_rating": self.num_rating,
        }
