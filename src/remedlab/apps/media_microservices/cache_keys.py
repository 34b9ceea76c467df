"""memcached keys made from the services' own values (titles, usernames): text keys are quoted so
that they hold no spaces or control characters; a key longer than memcached's 250 bytes is not
cached (its lookups go to the database every time)."""

from __future__ import annotations

from urllib.parse import quote

MAX_KEY_BYTES = 250


def cache_key(value: str, suffix: str) -> str | None:
    key = f"{quote(value, safe='')}:{suffix}"
    return key if len(key.encode()) <= MAX_KEY_BYTES else None
