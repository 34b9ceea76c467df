"""rating-service: ratings (port 9090), counted in rating-redis.

``UploadRating {req_id, movie_id, rating}`` hands the rating to compose-review-service
(``UploadRating``) and, at the same time, adds it to the movie's uncommitted ratings in Redis
(``INCRBY <movie_id>:uncommit_sum <rating>``, ``INCR <movie_id>:uncommit_num``).
"""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web

from remedlab.apps.kit.fields import MAX_NAME, id_field, text_field
from remedlab.apps.kit.health import latched
from remedlab.apps.kit.redis_store import REDIS, RedisStore, use_redis
from remedlab.apps.kit.rpc import CLIENT, serve, service_app
from remedlab.apps.kit.structured_log import get_logger
from remedlab.apps.kit.thrift_rpc import call, methods, use_client_pool
from remedlab.apps.media_microservices.review import rating_value
from remedlab.apps.media_microservices.rpc import COMPOSE_REVIEW, PORT, RATING

SERVICE = RATING.service

log = get_logger(SERVICE)


async def upload_rating(app: web.Application, body: dict[str, Any]) -> dict[str, Any]:
    req_id = id_field(body, "req_id")
    movie_id = text_field(body, "movie_id", max_length=MAX_NAME)
    rating = rating_value(body.get("rating"))
    counts: list[list[Any]] = [["INCRBY", f"{movie_id}:uncommit_sum", rating], ["INCR", f"{movie_id}:uncommit_num"]]
    await asyncio.gather(
        call(app[CLIENT], COMPOSE_REVIEW, "UploadRating", {"req_id": req_id, "rating": rating}),
        app[REDIS].pipeline(counts, target=movie_id),
    )
    return {}


def create_app() -> web.Application:
    redis = RedisStore.from_env()
    app = service_app(log, methods(RATING, {"UploadRating": upload_rating}), ready_check=latched(redis.check))
    use_redis(app, redis)
    use_client_pool(app, log)
    return app


def main() -> None:
    serve(SERVICE, PORT, create_app)


if __name__ == "__main__":
    main()
