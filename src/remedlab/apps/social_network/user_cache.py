"""The keys user-memcached holds, as the user and user-mention services write them:
``<username>:user_id`` (the user's id) and ``<username>:login`` (what a login checks).

memcached keys are at most 250 bytes without spaces or control characters; a username that
cannot make one is not cached (its lookups go to the database every time).
"""

from __future__ import annotations

MAX_KEY_BYTES = 250


def _key(username: str, suffix: str) -> str | None:
    key = f"{username}:{suffix}"
    if len(key.encode()) > MAX_KEY_BYTES or any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in key):
        return None
    return key


def user_id_key(username: str) -> str | None:
    return _key(username, "user_id")


def login_key(username: str) -> str | None:
    return _key(username, "login")
