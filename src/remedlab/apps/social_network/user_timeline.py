"""user-timeline-service: each user's own posts (port 9090), in user-timeline-mongodb with
user-timeline-redis in front.

- ``WriteUserTimeline {req_id, post_id, user_id, timestamp}`` adds the post to the author's rows of
  the ``user_timeline`` table, then to the sorted set named by the author's id in Redis.
- ``ReadUserTimeline {req_id, user_id, start, stop}`` answers ``{"posts"}``: positions start …
  stop-1, newest first. Redis gives what it holds of them; when it holds fewer, the rest come from
  the table (the newest ``stop`` posts), and what the table gave is written back to Redis while
  post-storage-service (``ReadPosts``) reads the posts.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from aiohttp import web

from remedlab.apps.kit.database import Database
from remedlab.apps.kit.fields import id_field, id_value
from remedlab.apps.kit.health import all_of, latched
from remedlab.apps.kit.redis_store import REDIS, RedisStore, use_redis
from remedlab.apps.kit.rpc import CLIENT, DATABASE, serve, service_app, use_database
from remedlab.apps.kit.structured_log import get_logger
from remedlab.apps.social_network.rpc import PORT, USER_TIMELINE, methods, tables_readable, use_client_pool
from remedlab.apps.social_network.timelines import read_posts, slice_fields

SERVICE = USER_TIMELINE.service
INSERT_ENTRY = "INSERT INTO user_timeline (user_id, post_id, timestamp) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING"
NEWEST_ENTRIES = (
    "SELECT post_id, timestamp FROM user_timeline WHERE user_id = $1 ORDER BY timestamp DESC, post_id DESC LIMIT $2"
)

log = get_logger(SERVICE)


def merge_slice(cached: Sequence[int], stored: Sequence[int], start: int) -> list[int]:
    """The slice's post ids: those Redis gave for positions start…, then the table's newest from the
    position after them on (the table's list starts at position 0), without repeats."""
    ids = list(cached)
    for position, post_id in enumerate(stored):
        if position >= start + len(cached) and post_id not in ids:
            ids.append(post_id)
    return ids


async def write_user_timeline(app: web.Application, body: dict[str, Any]) -> dict[str, Any]:
    id_field(body, "req_id")
    post_id, user_id, timestamp = id_field(body, "post_id"), id_field(body, "user_id"), id_field(body, "timestamp")
    await app[DATABASE].execute(INSERT_ENTRY, user_id, post_id, timestamp, table="user_timeline")
    key = str(user_id)
    await app[REDIS].command("ZADD", key, "NX", timestamp, post_id, target=key)
    return {}


async def read_user_timeline(app: web.Application, body: dict[str, Any]) -> dict[str, Any]:
    req_id = id_field(body, "req_id")
    user_id, start, stop = slice_fields(body)
    if stop <= start:
        return {"posts": []}
    redis: RedisStore = app[REDIS]
    database: Database = app[DATABASE]
    key = str(user_id)
    members = await redis.command("ZREVRANGE", key, start, stop - 1, target=key)
    cached = [id_value(member, key) for member in members]
    scored: list[Any] = []
    post_ids = cached
    if start + len(cached) < stop:
        rows = await database.fetch(NEWEST_ENTRIES, user_id, stop, table="user_timeline")
        post_ids = merge_slice(cached, [int(row["post_id"]) for row in rows], start)
        scored = [part for row in rows for part in (int(row["timestamp"]), int(row["post_id"]))]
    reading = read_posts(app[CLIENT], req_id, post_ids)
    if scored:
        posts, _ = await asyncio.gather(reading, redis.command("ZADD", key, *scored, target=key))
    else:
        posts = await reading
    return {"posts": [post.to_json() for post in posts]}


def create_app() -> web.Application:
    database, redis = Database.from_env(), RedisStore.from_env()
    table = {"WriteUserTimeline": write_user_timeline, "ReadUserTimeline": read_user_timeline}
    ready = latched(all_of(tables_readable(database, "user_timeline"), redis.check))
    app = service_app(log, methods(USER_TIMELINE, table), ready_check=ready)
    use_database(app, database)
    use_redis(app, redis)
    use_client_pool(app, log)
    return app


def main() -> None:
    serve(SERVICE, PORT, create_app)


if __name__ == "__main__":
    main()
