"""cartservice: shopping carts in Redis, one hash per user (product id -> quantity) (port 7070)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Awaitable, Mapping
from typing import Any, TypeVar

from aiohttp import web

from remedlab.apps.kit.health import latched
from remedlab.apps.kit.redis_store import RedisStore
from remedlab.apps.kit.rpc import BadRequest, ConfigError, RpcError, serve, service_app
from remedlab.apps.kit.store_calls import StoreError
from remedlab.apps.kit.structured_log import get_logger
from remedlab.apps.online_boutique.rpc import Body, field_int, field_object, field_str, listen_port, methods

SERVICE = "cartservice"
PORT = 7070
RPC_SERVICE = "CartService"
REDIS_TIMEOUT = 5.0
"""Seconds a Redis command may take before the cart gives up on it."""

STORE = web.AppKey("store", RedisStore)
log = get_logger(SERVICE)
T = TypeVar("T")


def cart_answer(user_id: str, fields: Mapping[str, str]) -> dict[str, Any]:
    """A ``GetCart`` answer from the user's hash (quantities are kept as decimal strings)."""
    items = [{"product_id": pid, "quantity": int(quantity)} for pid, quantity in sorted(fields.items())]
    return {"user_id": user_id, "items": items}


async def _storage(call: Awaitable[T], operation: str, user_id: str) -> T:
    try:
        return await call
    except StoreError as exc:
        log.error(
            "can't access cart storage",
            upstream=exc.store,
            reason=exc.reason,
            kind=exc.kind,
            operation=operation,
            user_id=user_id,
        )
        raise RpcError(f"Can't access cart storage. {exc}") from None


async def add_item(app: web.Application, body: Body) -> Mapping[str, Any]:
    user_id = field_str(body, "user_id")
    item = field_object(body, "item")
    product_id = field_str(item, "product_id")
    quantity = field_int(item, "quantity")
    if quantity <= 0:
        raise BadRequest("quantity must be positive")
    log.info("AddItem", user_id=user_id, product_id=product_id, quantity=quantity)
    store = app[STORE]
    await _storage(store.command("HINCRBY", user_id, product_id, quantity), "AddItem", user_id)
    return {}


async def get_cart(app: web.Application, body: Body) -> Mapping[str, Any]:
    user_id = field_str(body, "user_id")
    fields = await _storage(app[STORE].command("HGETALL", user_id), "GetCart", user_id)
    return cart_answer(user_id, fields or {})


async def empty_cart(app: web.Application, body: Body) -> Mapping[str, Any]:
    user_id = field_str(body, "user_id")
    log.info("EmptyCart", user_id=user_id)
    await _storage(app[STORE].command("DEL", user_id), "EmptyCart", user_id)
    return {}


def redis_from_env(environ: Mapping[str, str] | None = None) -> RedisStore:
    """The cart store named by ``REDIS_ADDR`` (``redis-cart:6379``), with a generous command timeout."""
    env = os.environ if environ is None else environ
    address = env.get("REDIS_ADDR", "").strip()
    if not address:
        raise ConfigError("REDIS_ADDR is not set: it names the cart's Redis (host:port)")
    return RedisStore(address, timeout=REDIS_TIMEOUT, password=env.get("REDIS_PASSWORD"))


def create_app(store: RedisStore | None = None) -> web.Application:
    redis = store or redis_from_env()

    async def ready() -> bool:
        return await redis.check()

    app = service_app(
        log,
        methods(
            {
                (RPC_SERVICE, "AddItem"): add_item,
                (RPC_SERVICE, "GetCart"): get_cart,
                (RPC_SERVICE, "EmptyCart"): empty_cart,
            }
        ),
        ready_check=latched(ready),
    )
    app[STORE] = redis

    async def close_store(app: web.Application) -> AsyncIterator[None]:
        yield
        await redis.close()

    app.cleanup_ctx.append(close_store)
    return app


def main() -> None:
    serve(SERVICE, listen_port(PORT), create_app)


if __name__ == "__main__":
    main()
