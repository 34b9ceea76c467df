"""user-service: accounts (port 9090), in user-mongodb with user-memcached in front.

- ``RegisterUserWithId {req_id, first_name, last_name, username, password, user_id}`` and
  ``RegisterUser`` (the id made here, :mod:`.ids`) insert the account, its password kept as the
  SHA-256 of the password and a random salt, then tell social-graph-service (``InsertUser``).
  A username or id already taken is refused: ``User <name> already existed``.
- ``Login {req_id, username, password}`` answers ``{"token"}``, a JWT (HS256, the ``JWT_SECRET``
  variable) with the user's id and name, valid an hour; what it checks is cached as
  ``<username>:login``.
- ``ComposeCreatorWithUserId {req_id, user_id, username}`` answers the post's creator
  ``{user_id, username}`` as given (no store is read, as in the original).
- ``ComposeCreatorWithUsername {req_id, username}`` and ``GetUserId {req_id, username}`` look the
  id up in user-memcached (``<username>:user_id``), then in the ``users`` table, and cache it.
  An unknown user: ``User: <name> is not registered`` (404).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import time
from collections.abc import Mapping
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
    ConfigError,
    NotFound,
    RpcError,
    serve,
)
from remedlab.apps.kit.structured_log import get_logger
from remedlab.apps.kit.thrift_rpc import stored_service_app
from remedlab.apps.social_network.post import Creator
from remedlab.apps.social_network.rpc import PORT, SOCIAL_GRAPH, USER, call, methods, use_client_pool
from remedlab.apps.social_network.user_cache import login_key, user_id_key

SERVICE = USER.service
TOKEN_TTL_S = 3600
INSERT_USER = (
    "INSERT INTO users (user_id, first_name, last_name, username, salt, password)"
    " VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING RETURNING user_id"
)
USER_ID_OF = "SELECT user_id FROM users WHERE username = $1"
LOGIN_OF = "SELECT user_id, salt, password FROM users WHERE username = $1"
SECRET = web.AppKey("secret", bytes)
IDS = web.AppKey("ids", IdMaker)

log = get_logger(SERVICE)


class Conflict(RpcError):
    status = 409


def matches(password: str, salt: str, stored_hash: str) -> bool:
    return hmac.compare_digest(password_hash(password, salt), stored_hash.lower())


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def jwt_token(claims: Mapping[str, str], secret: bytes) -> str:
    """A JWT signed with HMAC-SHA256."""
    header = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}, separators=(",", ":")).encode())
    payload = _b64(json.dumps(dict(claims), separators=(",", ":")).encode())
    signature = hmac.new(secret, f"{header}.{payload}".encode(), hashlib.sha256).digest()
    return f"{header}.{payload}.{_b64(signature)}"


# --------------------------------------------------------------------------- registering


async def register(app: web.Application, body: dict[str, Any], user_id: int) -> dict[str, Any]:
    req_id = id_field(body, "req_id")
    first_name = text_field(body, "first_name", max_length=MAX_NAME)
    last_name = text_field(body, "last_name", max_length=MAX_NAME)
    username = text_field(body, "username", max_length=MAX_NAME)
    password = text_field(body, "password", max_length=MAX_NAME)
    salt = new_salt()
    inserted = await app[DATABASE].fetchval(
        INSERT_USER, user_id, first_name, last_name, username, salt, password_hash(password, salt), table="users"
    )
    if inserted is None:
        raise Conflict(f"User {username} already existed")
    await call(app[CLIENT], SOCIAL_GRAPH, "InsertUser", {"req_id": req_id, "user_id": user_id})
    return {}


async def register_user_with_id(app: web.Application, body: dict[str, Any]) -> dict[str, Any]:
    return await register(app, body, id_field(body, "user_id"))


async def register_user(app: web.Application, body: dict[str, Any]) -> dict[str, Any]:
    return await register(app, body, app[IDS].next())


# --------------------------------------------------------------------------- looking users up


async def user_id_of(cache: Cache, database: Database, username: str) -> int:
    """The id of ``username`` from the cache, else from the table (then cached)."""
    key = user_id_key(username)
    if key is not None:
        cached = await cache.get(key)
        if cached is not None:
            return id_value(cached, key)
    user_id = await database.fetchval(USER_ID_OF, username, table="users")
    if user_id is None:
        raise NotFound(f"User: {username} is not registered")
    if key is not None:
        await cache.set(key, int(user_id))
    return int(user_id)


async def get_user_id(app: web.Application, body: dict[str, Any]) -> dict[str, Any]:
    id_field(body, "req_id")
    username = text_field(body, "username", max_length=MAX_NAME)
    return {"user_id": await user_id_of(app[CACHE], app[DATABASE], username)}


async def compose_creator_with_username(app: web.Application, body: dict[str, Any]) -> dict[str, Any]:
    id_field(body, "req_id")
    username = text_field(body, "username", max_length=MAX_NAME)
    return Creator(await user_id_of(app[CACHE], app[DATABASE], username), username).to_json()


async def compose_creator_with_user_id(app: web.Application, body: dict[str, Any]) -> dict[str, Any]:
    id_field(body, "req_id")
    return Creator(id_field(body, "user_id"), text_field(body, "username", max_length=MAX_NAME)).to_json()


async def login(app: web.Application, body: dict[str, Any]) -> dict[str, Any]:
    id_field(body, "req_id")
    username = text_field(body, "username", max_length=MAX_NAME)
    password = text_field(body, "password", max_length=MAX_NAME)
    cache: Cache = app[CACHE]
    key = login_key(username)
    stored = await cache.get(key) if key is not None else None
    if not isinstance(stored, dict):
        row = await app[DATABASE].fetchrow(LOGIN_OF, username, table="users")
        if row is None:
            raise NotFound(f"User: {username} is not registered")
        stored = {"user_id": int(row["user_id"]), "salt": row["salt"], "password": row["password"]}
        if key is not None:
            await cache.set(key, stored)
    if not matches(password, str(stored.get("salt", "")), str(stored.get("password", ""))):
        raise RpcError("Incorrect username or password", status=401)
    claims = {
        "user_id": str(stored.get("user_id")),
        "username": username,
        "timestamp": str(int(time.time())),
        "ttl": str(TOKEN_TTL_S),
    }
    return {"token": jwt_token(claims, app[SECRET])}


def create_app() -> web.Application:
    secret = os.environ.get("JWT_SECRET", "")
    if not secret:
        raise ConfigError("JWT_SECRET is not set: the secret that signs login tokens")
    table = {
        "RegisterUser": register_user,
        "RegisterUserWithId": register_user_with_id,
        "Login": login,
        "ComposeCreatorWithUserId": compose_creator_with_user_id,
        "ComposeCreatorWithUsername": compose_creator_with_username,
        "GetUserId": get_user_id,
    }
    app = stored_service_app(log, methods(USER, table), "users")
    app[SECRET] = secret.encode()
    app[IDS] = IdMaker()
    use_client_pool(app, log)
    return app


def main() -> None:
    serve(SERVICE, PORT, create_app)


if __name__ == "__main__":
    main()
