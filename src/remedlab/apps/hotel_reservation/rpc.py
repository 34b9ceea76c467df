"""What Hotel Reservation's services share beyond the kit: reading other services' answers, readiness
on the service's own tables, filling a cache.

Serving JSON methods, the failure answers and what a service holds come from
:mod:`remedlab.apps.kit.rpc`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from remedlab.apps.kit.cache import Cache
from remedlab.apps.kit.client import UpstreamError
from remedlab.apps.kit.database import Database
from remedlab.apps.kit.health import ReadyCheck

# --------------------------------------------------------------------------- upstream answers


def answer_list(reply: Any, key: str, service: str) -> list[Any]:
    """The list under ``key`` in another service's answer."""
    value = reply.get(key) if isinstance(reply, dict) else None
    if not isinstance(value, list):
        raise UpstreamError(service, reason=f"answer has no {key!r} list")
    return value


def answer_flag(reply: Any, key: str, service: str) -> bool:
    """The true-or-false under ``key`` in another service's answer."""
    value = reply.get(key) if isinstance(reply, dict) else None
    if not isinstance(value, bool):
        raise UpstreamError(service, reason=f"answer has no {key!r} flag")
    return value


def answer_ids(reply: Any, service: str, key: str = "hotelIds") -> list[str]:
    """The hotel ids in another service's answer."""
    ids = answer_list(reply, key, service)
    if not all(isinstance(item, str) for item in ids):
        raise UpstreamError(service, reason=f"{key!r} holds something other than hotel ids")
    return ids


class NoData(Exception):
    """A table the service serves from holds no rows: the app's data is not loaded (yet, or any more)."""


def tables_readable(database: Database, *tables: str) -> ReadyCheck:
    """A check that passes when the service's role can read each of ``tables``."""

    async def check() -> bool:
        for table in tables:
            await database.check(f"SELECT 1 FROM {table} LIMIT 1")
        return True

    return check


def tables_hold_data(database: Database, *tables: str) -> ReadyCheck:
    """A check that passes when the service's role can read each of ``tables`` and each holds rows (the
    app's data, loaded at install); :class:`NoData` names an empty one."""

    async def check() -> bool:
        for table in tables:
            if not await database.fetchval(f"SELECT EXISTS (SELECT 1 FROM {table})", table=table):
                raise NoData(f"table {table} in database {database.name} holds no rows")
        return True

    return check


async def cache_all(cache: Cache, values: Mapping[str, Any]) -> None:
    """Store every key of ``values`` in ``cache``, concurrently."""
    await asyncio.gather(*(cache.set(key, value) for key, value in values.items()))
