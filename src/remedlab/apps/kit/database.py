"""PostgreSQL for services: a small asyncpg pool, one CLIENT span per query, errors in one line.

Configured the way a service's manifest says where its database is::

    DATABASE_ADDR=postgres-geo:5432   the Service (or IP) and port
    DATABASE_NAME=geo                 the database
    DATABASE_USER / DATABASE_PASSWORD the service's own role, usually from a Secret
    DATABASE_SSLMODE=disable          TLS to the server, as libpq's sslmode: disable (the
                                      default: plain TCP, as the original's clients), allow,
                                      prefer, require, verify-ca or verify-full (the CA in
                                      PGSSLROOTCERT)

Connections open lazily: a service starts while its database is still coming
up, and its readiness check (:meth:`Database.check`) says when it can serve.
A failed query raises :class:`StoreError` whose ``kind`` tells a refused login
or a revoked grant (``denied``) from an unreachable server (``connect_error``),
a slow one (``timeout``) and any other error.
"""

from __future__ import annotations

import asyncio
import os
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import asyncpg

from remedlab.apps.kit.store_calls import StoreAddress, StoreError, store_call

SYSTEM = "postgresql"
SSL_MODES = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")
DEFAULT_SSL_MODE = "disable"
DENIED = (
    asyncpg.exceptions.InsufficientPrivilegeError,
    asyncpg.exceptions.InvalidPasswordError,
    asyncpg.exceptions.InvalidAuthorizationSpecificationError,
)
UNREACHABLE = (
    OSError,
    ConnectionError,
    asyncpg.exceptions.CannotConnectNowError,
    asyncpg.exceptions.ConnectionDoesNotExistError,
    asyncpg.exceptions.ConnectionFailureError,
)


def _operation(sql: str) -> str:
    words = sql.split(None, 1)
    return words[0].upper() if words else "QUERY"


def store_error(address: StoreAddress, exc: BaseException) -> StoreError:
    """The one-line :class:`StoreError` for an asyncpg (or socket) failure."""
    if isinstance(exc, StoreError):
        return exc
    if isinstance(exc, DENIED):
        return StoreError(address.name, str(exc).splitlines()[0], kind="denied")
    if isinstance(exc, TimeoutError | asyncio.TimeoutError):
        return StoreError(address.name, "no answer in time", kind="timeout")
    if isinstance(exc, (*UNREACHABLE, asyncpg.exceptions.InterfaceError)):
        detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return StoreError(address.name, f"cannot reach the database: {detail}", kind="connect_error")
    detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return StoreError(address.name, detail)


class Queries(ABC):
    """Queries on one connection source; each is a CLIENT span named ``<VERB> <table>``."""

    def __init__(self, db: Database) -> None:
        self._db = db

    @abstractmethod
    def _connection(self) -> AbstractAsyncContextManager[asyncpg.Connection]: ...

    async def _run(self, method: str, sql: str, args: tuple[Any, ...], table: str, timeout: float | None) -> Any:
        db = self._db
        async with store_call(
            db.address,
            SYSTEM,
            _operation(sql),
            target=table,
            statement=sql,
            attributes={"db.namespace": db.name, "db.user": db.user},
        ):
            try:
                async with self._connection() as conn:
                    return await getattr(conn, method)(sql, *args, timeout=timeout or db.query_timeout)
            except Exception as exc:
                raise store_error(db.address, exc) from exc

    async def fetch(self, sql: str, *args: Any, table: str = "", timeout: float | None = None) -> list[asyncpg.Record]:
        rows: list[asyncpg.Record] = await self._run("fetch", sql, args, table, timeout)
        return rows

    async def fetchrow(
        self, sql: str, *args: Any, table: str = "", timeout: float | None = None
    ) -> asyncpg.Record | None:
        row: asyncpg.Record | None = await self._run("fetchrow", sql, args, table, timeout)
        return row

    async def fetchval(self, sql: str, *args: Any, table: str = "", timeout: float | None = None) -> Any:
        return await self._run("fetchval", sql, args, table, timeout)

    async def execute(self, sql: str, *args: Any, table: str = "", timeout: float | None = None) -> str:
        status: str = await self._run("execute", sql, args, table, timeout)
        return status


class _TransactionQueries(Queries):
    def __init__(self, db: Database, conn: asyncpg.Connection) -> None:
        super().__init__(db)
        self._conn = conn

    @asynccontextmanager
    async def _connection(self) -> AsyncIterator[asyncpg.Connection]:
        yield self._conn


class Database(Queries):
    """A service's database: ``fetch``/``fetchrow``/``fetchval``/``execute`` and ``transaction()``."""

    def __init__(
        self,
        address: str,
        name: str,
        user: str,
        password: str,
        *,
        pool_size: int = 4,
        connect_timeout: float = 2.0,
        query_timeout: float = 2.0,
        ssl_mode: str = DEFAULT_SSL_MODE,
    ) -> None:
        super().__init__(self)
        self.address = StoreAddress.parse(address)
        self.name = name
        self.user = user
        self._password = password
        if ssl_mode not in SSL_MODES:
            modes = ", ".join(SSL_MODES)
            raise StoreError(self.address.name, f"sslmode {ssl_mode!r} is not one of {modes}", kind="error")
        self.ssl_mode = ssl_mode
        self.pool_size = pool_size
        self.connect_timeout = connect_timeout
        self.query_timeout = query_timeout
        self._pool: asyncpg.Pool | None = None
        self._pool_lock = asyncio.Lock()

    @classmethod
    def from_env(cls, prefix: str = "DATABASE", environ: Mapping[str, str] | None = None, **options: Any) -> Database:
        """The database ``<prefix>_ADDR``, ``_NAME``, ``_USER``, ``_PASSWORD`` and ``_SSLMODE`` describe."""
        env = os.environ if environ is None else environ
        missing = [f"{prefix}_{k}" for k in ("ADDR", "NAME", "USER") if not env.get(f"{prefix}_{k}", "").strip()]
        if missing:
            raise StoreError(prefix.lower(), f"not configured: set {', '.join(missing)}", kind="error")
        return cls(
            env[f"{prefix}_ADDR"],
            env[f"{prefix}_NAME"].strip(),
            env[f"{prefix}_USER"].strip(),
            env.get(f"{prefix}_PASSWORD", ""),
            **{"ssl_mode": env.get(f"{prefix}_SSLMODE", "").strip() or DEFAULT_SSL_MODE} | options,
        )

    async def _get_pool(self) -> asyncpg.Pool:
        async with self._pool_lock:
            if self._pool is None:
                host, port = self.address.resolve()
                self._pool = await asyncpg.create_pool(
                    host=host,
                    port=port,
                    user=self.user,
                    password=self._password,
                    database=self.name,
                    ssl=self.ssl_mode,
                    min_size=0,
                    max_size=self.pool_size,
                    timeout=self.connect_timeout,
                    max_inactive_connection_lifetime=60.0,
                )
            return self._pool

    @asynccontextmanager
    async def _connection(self) -> AsyncIterator[asyncpg.Connection]:
        pool = await self._get_pool()
        async with pool.acquire(timeout=self.connect_timeout + self.query_timeout) as conn:
            yield conn

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Queries]:
        """Queries inside one transaction, committed when the block ends without an exception."""
        try:
            async with self._connection() as conn, conn.transaction():
                yield _TransactionQueries(self, conn)
        except StoreError:
            raise
        except Exception as exc:
            raise store_error(self.address, exc) from exc

    async def check(self, sql: str = "SELECT 1") -> bool:
        """True when ``sql`` runs: the server answers, this role logs in and may read what ``sql`` reads."""
        await self.fetch(sql, timeout=self.query_timeout)
        return True

    async def close(self) -> None:
        if self._pool is not None:
            pool, self._pool = self._pool, None
            try:
                await asyncio.wait_for(pool.close(), 2.0)
            except (TimeoutError, OSError, asyncpg.exceptions.InterfaceError):
                pool.terminate()
