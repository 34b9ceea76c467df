"""Redis for services: the redis-py asyncio client, one CLIENT span per command.

Configured as ``REDIS_ADDR=redis-cart:6379`` (a Service or IP, and a port;
Online Boutique's cart service reads the same variable). A failure raises
:class:`StoreError`.
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Mapping, Sequence
from typing import Any

import redis.asyncio as aioredis
import redis.exceptions
from aiohttp import web

from remedlab.apps.kit.store_calls import StoreAddress, StoreError, store_call

SYSTEM = "redis"


class RedisStore:
    """A Redis server reached through its Service; :meth:`command` runs any command."""

    def __init__(self, address: str, *, timeout: float = 1.0, password: str | None = None) -> None:
        self.address = StoreAddress.parse(address)
        self.timeout = timeout
        self._password = password or None
        self._client: aioredis.Redis | None = None

    @classmethod
    def from_env(cls, variable: str = "REDIS_ADDR", environ: Mapping[str, str] | None = None) -> RedisStore:
        env = os.environ if environ is None else environ
        address = env.get(variable, "").strip()
        if not address:
            raise StoreError("redis", f"not configured: set {variable}")
        return cls(address, password=env.get("REDIS_PASSWORD"))

    def _get_client(self) -> aioredis.Redis:
        if self._client is None:
            host, port = self.address.resolve()
            self._client = aioredis.Redis(
                host=host,
                port=port,
                password=self._password,
                socket_timeout=self.timeout,
                socket_connect_timeout=self.timeout,
                decode_responses=True,
            )
        return self._client

    async def command(self, name: str, *args: Any, target: str = "") -> Any:
        """Run ``name args...`` (e.g. ``HGETALL cart:alice``); the span carries the command and key."""
        statement = " ".join([name.upper(), *(str(a) for a in args[:1])])
        async with store_call(self.address, SYSTEM, name.upper(), target=target, statement=statement):
            return await self._run(self._get_client().execute_command(name, *args))  # type: ignore[no-untyped-call]

    async def pipeline(self, commands: Sequence[Sequence[Any]], *, target: str = "") -> list[Any]:
        """Run ``commands`` (each ``[name, *args]``) in one round trip, without a transaction, as one span
        named after the first command; their replies in order."""
        if not commands:
            return []
        names = sorted({str(command[0]).upper() for command in commands})
        first = commands[0]
        statement = " ".join([str(first[0]).upper(), *(str(a) for a in first[1:2])])
        attributes = {"db.operation.batch.size": len(commands)}
        operation = names[0] if len(names) == 1 else "PIPELINE"
        async with store_call(
            self.address, SYSTEM, operation, target=target, statement=statement, attributes=attributes
        ):
            pipe = self._get_client().pipeline(transaction=False)
            for command in commands:
                pipe.execute_command(*command)
            replies: list[Any] = await self._run(pipe.execute())
            return replies

    async def _run(self, awaitable: Awaitable[Any]) -> Any:
        try:
            return await awaitable
        except redis.exceptions.TimeoutError as exc:
            raise StoreError(self.address.name, f"no answer within {self.timeout:g}s", kind="timeout") from exc
        except redis.exceptions.AuthenticationError as exc:
            raise StoreError(self.address.name, str(exc), kind="denied") from exc
        except (redis.exceptions.ConnectionError, OSError) as exc:
            raise StoreError(self.address.name, f"cannot reach redis: {exc}", kind="connect_error") from exc
        except redis.exceptions.RedisError as exc:
            raise StoreError(self.address.name, str(exc)) from exc

    async def check(self) -> bool:
        """True when the server answers PING."""
        return bool(await self.command("PING"))

    async def close(self) -> None:
        if self._client is not None:
            client, self._client = self._client, None
            await client.aclose()


REDIS = web.AppKey("redis", RedisStore)


def use_redis(app: web.Application, redis: RedisStore | None = None) -> RedisStore:
    """The service's Redis (by default the one ``REDIS_ADDR`` names) as ``app[REDIS]``, closed when the app
    stops. (Here rather than in :mod:`.rpc`, so that services without Redis do not load its client.)"""
    redis = redis or RedisStore.from_env()
    app[REDIS] = redis

    async def close(_: web.Application) -> None:
        await redis.close()

    app.on_cleanup.append(close)
    return redis
