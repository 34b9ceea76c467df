"""A service's tables on tsdb-mysql: one JSON document per row, keyed by its ``id``.

Settings come from the service's Secret, as the original's Spring datasources:
``<PREFIX>_MYSQL_HOST``, ``_PORT``, ``_DATABASE``, ``_USER``, ``_PASSWORD``.
Every statement runs under a CLIENT span (``db.system`` mysql) and failures
raise :class:`StoreError`, so they show in the request's answer, logs, metrics
and trace.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Mapping
from typing import Any

import aiomysql

from remedlab.apps.kit.store_calls import StoreAddress, StoreError, store_call
from remedlab.apps.kit.structured_log import Logger

CONNECT_TIMEOUT_S = 3.0
QUERY_TIMEOUT_S = 10.0


class DocStore:
    def __init__(self, prefix: str, env: Mapping[str, str] | None = None) -> None:
        env = os.environ if env is None else env

        def setting(name: str, default: str | None = None) -> str:
            value = env.get(f"{prefix}_MYSQL_{name}", default)
            if value is None:
                raise StoreError("mysql", f"{prefix}_MYSQL_{name} is not set")
            return value

        self.address = StoreAddress.parse(f"{setting('HOST')}:{setting('PORT', '3306')}")
        self.database = setting("DATABASE", "ts")
        self.user = setting("USER", "root")
        self.password = setting("PASSWORD", "")
        self._pool: aiomysql.Pool | None = None

    async def _get_pool(self) -> aiomysql.Pool:
        if self._pool is None:
            host, port = self.address.resolve()
            self._pool = await asyncio.wait_for(
                aiomysql.create_pool(
                    host=host,
                    port=port,
                    user=self.user,
                    password=self.password,
                    db=self.database,
                    autocommit=True,
                    minsize=1,
                    maxsize=8,
                    connect_timeout=CONNECT_TIMEOUT_S,
                ),
                CONNECT_TIMEOUT_S * 2,
            )
        return self._pool

    async def execute(self, operation: str, table: str, sql: str, *args: Any) -> list[tuple[Any, ...]]:
        async with store_call(self.address, "mysql", operation, target=table, statement=sql):
            try:
                pool = await self._get_pool()
                async with pool.acquire() as conn, conn.cursor() as cur:
                    await asyncio.wait_for(cur.execute(sql, args or None), QUERY_TIMEOUT_S)
                    rows = await cur.fetchall()
            except StoreError:
                raise
            except TimeoutError as exc:
                raise StoreError(self.address.name, f"{operation} {table} timed out", kind="timeout") from exc
            except (OSError, aiomysql.Error) as exc:
                raise StoreError(self.address.name, f"{operation} {table}: {exc}", kind="error") from exc
            return list(rows or [])

    async def ensure(self, table: str, seed: list[dict[str, Any]]) -> None:
        """Create ``table`` when missing and fill it with ``seed`` when it is empty."""
        await self.execute(
            "CREATE", table, f"CREATE TABLE IF NOT EXISTS `{table}` (id VARCHAR(64) PRIMARY KEY, doc LONGTEXT NOT NULL)"
        )
        count = await self.execute("SELECT", table, f"SELECT COUNT(*) FROM `{table}`")
        if seed and int(count[0][0]) == 0:
            values = ", ".join(["(%s, %s)"] * len(seed))
            args: list[Any] = []
            for doc in seed:
                args += [str(doc["id"]), json.dumps(doc)]
            await self.execute("INSERT", table, f"INSERT IGNORE INTO `{table}` (id, doc) VALUES {values}", *args)

    async def all(self, table: str) -> list[dict[str, Any]]:
        rows = await self.execute("SELECT", table, f"SELECT doc FROM `{table}`")
        return [json.loads(r[0]) for r in rows]

    async def get(self, table: str, doc_id: str) -> dict[str, Any] | None:
        rows = await self.execute("SELECT", table, f"SELECT doc FROM `{table}` WHERE id = %s", doc_id)
        return json.loads(rows[0][0]) if rows else None

    async def put(self, table: str, doc: dict[str, Any]) -> dict[str, Any]:
        sql = f"REPLACE INTO `{table}` (id, doc) VALUES (%s, %s)"
        await self.execute("REPLACE", table, sql, str(doc["id"]), json.dumps(doc))
        return doc

    async def delete(self, table: str, doc_id: str) -> bool:
        await self.execute("DELETE", table, f"DELETE FROM `{table}` WHERE id = %s", doc_id)
        return True

    async def close(self) -> None:
        if self._pool is not None:
            self._pool.close()
            await self._pool.wait_closed()
            self._pool = None


async def wait_until_ready(
    store: DocStore, tables: Mapping[str, list[dict[str, Any]]], log: Logger, limit_s: float
) -> None:
    """Make and seed ``tables``, retrying while the database is not up yet; gives up after ``limit_s``."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limit_s
    while True:
        try:
            for table, seed in tables.items():
                await store.ensure(table, seed)
            return
        except StoreError as exc:
            if loop.time() > deadline:
                raise
            log.info(f"waiting for {store.address.name}: {exc.reason}")
            await store.close()
            await asyncio.sleep(0.5)
