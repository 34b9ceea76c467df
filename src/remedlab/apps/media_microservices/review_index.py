"""The reviews of one user (user-review-service) or of one movie (movie-review-service), newest first
(port 9090): a table of ``(owner_id, review_id, timestamp)`` in the service's ``-mongodb`` store, and
a sorted set per owner (review ids scored by time) in its ``-redis`` cache.

- ``Upload<Kind>Review {req_id, <owner>, review_id, timestamp}`` adds a row; the owner's sorted set
  gets the review too when it is cached already (an uncached owner is loaded whole at its next read).
- ``Read<Kind>Reviews {req_id, <owner>, start, stop}`` takes the review ids at positions ``start`` …
  ``stop-1``, newest first, from Redis, or from the table when Redis holds none of the owner's (then
  caches them all), and answers ``{"reviews"}`` as review-storage-service reads them
  (``ReadReviews``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from remedlab.apps.kit.database import Database
from remedlab.apps.kit.fields import MAX_NAME, id_field, index_field, text_field
from remedlab.apps.kit.health import all_of, latched
from remedlab.apps.kit.redis_store import REDIS, RedisStore, use_redis
from remedlab.apps.kit.rpc import CLIENT, DATABASE, serve, service_app, use_database
from remedlab.apps.kit.structured_log import get_logger
from remedlab.apps.kit.thrift_rpc import Peer, answer_list, call, methods, tables_readable, use_client_pool
from remedlab.apps.media_microservices.rpc import PORT, REVIEW_STORAGE


@dataclass(frozen=True, slots=True)
class ReviewIndex:
    """One of the two services: its peer, its table, its owner field and how to read it."""

    peer: Peer
    kind: str
    """``User`` or ``Movie``, as the methods' names spell it."""
    table: str
    read_owner: Callable[[Mapping[str, Any]], str]


def user_owner(body: Mapping[str, Any]) -> str:
    return str(id_field(body, "user_id"))


def movie_owner(body: Mapping[str, Any]) -> str:
    return text_field(body, "movie_id", max_length=MAX_NAME)


def serve_index(index: ReviewIndex) -> None:
    log = get_logger(index.peer.service)
    insert = f"INSERT INTO {index.table} (owner_id, review_id, timestamp) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING"
    select = (
        f"SELECT review_id, timestamp FROM {index.table} WHERE owner_id = $1 ORDER BY timestamp DESC, review_id DESC"
    )

    async def upload(app: web.Application, body: dict[str, Any]) -> dict[str, Any]:
        id_field(body, "req_id")
        owner = index.read_owner(body)
        review_id, timestamp = id_field(body, "review_id"), id_field(body, "timestamp")
        await app[DATABASE].execute(insert, owner, review_id, timestamp, table=index.table)
        redis: RedisStore = app[REDIS]
        if await redis.command("ZCARD", owner, target=owner):
            await redis.command("ZADD", owner, timestamp, review_id, target=owner)
        return {}

    async def review_ids(app: web.Application, owner: str, start: int, stop: int) -> list[int]:
        if stop <= start:
            return []
        redis: RedisStore = app[REDIS]
        window: list[list[Any]] = [["ZREVRANGE", owner, start, stop - 1], ["ZCARD", owner]]
        cached, count = await redis.pipeline(window, target=owner)
        if count:  # a cached owner's set holds all its reviews (uploads add to it from then on)
            return [int(review_id) for review_id in cached]
        rows = await app[DATABASE].fetch(select, owner, table=index.table)
        if rows:
            scores: list[Any] = [value for row in rows for value in (int(row["timestamp"]), int(row["review_id"]))]
            await redis.command("ZADD", owner, *scores, target=owner)
        return [int(row["review_id"]) for row in rows[start:stop]]

    async def read(app: web.Application, body: dict[str, Any]) -> dict[str, Any]:
        req_id = id_field(body, "req_id")
        owner = index.read_owner(body)
        ids = await review_ids(app, owner, index_field(body, "start"), index_field(body, "stop"))
        if not ids:
            return {"reviews": []}
        reply = await call(app[CLIENT], REVIEW_STORAGE, "ReadReviews", {"req_id": req_id, "review_ids": ids}, read=True)
        return {"reviews": answer_list(reply, "reviews", REVIEW_STORAGE)}

    def create_app() -> web.Application:
        database, redis = Database.from_env(), RedisStore.from_env()
        table = {f"Upload{index.kind}Review": upload, f"Read{index.kind}Reviews": read}
        ready = latched(all_of(tables_readable(database, index.table), redis.check))
        app = service_app(log, methods(index.peer, table), ready_check=ready)
        use_database(app, database)
        use_redis(app, redis)
        use_client_pool(app, log)
        return app

    serve(index.peer.service, PORT, create_app)
