"""The bearer tokens ts-auth-service issues and the other services check, as the original's JWTs
(HS256 with the shared secret ``secret``): ``<payload>.<signature>``, both base64url."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from dataclasses import dataclass

from aiohttp import web

from remedlab.apps.train_ticket.service_base import Refused

SECRET = b"secret"
LIFETIME_S = 3600


@dataclass(frozen=True, slots=True)
class Claims:
    user_id: str
    username: str
    roles: tuple[str, ...]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def issue(user_id: str, username: str, roles: list[str], now: float | None = None, lifetime: float = LIFETIME_S) -> str:
    issued = time.time() if now is None else now
    payload = {"id": user_id, "sub": username, "roles": roles, "exp": int(issued + lifetime)}
    body = _b64(json.dumps(payload, separators=(",", ":")).encode())
    return body + "." + _b64(hmac.new(SECRET, body.encode(), hashlib.sha256).digest())


def verify(token: str, now: float | None = None) -> Claims:
    body, _, signature = token.partition(".")
    expected = _b64(hmac.new(SECRET, body.encode(), hashlib.sha256).digest())
    if not signature or not hmac.compare_digest(signature, expected):
        raise Refused("Token is invalid")
    try:
        payload = json.loads(_unb64(body))
    except ValueError:
        raise Refused("Token is invalid") from None
    if int(payload.get("exp", 0)) < (time.time() if now is None else now):
        raise Refused("Token expired")
    return Claims(str(payload["id"]), str(payload["sub"]), tuple(payload.get("roles") or ()))


def claims_of(request: web.Request) -> Claims:
    """The caller's claims from ``Authorization: Bearer <token>``; a missing or bad token is refused."""
    header = request.headers.get("Authorization", "")
    if not header.startswith("Bearer "):
        raise Refused("Unauthorized: no token")
    return verify(header.removeprefix("Bearer ").strip())
