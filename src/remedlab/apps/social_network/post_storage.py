"""post-storage-service: posts (port 9090), in post-storage-mongodb with post-storage-memcached in front.

- ``StorePost {req_id, post}`` inserts the post into the ``post`` table.
- ``ReadPost {req_id, post_id}`` answers the post, from memcached (its id as key, the post as
  JSON) or else from the table (then cached); an unknown id: ``Post_id: <id> doesn't exist``.
- ``ReadPosts {req_id, post_ids}`` answers ``{"posts"}`` in the order asked: the cached ones from
  memcached in one request, the rest from the table in one query, then cached. When some id is
  unknown the call fails (``Return set incomplete``), as the original's does.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from typing import Any

from aiohttp import web

from remedlab.apps.kit.cache import Cache
from remedlab.apps.kit.database import Database
from remedlab.apps.kit.fields import id_field, id_list_field
from remedlab.apps.kit.rpc import CACHE, DATABASE, NotFound, RpcError, serve
from remedlab.apps.kit.structured_log import get_logger
from remedlab.apps.kit.thrift_rpc import stored_service_app
from remedlab.apps.social_network.post import Creator, Media, Post, PostType, Url, UserMention
from remedlab.apps.social_network.rpc import PORT, POST_STORAGE, methods, unique

SERVICE = POST_STORAGE.service
COLUMNS = "post_id, creator_id, creator_username, req_id, text, user_mentions, media, urls, timestamp, post_type"
INSERT_POST = f"INSERT INTO post ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7::jsonb, $8::jsonb, $9, $10)"
POSTS = f"SELECT {COLUMNS} FROM post WHERE post_id = ANY($1::bigint[])"

log = get_logger(SERVICE)


def insert_arguments(post: Post) -> tuple[Any, ...]:
    as_json = post.to_json()
    return (
        post.post_id,
        post.creator.user_id,
        post.creator.username,
        post.req_id,
        post.text,
        json.dumps(as_json["user_mentions"]),
        json.dumps(as_json["media"]),
        json.dumps(as_json["urls"]),
        post.timestamp,
        int(post.post_type),
    )


def _items(value: Any) -> list[Any]:
    items = json.loads(value) if isinstance(value, str) else value
    return items if isinstance(items, list) else []


def post_from_row(row: Mapping[str, Any]) -> Post:
    return Post(
        post_id=int(row["post_id"]),
        creator=Creator(int(row["creator_id"]), str(row["creator_username"])),
        req_id=int(row["req_id"]),
        text=str(row["text"]),
        user_mentions=tuple(UserMention.from_json(m) for m in _items(row["user_mentions"])),
        media=tuple(Media.from_json(m) for m in _items(row["media"])),
        urls=tuple(Url.from_json(u) for u in _items(row["urls"])),
        timestamp=int(row["timestamp"]),
        post_type=PostType(int(row["post_type"])),
    )


async def read_posts(cache: Cache, database: Database, post_ids: list[int]) -> dict[int, Post]:
    """The posts of ``post_ids`` that exist: cached ones, then the rest from the table (and cached)."""
    wanted = unique(post_ids)
    if not wanted:
        return {}
    cached = await cache.get_many([str(post_id) for post_id in wanted])
    found = {post_id: Post.from_json(cached[str(post_id)]) for post_id in wanted if str(post_id) in cached}
    missing = [post_id for post_id in wanted if post_id not in found]
    if missing:
        rows = await database.fetch(POSTS, missing, table="post")
        fetched = {int(row["post_id"]): post_from_row(row) for row in rows}
        await asyncio.gather(*(cache.set(str(post_id), post.to_json()) for post_id, post in fetched.items()))
        found.update(fetched)
    return found


async def store_post(app: web.Application, body: dict[str, Any]) -> dict[str, Any]:
    id_field(body, "req_id")
    post = Post.from_json(body.get("post"))
    await app[DATABASE].execute(INSERT_POST, *insert_arguments(post), table="post")
    return {}


async def read_post(app: web.Application, body: dict[str, Any]) -> dict[str, Any]:
    id_field(body, "req_id")
    post_id = id_field(body, "post_id")
    found = await read_posts(app[CACHE], app[DATABASE], [post_id])
    if post_id not in found:
        raise NotFound(f"Post_id: {post_id} doesn't exist")
    return found[post_id].to_json()


async def read_posts_method(app: web.Application, body: dict[str, Any]) -> dict[str, Any]:
    id_field(body, "req_id")
    post_ids = id_list_field(body, "post_ids")
    found = await read_posts(app[CACHE], app[DATABASE], post_ids)
    absent = [post_id for post_id in post_ids if post_id not in found]
    if absent:
        log.error("Return set incomplete", missing=absent[:10])
        raise RpcError("Return set incomplete")
    return {"posts": [found[post_id].to_json() for post_id in post_ids]}


def create_app() -> web.Application:
    table = {"StorePost": store_post, "ReadPost": read_post, "ReadPosts": read_posts_method}
    app = stored_service_app(log, methods(POST_STORAGE, table), "post")
    return app


def main() -> None:
    serve(SERVICE, PORT, create_app)


if __name__ == "__main__":
    main()
