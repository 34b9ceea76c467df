"""A review, as the original's IDL ``Review`` struct: read from and written to JSON."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from remedlab.apps.kit.fields import MAX_NAME, MAX_TEXT, id_field, text_field
from remedlab.apps.kit.rpc import BadRequest

MIN_RATING, MAX_RATING = 0, 10


def rating_value(value: Any) -> int:
    """A rating: a whole number from 0 to 10, as a number or as decimal text."""
    text = str(value).strip() if value is not None else ""
    if isinstance(value, bool) or not (text.lstrip("-").isdigit() and text.isascii()):
        raise BadRequest("rating must be a whole number")
    rating = int(text)
    if not MIN_RATING <= rating <= MAX_RATING:
        raise BadRequest(f"rating must be between {MIN_RATING} and {MAX_RATING}")
    return rating


@dataclass(frozen=True, slots=True)
class Review:
    review_id: int
    user_id: int
    req_id: int
    text: str
    movie_id: str
    rating: int
    timestamp: int

    @classmethod
    def from_json(cls, data: Any) -> Review:
        if not isinstance(data, Mapping):
            raise BadRequest("a review must be a JSON object")
        return cls(
            review_id=id_field(data, "review_id"),
            user_id=id_field(data, "user_id"),
            req_id=id_field(data, "req_id"),
            text=text_field(data, "text", max_length=MAX_TEXT, required=False),
            movie_id=text_field(data, "movie_id", max_length=MAX_NAME),
            rating=rating_value(data.get("rating")),
            timestamp=id_field(data, "timestamp"),
        )

    def to_json(self) -> dict[str, Any]:
        return asdict(self)
