"""memcached for services: get/set/get_many/add/incr with a timeout, one CLIENT span per command.

Configured as ``MEMCACHED_ADDR=memcached-rate:11211`` (a Service or IP, and a
port). Keys are text, values are JSON. A failure raises :class:`StoreError`:
the caller decides whether a cache that does not answer fails the request.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Awaitable, Iterable, Mapping
from typing import Any, TypeVar

import aiomcache

from remedlab.apps.kit.store_calls import StoreAddress, StoreError, store_call

SYSTEM = "memcached"
T = TypeVar("T")


class Cache:
    """A memcached server reached through its Service."""

    def __init__(self, address: str, *, timeout: float = 1.0, pool_size: int = 4) -> None:
        self.address = StoreAddress.parse(address)
        self.timeout = timeout
        self.pool_size = pool_size
        self._client: aiomcache.Client | None = None

    @classmethod
    def from_env(cls, variable: str = "MEMCACHED_ADDR", environ: Mapping[str, str] | None = None) -> Cache:
        env = os.environ if environ is None else environ
        address = env.get(variable, "").strip()
        if not address:
            raise StoreError("memcached", f"not configured: set {variable}")
        return cls(address)

    def _get_client(self) -> aiomcache.Client:
        if self._client is None:
            host, port = self.address.resolve()
            self._client = aiomcache.Client(host, port, pool_size=self.pool_size)
        return self._client

    async def _run(self, awaitable: Awaitable[T]) -> T:
        try:
            return await asyncio.wait_for(awaitable, self.timeout)
        except StoreError:
            raise
        except TimeoutError as exc:
            raise StoreError(self.address.name, f"no answer within {self.timeout:g}s", kind="timeout") from exc
        except (OSError, ConnectionError) as exc:
            raise StoreError(self.address.name, f"cannot reach memcached: {exc}", kind="connect_error") from exc
        except Exception as exc:
            raise StoreError(self.address.name, f"{type(exc).__name__}: {exc}") from exc

    async def get(self, key: str) -> Any | None:
        """The decoded value under ``key``, or None on a miss."""
        async with store_call(self.address, SYSTEM, "get", attributes={"db.memcached.key": key}) as call:
            raw = await self._run(self._get_client().get(key.encode()))
            call.set_attribute("db.memcached.hit", raw is not None)
        return None if raw is None else json.loads(raw)

    async def get_many(self, keys: Iterable[str]) -> dict[str, Any]:
        """The values found among ``keys`` (misses are absent)."""
        wanted = list(keys)
        if not wanted:
            return {}
        async with store_call(self.address, SYSTEM, "get", attributes={"db.memcached.keys": len(wanted)}) as call:
            raws = await self._run(self._get_client().multi_get(*(k.encode() for k in wanted)))
            found = {k: json.loads(v) for k, v in zip(wanted, raws, strict=True) if v is not None}
            call.set_attribute("db.memcached.hits", len(found))
        return found

    async def set(self, key: str, value: Any, *, ttl: int = 0) -> None:
        async with store_call(self.address, SYSTEM, "set", attributes={"db.memcached.key": key}):
            await self._run(self._get_client().set(key.encode(), json.dumps(value).encode(), exptime=ttl))

    async def add(self, key: str, value: Any, *, ttl: int = 0) -> bool:
        """Store ``value`` under ``key`` unless the key holds one already; whether it was stored."""
        async with store_call(self.address, SYSTEM, "add", attributes={"db.memcached.key": key}):
            stored: bool = await self._run(
                self._get_client().add(key.encode(), json.dumps(value).encode(), exptime=ttl)
            )
        return stored

    async def incr(self, key: str, by: int = 1) -> int | None:
        """Add ``by`` to the number under ``key``; the new number, or None when the key holds none."""
        async with store_call(self.address, SYSTEM, "incr", attributes={"db.memcached.key": key}):
            value: int | None = await self._run(self._incr(key.encode(), by))
        return value

    async def _incr(self, key: bytes, by: int) -> int | None:
        try:
            value: int | None = await self._get_client().incr(key, by)
        except aiomcache.ClientException as exc:
            if "NOT_FOUND" in str(exc):  # no number under the key
                return None
            raise
        return value

    async def delete(self, key: str) -> None:
        async with store_call(self.address, SYSTEM, "delete", attributes={"db.memcached.key": key}):
            await self._run(self._get_client().delete(key.encode()))

    async def check(self) -> bool:
        """True when the server answers a ``version`` command."""
        async with store_call(self.address, SYSTEM, "version"):
            await self._run(self._get_client().version())
        return True

    async def close(self) -> None:
        if self._client is not None:
            client, self._client = self._client, None
            await client.close()
