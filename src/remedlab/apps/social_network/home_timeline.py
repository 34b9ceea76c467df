"""home-timeline-service: each user's home timeline (port 9090), the posts of the people they follow,
in home-timeline-redis.

- ``WriteHomeTimeline {req_id, post_id, user_id, timestamp, user_mentions_id}`` asks
  social-graph-service for the author's followers (``GetFollowers``) and adds the post, scored by
  its time, to the sorted set of each follower and each user mentioned (the set named by the
  user's id), in one round trip.
- ``ReadHomeTimeline {req_id, user_id, start, stop}`` answers ``{"posts"}``: the post ids at
  positions start … stop-1, newest first, read from Redis, then the posts from
  post-storage-service (``ReadPosts``). ``stop <= start`` answers no posts.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from remedlab.apps.kit.fields import id_field, id_list_field, id_value
from remedlab.apps.kit.health import latched
from remedlab.apps.kit.redis_store import REDIS, RedisStore, use_redis
from remedlab.apps.kit.rpc import CLIENT, serve, service_app
from remedlab.apps.kit.structured_log import get_logger
from remedlab.apps.social_network.rpc import (
    HOME_TIMELINE,
    PORT,
    SOCIAL_GRAPH,
    call,
    methods,
    read_answer,
    use_client_pool,
)
from remedlab.apps.social_network.timelines import read_posts, slice_fields

SERVICE = HOME_TIMELINE.service

log = get_logger(SERVICE)


def timeline_additions(followers: list[int], mentioned: list[int], post_id: int, timestamp: int) -> list[list[Any]]:
    """The Redis commands adding a post to the home timelines of ``followers`` and ``mentioned``."""
    readers = sorted(set(followers) | set(mentioned))
    return [["ZADD", str(reader), "NX", timestamp, post_id] for reader in readers]


async def write_home_timeline(app: web.Application, body: dict[str, Any]) -> dict[str, Any]:
    req_id, post_id = id_field(body, "req_id"), id_field(body, "post_id")
    user_id, timestamp = id_field(body, "user_id"), id_field(body, "timestamp")
    mentioned = id_list_field(body, "user_mentions_id")
    reply = await call(app[CLIENT], SOCIAL_GRAPH, "GetFollowers", {"req_id": req_id, "user_id": user_id}, read=True)
    followers = read_answer(reply, SOCIAL_GRAPH, lambda r: id_list_field(r, "followers"))
    commands = timeline_additions(followers, mentioned, post_id, timestamp)
    await app[REDIS].pipeline(commands, target="home-timeline")
    return {}


async def read_home_timeline(app: web.Application, body: dict[str, Any]) -> dict[str, Any]:
    req_id = id_field(body, "req_id")
    user_id, start, stop = slice_fields(body)
    if stop <= start:
        return {"posts": []}
    key = str(user_id)
    members = await app[REDIS].command("ZREVRANGE", key, start, stop - 1, target=key)
    post_ids = [id_value(member, key) for member in members]
    posts = await read_posts(app[CLIENT], req_id, post_ids)
    return {"posts": [post.to_json() for post in posts]}


def create_app() -> web.Application:
    redis = RedisStore.from_env()
    table = {"WriteHomeTimeline": write_home_timeline, "ReadHomeTimeline": read_home_timeline}
    app = service_app(log, methods(HOME_TIMELINE, table), ready_check=latched(redis.check))
    use_redis(app, redis)
    use_client_pool(app, log)
    return app


def main() -> None:
    serve(SERVICE, PORT, create_app)


if __name__ == "__main__":
    main()
