"""user-service: accounts (port 9090), in user-mongodb with user-memcached in front.

- ``RegisterUser {req_id, first_name, last_name, username, password}`` adds an account with a new id;
  ``RegisterUserWithId`` takes the id as ``user_id``. The password is kept salted and hashed
  (:mod:`remedlab.apps.kit.passwords`); a username already there fails.
- ``UploadUserWithUsername {req_id, username}`` finds the user's id (memcached, else the ``users``
  table, then cached) and hands it to compose-review-service (``UploadUserId``). An unknown username
  fails: ``User: <username> is not registered``.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from remedlab.apps.kit.cache import Cache
from remedlab.apps.kit.database import Database
from remedlab.apps.kit.fields import MAX_NAME, id_field, id_value, text_field
from remedlab.apps.kit.ids import IdMaker
from remedlab.apps.kit.passwords import new_salt, password_hash
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
from remedlab.apps.media_microservices.rpc import COMPOSE_REVIEW, PORT, USER

SERVICE = USER.service
INSERT_USER = (
    "INSERT INTO users (user_id, first_name, last_name, username, salt, password)"
    " VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING RETURNING user_id"
)
USER_ID_OF = "SELECT user_id FROM users WHERE username = $1"
IDS = web.AppKey("ids", IdMaker)

log = get_logger(SERVICE)


async def register(app: web.Application, body: dict[str, Any], user_id: int) -> dict[str, Any]:
    id_field(body, "req_id")
    first_name = text_field(body, "first_name", max_length=MAX_NAME)
    last_name = text_field(body, "last_name", max_length=MAX_NAME)
    username = text_field(body, "username", max_length=MAX_NAME)
    password = text_field(body, "password", max_length=MAX_NAME)
    salt = new_salt()
    inserted = await app[DATABASE].fetchval(
        INSERT_USER, user_id, first_name, last_name, username, salt, password_hash(password, salt), table="users"
    )
    if inserted is None:
        raise RpcError(f"User {username} already existed", status=409)
    return {}


async def register_user_with_id(app: web.Application, body: dict[str, Any]) -> dict[str, Any]:
    return await register(app, body, id_field(body, "user_id"))


async def register_user(app: web.Application, body: dict[str, Any]) -> dict[str, Any]:
    return await register(app, body, app[IDS].next())


async def user_id_of(cache: Cache, database: Database, username: str) -> int:
    key = cache_key(username, "user_id")
    cached = await cache.get(key) if key else None
    if cached is not None and key:
        return id_value(cached, key)
    user_id = await database.fetchval(USER_ID_OF, username, table="users")
    if user_id is None:
        raise NotFound(f"User: {username} is not registered")
    if key:
        await cache.set(key, int(user_id))
    return int(user_id)


async def upload_user_with_username(app: web.Application, body: dict[str, Any]) -> dict[str, Any]:
    req_id = id_field(body, "req_id")
    username = text_field(body, "username", max_length=MAX_NAME)
    user_id = await user_id_of(app[CACHE], app[DATABASE], username)
    await call(app[CLIENT], COMPOSE_REVIEW, "UploadUserId", {"req_id": req_id, "user_id": user_id})
    return {}


def create_app() -> web.Application:
    table = {
        "RegisterUser": register_user,
        "RegisterUserWithId": register_user_with_id,
        "UploadUserWithUsername": upload_user_with_username,
    }
    app = stored_service_app(log, methods(USER, table), "users")
    app[IDS] = IdMaker()
    use_client_pool(app, log)
    return app


def main() -> None:
    serve(SERVICE, PORT, create_app)


if __name__ == "__main__":
    main()
