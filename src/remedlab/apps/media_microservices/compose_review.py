"""compose-review-service: a new review, put together from its parts (port 9090), in compose-review-memcached.

Five services each hand it one part of the review of request ``req_id``: ``UploadUniqueId``
(``review_id``), ``UploadUserId`` (``user_id``), ``UploadText`` (``text``), ``UploadMovieId``
(``movie_id``) and ``UploadRating`` (``rating``). Each part is added to memcached as
``<req_id>:<part>`` and counted in ``<req_id>:counter`` (both kept ten seconds; the first part
starts the count); a part that comes twice fails. The call that brings the fifth part puts the
review together and, at the same time, stores it with review-storage-service (``StoreReview``) and
indexes it with user-review-service (``UploadUserReview``) and movie-review-service
(``UploadMovieReview``).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from typing import Any

from aiohttp import web

from remedlab.apps.kit.cache import Cache
from remedlab.apps.kit.fields import MAX_NAME, MAX_TEXT, id_field, text_field
from remedlab.apps.kit.health import latched
from remedlab.apps.kit.rpc import CACHE, CLIENT, RpcError, serve, service_app, use_cache
from remedlab.apps.kit.structured_log import get_logger
from remedlab.apps.kit.thrift_rpc import call, methods, use_client_pool
from remedlab.apps.media_microservices.review import Review, rating_value
from remedlab.apps.media_microservices.rpc import COMPOSE_REVIEW, MOVIE_REVIEW, PORT, REVIEW_STORAGE, USER_REVIEW

SERVICE = COMPOSE_REVIEW.service
PARTS = ("review_id", "user_id", "text", "movie_id", "rating")
PART_TTL_S = 10
"""How long a request's parts are kept: the original's MMC_EXP_TIME."""

log = get_logger(SERVICE)


def part_key(req_id: int, part: str) -> str:
    return f"{req_id}:{part}"


def review_of(req_id: int, parts: Mapping[str, Any], timestamp: int) -> Review:
    """The review of request ``req_id`` from its five parts (keyed by part name)."""
    missing = [part for part in PARTS if part not in parts]
    if missing:
        raise RpcError(f"Review {req_id} lacks {', '.join(missing)}: its parts expired")
    return Review(
        review_id=id_field(parts, "review_id"),
        user_id=id_field(parts, "user_id"),
        req_id=req_id,
        text=text_field(parts, "text", max_length=MAX_TEXT, required=False),
        movie_id=text_field(parts, "movie_id", max_length=MAX_NAME),
        rating=rating_value(parts.get("rating")),
        timestamp=timestamp,
    )


async def compose_and_upload(app: web.Application, req_id: int) -> None:
    cache: Cache = app[CACHE]
    found = await cache.get_many([part_key(req_id, part) for part in PARTS])
    parts = {part: found[part_key(req_id, part)] for part in PARTS if part_key(req_id, part) in found}
    review = review_of(req_id, parts, time.time_ns() // 1_000_000)
    indexed = {"req_id": req_id, "review_id": review.review_id, "timestamp": review.timestamp}
    client = app[CLIENT]
    await asyncio.gather(
        call(client, REVIEW_STORAGE, "StoreReview", {"req_id": req_id, "review": review.to_json()}),
        call(client, USER_REVIEW, "UploadUserReview", {**indexed, "user_id": review.user_id}),
        call(client, MOVIE_REVIEW, "UploadMovieReview", {**indexed, "movie_id": review.movie_id}),
    )


async def upload_part(app: web.Application, req_id: int, part: str, value: Any) -> dict[str, Any]:
    cache: Cache = app[CACHE]
    counter = part_key(req_id, "counter")
    if not await cache.add(part_key(req_id, part), value, ttl=PART_TTL_S):
        raise RpcError(f"{part} of request {req_id} has already been stored", status=409)
    count = await cache.incr(counter)
    if count is None:  # the first part: start the count, unless another part started it meanwhile
        count = 1 if await cache.add(counter, 1, ttl=PART_TTL_S) else await cache.incr(counter)
    if count is None:
        raise RpcError(f"The parts of request {req_id} expired")
    if count == len(PARTS):
        await compose_and_upload(app, req_id)
    return {}


async def upload_unique_id(app: web.Application, body: dict[str, Any]) -> dict[str, Any]:
    return await upload_part(app, id_field(body, "req_id"), "review_id", id_field(body, "review_id"))


async def upload_user_id(app: web.Application, body: dict[str, Any]) -> dict[str, Any]:
    return await upload_part(app, id_field(body, "req_id"), "user_id", id_field(body, "user_id"))


async def upload_text(app: web.Application, body: dict[str, Any]) -> dict[str, Any]:
    text = text_field(body, "text", max_length=MAX_TEXT, required=False)
    return await upload_part(app, id_field(body, "req_id"), "text", text)


async def upload_movie_id(app: web.Application, body: dict[str, Any]) -> dict[str, Any]:
    movie_id = text_field(body, "movie_id", max_length=MAX_NAME)
    return await upload_part(app, id_field(body, "req_id"), "movie_id", movie_id)


async def upload_rating(app: web.Application, body: dict[str, Any]) -> dict[str, Any]:
    return await upload_part(app, id_field(body, "req_id"), "rating", rating_value(body.get("rating")))


def create_app() -> web.Application:
    cache = Cache.from_env()
    table = {
        "UploadUniqueId": upload_unique_id,
        "UploadUserId": upload_user_id,
        "UploadText": upload_text,
        "UploadMovieId": upload_movie_id,
        "UploadRating": upload_rating,
    }
    app = service_app(log, methods(COMPOSE_REVIEW, table), ready_check=latched(cache.check))
    use_cache(app, cache)
    use_client_pool(app, log)
    return app


def main() -> None:
    serve(SERVICE, PORT, create_app)


if __name__ == "__main__":
    main()
