"""movie-id-service: movies' ids by title (port 9090), in movie-id-mongodb with movie-id-memcached in front.

- ``UploadMovieId {req_id, title, rating}`` finds the title's movie id (memcached, else the
  ``movie_id`` table, then cached), then, at the same time, hands it to compose-review-service
  (``UploadMovieId``) and the rating to rating-service (``UploadRating``). An unknown title fails:
  ``Movie <title> is not found``.
- ``RegisterMovieId {req_id, title, movie_id}`` adds a movie; a title already there fails.
"""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web

from remedlab.apps.kit.cache import Cache
from remedlab.apps.kit.database import Database
from remedlab.apps.kit.fields import MAX_NAME, id_field, text_field
from remedlab.apps.kit.rpc import (
    CACHE,
    CLIENT,
    DATABASE,
    NotFound,
    RpcError,
    serve,
)
from remedlab.apps.kit.structured_log import get_logger
from remedlab.apps.kit.thrift_rpc import call, methods, stored_service_app, use_client_pool
from remedlab.apps.media_microservices.cache_keys import cache_key
from remedlab.apps.media_microservices.review import rating_value
from remedlab.apps.media_microservices.rpc import COMPOSE_REVIEW, MOVIE_ID, PORT, RATING

SERVICE = MOVIE_ID.service
FIND = "SELECT movie_id FROM movie_id WHERE title = $1"
INSERT = "INSERT INTO movie_id (title, movie_id) VALUES ($1, $2) ON CONFLICT (title) DO NOTHING"

log = get_logger(SERVICE)


async def find_movie_id(cache: Cache, database: Database, title: str) -> str:
    key = cache_key(title, "movie_id")
    cached = await cache.get(key) if key else None
    if isinstance(cached, str):
        return cached
    found = await database.fetchval(FIND, title, table="movie_id")
    if found is None:
        raise NotFound(f"Movie {title} is not found")
    if key:
        await cache.set(key, str(found))
    return str(found)


async def upload_movie_id(app: web.Application, body: dict[str, Any]) -> dict[str, Any]:
    req_id = id_field(body, "req_id")
    title = text_field(body, "title", max_length=MAX_NAME)
    rating = rating_value(body.get("rating"))
    movie_id = await find_movie_id(app[CACHE], app[DATABASE], title)
    client = app[CLIENT]
    await asyncio.gather(
        call(client, COMPOSE_REVIEW, "UploadMovieId", {"req_id": req_id, "movie_id": movie_id}),
        call(client, RATING, "UploadRating", {"req_id": req_id, "movie_id": movie_id, "rating": rating}),
    )
    return {}


async def register_movie_id(app: web.Application, body: dict[str, Any]) -> dict[str, Any]:
    id_field(body, "req_id")
    title = text_field(body, "title", max_length=MAX_NAME)
    movie_id = text_field(body, "movie_id", max_length=MAX_NAME)
    status = await app[DATABASE].execute(INSERT, title, movie_id, table="movie_id")
    if status.endswith(" 0"):
        raise RpcError(f"Movie {title} already existed")
    return {}


def create_app() -> web.Application:
    table = {"UploadMovieId": upload_movie_id, "RegisterMovieId": register_movie_id}
    app = stored_service_app(log, methods(MOVIE_ID, table), "movie_id")
    use_client_pool(app, log)
    return app


def main() -> None:
    serve(SERVICE, PORT, create_app)


if __name__ == "__main__":
    main()
