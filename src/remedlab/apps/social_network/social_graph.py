"""social-graph-service: who follows whom (port 9090), in social-graph-mongodb with social-graph-redis
in front.

- ``GetFollowers {req_id, user_id}`` / ``GetFollowees`` answer ``{"followers"}`` / ``{"followees"}``:
  user ids, earliest follow first. They come from the sorted sets ``<user_id>:followers`` /
  ``<user_id>:followees`` in Redis (scored by the follow's time in ms); an empty or missing set is
  read from the ``follows`` table and written to Redis.
- ``Follow {req_id, user_id, followee_id}`` records the follow in the table (once) and
  ``Unfollow`` deletes it; both then drop the two sets it changes from Redis, so that the next
  read loads them whole. (The original adds to the sets instead, which leaves a set that was not
  loaded yet holding only the new follow.)
- ``FollowWithUsername {req_id, user_name, followee_name}`` / ``UnfollowWithUsername`` ask
  user-service for both ids (``GetUserId``, at the same time), then follow or unfollow.
- ``InsertUser {req_id, user_id}`` adds a user without follows to the ``social_graph`` table.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any, Literal

from aiohttp import web

from remedlab.apps.kit.database import Database
from remedlab.apps.kit.fields import MAX_NAME, id_field, id_value, text_field
from remedlab.apps.kit.health import all_of, latched
from remedlab.apps.kit.redis_store import REDIS, RedisStore, use_redis
from remedlab.apps.kit.rpc import CLIENT, DATABASE, serve, service_app, use_database
from remedlab.apps.kit.structured_log import get_logger
from remedlab.apps.social_network.rpc import (
    PORT,
    SOCIAL_GRAPH,
    USER,
    call,
    methods,
    read_answer,
    tables_readable,
    use_client_pool,
)

SERVICE = SOCIAL_GRAPH.service
Side = Literal["followers", "followees"]
FOLLOWERS_OF = "SELECT user_id AS id, timestamp FROM follows WHERE followee_id = $1 ORDER BY timestamp, user_id"
FOLLOWEES_OF = "SELECT followee_id AS id, timestamp FROM follows WHERE user_id = $1 ORDER BY timestamp, followee_id"
INSERT_FOLLOW = "INSERT INTO follows (user_id, followee_id, timestamp) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING"
DELETE_FOLLOW = "DELETE FROM follows WHERE user_id = $1 AND followee_id = $2"
INSERT_USER = "INSERT INTO social_graph (user_id) VALUES ($1) ON CONFLICT DO NOTHING"

log = get_logger(SERVICE)


def set_key(user_id: int, side: Side) -> str:
    return f"{user_id}:{side}"


async def neighbours(redis: RedisStore, database: Database, user_id: int, side: Side) -> list[int]:
    """``user_id``'s followers or followees: from Redis, else from the table (then written to Redis)."""
    key = set_key(user_id, side)
    members = await redis.command("ZRANGE", key, 0, -1, target=key)
    if members:
        return [id_value(member, key) for member in members]
    rows = await database.fetch(FOLLOWERS_OF if side == "followers" else FOLLOWEES_OF, user_id, table="follows")
    if rows:
        scored = [part for row in rows for part in (int(row["timestamp"]), int(row["id"]))]
        await redis.command("ZADD", key, "NX", *scored, target=key)
    return [int(row["id"]) for row in rows]


async def get_followers(app: web.Application, body: dict[str, Any]) -> dict[str, Any]:
    id_field(body, "req_id")
    return {"followers": await neighbours(app[REDIS], app[DATABASE], id_field(body, "user_id"), "followers")}


async def get_followees(app: web.Application, body: dict[str, Any]) -> dict[str, Any]:
    id_field(body, "req_id")
    return {"followees": await neighbours(app[REDIS], app[DATABASE], id_field(body, "user_id"), "followees")}


async def change_follow(app: web.Application, user_id: int, followee_id: int, *, follow: bool) -> None:
    database: Database = app[DATABASE]
    if follow:
        await database.execute(INSERT_FOLLOW, user_id, followee_id, time.time_ns() // 1_000_000, table="follows")
    else:
        await database.execute(DELETE_FOLLOW, user_id, followee_id, table="follows")
    stale = [set_key(user_id, "followees"), set_key(followee_id, "followers")]
    await app[REDIS].command("DEL", *stale, target=stale[0])


async def follow(app: web.Application, body: dict[str, Any]) -> dict[str, Any]:
    id_field(body, "req_id")
    await change_follow(app, id_field(body, "user_id"), id_field(body, "followee_id"), follow=True)
    return {}


async def unfollow(app: web.Application, body: dict[str, Any]) -> dict[str, Any]:
    id_field(body, "req_id")
    await change_follow(app, id_field(body, "user_id"), id_field(body, "followee_id"), follow=False)
    return {}


async def ids_of(app: web.Application, req_id: int, *usernames: str) -> list[int]:
    """The user ids of ``usernames``, asked of user-service at the same time."""
    client = app[CLIENT]
    replies = await asyncio.gather(
        *(call(client, USER, "GetUserId", {"req_id": req_id, "username": name}, read=True) for name in usernames)
    )
    return [read_answer(reply, USER, lambda r: id_field(r, "user_id")) for reply in replies]


async def follow_with_username(app: web.Application, body: dict[str, Any]) -> dict[str, Any]:
    req_id = id_field(body, "req_id")
    names = text_field(body, "user_name", max_length=MAX_NAME), text_field(body, "followee_name", max_length=MAX_NAME)
    user_id, followee_id = await ids_of(app, req_id, *names)
    await change_follow(app, user_id, followee_id, follow=True)
    return {}


async def unfollow_with_username(app: web.Application, body: dict[str, Any]) -> dict[str, Any]:
    req_id = id_field(body, "req_id")
    names = text_field(body, "user_name", max_length=MAX_NAME), text_field(body, "followee_name", max_length=MAX_NAME)
    user_id, followee_id = await ids_of(app, req_id, *names)
    await change_follow(app, user_id, followee_id, follow=False)
    return {}


async def insert_user(app: web.Application, body: dict[str, Any]) -> dict[str, Any]:
    id_field(body, "req_id")
    await app[DATABASE].execute(INSERT_USER, id_field(body, "user_id"), table="social_graph")
    return {}


def create_app() -> web.Application:
    database, redis = Database.from_env(), RedisStore.from_env()
    table = {
        "GetFollowers": get_followers,
        "GetFollowees": get_followees,
        "Follow": follow,
        "Unfollow": unfollow,
        "FollowWithUsername": follow_with_username,
        "UnfollowWithUsername": unfollow_with_username,
        "InsertUser": insert_user,
    }
    ready = latched(all_of(tables_readable(database, "social_graph", "follows"), redis.check))
    app = service_app(log, methods(SOCIAL_GRAPH, table), ready_check=ready)
    use_database(app, database)
    use_redis(app, redis)
    use_client_pool(app, log)
    return app


def main() -> None:
    serve(SERVICE, PORT, create_app)


if __name__ == "__main__":
    main()
