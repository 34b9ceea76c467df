"""review-storage-service: reviews (port 9090), in review-storage-mongodb with review-storage-memcached in front.

- ``StoreReview {req_id, review}`` inserts the review into the ``review`` table.
- ``ReadReviews {req_id, review_ids}`` answers ``{"reviews"}`` in the order asked: the cached ones from
  memcached in one request, the rest from the table in one query, then cached. When some id is
  unknown the call fails (``Return set incomplete``), as the original's does.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from aiohttp import web

from remedlab.apps.kit.cache import Cache
from remedlab.apps.kit.database import Database
from remedlab.apps.kit.fields import id_field, id_list_field
from remedlab.apps.kit.rpc import CACHE, DATABASE, RpcError, serve
from remedlab.apps.kit.structured_log import get_logger
from remedlab.apps.kit.thrift_rpc import methods, stored_service_app, unique
from remedlab.apps.media_microservices.review import Review
from remedlab.apps.media_microservices.rpc import PORT, REVIEW_STORAGE

SERVICE = REVIEW_STORAGE.service
COLUMNS = "review_id, user_id, req_id, text, movie_id, rating, timestamp"
INSERT = f"INSERT INTO review ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7)"
SELECT = f"SELECT {COLUMNS} FROM review WHERE review_id = ANY($1::bigint[])"

log = get_logger(SERVICE)


def review_from_row(row: Mapping[str, Any]) -> Review:
    return Review(
        review_id=int(row["review_id"]),
        user_id=int(row["user_id"]),
        req_id=int(row["req_id"]),
        text=str(row["text"]),
        movie_id=str(row["movie_id"]),
        rating=int(row["rating"]),
        timestamp=int(row["timestamp"]),
    )


async def read_reviews(cache: Cache, database: Database, review_ids: list[int]) -> dict[int, Review]:
    wanted = unique(review_ids)
    if not wanted:
        return {}
    cached = await cache.get_many([str(review_id) for review_id in wanted])
    found = {review_id: Review.from_json(cached[str(review_id)]) for review_id in wanted if str(review_id) in cached}
    missing = [review_id for review_id in wanted if review_id not in found]
    if missing:
        fetched = {
            int(row["review_id"]): review_from_row(row) for row in await database.fetch(SELECT, missing, table="review")
        }
        await asyncio.gather(*(cache.set(str(review_id), r.to_json()) for review_id, r in fetched.items()))
        found.update(fetched)
    return found


async def store_review(app: web.Application, body: dict[str, Any]) -> dict[str, Any]:
    id_field(body, "req_id")
    r = Review.from_json(body.get("review"))
    values = (r.review_id, r.user_id, r.req_id, r.text, r.movie_id, r.rating, r.timestamp)
    await app[DATABASE].execute(INSERT, *values, table="review")
    return {}


async def read_reviews_method(app: web.Application, body: dict[str, Any]) -> dict[str, Any]:
    id_field(body, "req_id")
    review_ids = id_list_field(body, "review_ids")
    found = await read_reviews(app[CACHE], app[DATABASE], review_ids)
    absent = [review_id for review_id in review_ids if review_id not in found]
    if absent:
        log.error("Return set incomplete", missing=absent[:10])
        raise RpcError("Return set incomplete")
    return {"reviews": [found[review_id].to_json() for review_id in review_ids]}


def create_app() -> web.Application:
    table = {"StoreReview": store_review, "ReadReviews": read_reviews_method}
    app = stored_service_app(log, methods(REVIEW_STORAGE, table), "review")
    return app


def main() -> None:
    serve(SERVICE, PORT, create_app)


if __name__ == "__main__":
    main()
