"""Logging in and accounts: ts-auth-service, ts-user-service and ts-verification-code-service.

- auth ``POST /api/v1/users/login`` ``{username, password, verificationCode}``: checks the
  code with verification-code (when one is given) and the password against its ``auth_user``
  table, and answers ``{userId, username, token}``; ``POST /api/v1/auth`` makes an account
  (user-service's register calls it); ``GET /api/v1/users`` lists them.
- user ``GET /api/v1/userservice/users``, ``.../users/{userName}``, ``.../users/id/{userId}``,
  ``POST .../users/register`` (then auth's ``POST /api/v1/auth``), ``DELETE .../users/{userId}``.
- verification-code ``GET /api/v1/verifycode/generate`` answers a code it remembers for five
  minutes; ``GET /api/v1/verifycode/verify/{code}`` says whether it is one of them.
"""

from __future__ import annotations

import hmac
import random
import time
import uuid
from typing import Any

from aiohttp import web

from remedlab.apps.train_ticket import seed, tokens
from remedlab.apps.train_ticket.service_base import Context, Program, Refused, Route, ServiceSpec, body_of, ok, text

CODE_LIFETIME_S = 300.0


def check_password(stored: dict[str, Any] | None, password: str) -> bool:
    return stored is not None and hmac.compare_digest(str(stored.get("password", "")), seed.password_hash(password))


async def _login(ctx: Context, request: web.Request) -> Any:
    body = await body_of(request)
    username, password = text(body, "username"), str(body.get("password") or "")
    code = str(body.get("verificationCode") or "").strip()
    if code and not await ctx.call("ts-verification-code-service", "GET", f"/api/v1/verifycode/verify/{code}"):
        raise Refused("Verification failed.")
    account = next((u for u in await ctx.db.all("auth_user") if u["username"] == username), None)
    if account is None or not check_password(account, password):
        raise Refused("Incorrect username or password.")
    token = tokens.issue(account["userId"], username, list(account.get("roles") or ["ROLE_USER"]))
    return ok({"userId": account["userId"], "username": username, "token": token}, "login success")


async def _create_auth_user(ctx: Context, request: web.Request) -> Any:
    body = await body_of(request)
    user_id, name = text(body, "userId"), text(body, "userName")
    doc: dict[str, Any] = {"id": user_id, "userId": user_id, "username": name, "roles": ["ROLE_USER"]}
    doc["password"] = seed.password_hash(text(body, "password"))
    await ctx.db.put("auth_user", doc)
    return ok({"userId": user_id, "username": name}, "SAVE USER SUCCESS")


async def _auth_users(ctx: Context, request: web.Request) -> Any:
    return ok([{k: v for k, v in u.items() if k != "password"} for u in await ctx.db.all("auth_user")])


def _public(user: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in user.items() if k not in ("password", "id")}


async def _users(ctx: Context, request: web.Request) -> Any:
    return ok([_public(u) for u in await ctx.db.all("user")])


async def _user_by_name(ctx: Context, request: web.Request) -> Any:
    name = request.match_info["userName"]
    found = next((u for u in await ctx.db.all("user") if u["userName"] == name), None)
    if found is None:
        raise Refused("No User")
    return ok(_public(found), "Find User Success")


async def _user_by_id(ctx: Context, request: web.Request) -> Any:
    found = await ctx.db.get("user", request.match_info["userId"])
    if found is None:
        raise Refused("No User")
    return ok(_public(found), "Find User Success")


async def _register(ctx: Context, request: web.Request) -> Any:
    body = await body_of(request)
    name, password = text(body, "userName"), text(body, "password")
    if any(u["userName"] == name for u in await ctx.db.all("user")):
        raise Refused("User Has Already Exists")
    user_id = str(uuid.uuid4())
    doc = {
        "id": user_id,
        "userId": user_id,
        "userName": name,
        "password": seed.password_hash(password),
        "gender": int(body.get("gender") or 1),
        "documentType": int(body.get("documentType") or 1),
        "documentNum": str(body.get("documentNum") or ""),
        "email": str(body.get("email") or ""),
    }
    await ctx.db.put("user", doc)
    await ctx.call(
        "ts-auth-service", "POST", "/api/v1/auth", {"userId": user_id, "userName": name, "password": password}
    )
    return ok(_public(doc), "REGISTER USER SUCCESS")


async def _delete_user(ctx: Context, request: web.Request) -> Any:
    await ctx.db.delete("user", request.match_info["userId"])
    return ok(None, "DELETE SUCCESS")


_codes: dict[str, float] = {}


async def _generate(ctx: Context, request: web.Request) -> Any:
    now = time.monotonic()
    for code, made in list(_codes.items()):
        if now - made > CODE_LIFETIME_S:
            del _codes[code]
    code = "".join(random.choices("ABCDEFGHJKLMNPQRSTUVWXYZ23456789", k=4))
    _codes[code] = now
    return {"code": code}


async def _verify(ctx: Context, request: web.Request) -> Any:
    code = request.match_info["code"].upper()
    made = _codes.get(code)
    return made is not None and time.monotonic() - made <= CODE_LIFETIME_S


def program(spec: ServiceSpec) -> Program:
    if spec.short == "auth":
        return Program(
            routes=[
                Route("POST", "/api/v1/users/login", _login),
                Route("POST", "/api/v1/auth", _create_auth_user),
                Route("GET", "/api/v1/users", _auth_users),
            ],
            tables={"auth_user": seed.rows_for("auth_user")},
        )
    if spec.short == "user":
        base = "/api/v1/userservice/users"
        return Program(
            routes=[
                Route("GET", base, _users),
                Route("POST", base + "/register", _register),
                Route("GET", base + "/id/{userId}", _user_by_id),
                Route("GET", base + "/{userName}", _user_by_name),
                Route("DELETE", base + "/{userId}", _delete_user),
            ],
            tables={"user": seed.rows_for("user")},
        )
    return Program(
        routes=[
            Route("GET", "/api/v1/verifycode/generate", _generate),
            Route("GET", "/api/v1/verifycode/verify/{code}", _verify),
        ]
    )
