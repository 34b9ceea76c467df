"""user-mention-service: the users a post mentions (port 9090), from user-memcached or user-mongodb.

``ComposeUserMentions {req_id, usernames}`` answers ``{"user_mentions": [{user_id, username}]}``
for the usernames that are registered, in the order asked, each once. Ids are read from
user-memcached (``<username>:user_id``); the rest from the ``users`` table of user-mongodb (as in
the original, what the table gives is not cached here: the user service caches ids it looks up).
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from remedlab.apps.kit.cache import Cache
from remedlab.apps.kit.database import Database
from remedlab.apps.kit.fields import MAX_NAME, id_field, id_value, text_list_field
from remedlab.apps.kit.rpc import CACHE, DATABASE, serve
from remedlab.apps.kit.structured_log import get_logger
from remedlab.apps.kit.thrift_rpc import stored_service_app
from remedlab.apps.social_network.post import UserMention
from remedlab.apps.social_network.rpc import PORT, USER_MENTION, methods, unique
from remedlab.apps.social_network.user_cache import user_id_key

SERVICE = USER_MENTION.service
USER_IDS = "SELECT user_id, username FROM users WHERE username = ANY($1::text[])"

log = get_logger(SERVICE)


async def user_mentions(cache: Cache, database: Database, usernames: list[str]) -> list[UserMention]:
    names = unique(usernames)
    if not names:
        return []
    keys = {name: key for name in names if (key := user_id_key(name)) is not None}
    cached = await cache.get_many(list(keys.values()))
    ids: dict[str, int] = {}
    for name, key in keys.items():
        if key in cached:
            ids[name] = id_value(cached[key], key)
    missing = [name for name in names if name not in ids]
    if missing:
        rows = await database.fetch(USER_IDS, missing, table="users")
        ids.update({row["username"]: int(row["user_id"]) for row in rows})
    return [UserMention(ids[name], name) for name in names if name in ids]


async def compose_user_mentions(app: web.Application, body: dict[str, Any]) -> dict[str, Any]:
    id_field(body, "req_id")
    usernames = text_list_field(body, "usernames", max_length=MAX_NAME)
    mentions = await user_mentions(app[CACHE], app[DATABASE], usernames)
    return {"user_mentions": [m.to_json() for m in mentions]}


def create_app() -> web.Application:
    app = stored_service_app(log, methods(USER_MENTION, {"ComposeUserMentions": compose_user_mentions}), "users")
    return app


def main() -> None:
    serve(SERVICE, PORT, create_app)


if __name__ == "__main__":
    main()
