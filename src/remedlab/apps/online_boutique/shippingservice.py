"""shippingservice: shipping quotes and (simulated) shipments with tracking ids (port 50051)."""

from __future__ import annotations

import random
import string
from collections.abc import Mapping
from typing import Any

from aiohttp import web

from remedlab.apps.kit.rpc import BadRequest, serve, service_app
from remedlab.apps.kit.structured_log import get_logger
from remedlab.apps.online_boutique.model import Address, RecordError, cart_items
from remedlab.apps.online_boutique.money import Money
from remedlab.apps.online_boutique.rpc import Body, listen_port, methods

SERVICE = "shippingservice"
PORT = 50051
RPC_SERVICE = "ShippingService"
FLAT_RATE = Money("USD", 8, 990_000_000)

log = get_logger(SERVICE)


def quote_for(item_count: int) -> Money:
    """The shipping cost in USD for ``item_count`` items: a flat rate, whatever the count."""
    if item_count < 0:
        raise ValueError("an item count cannot be negative")
    return FLAT_RATE


def tracking_id(address: Address, rng: random.Random | None = None) -> str:
    """A tracking id like ``YW-21837-16583242``, seeded by the length of the address."""
    draw = rng or random
    salt = len(f"{address.street_address}, {address.city}, {address.state}")
    letters = "".join(draw.choice(string.ascii_uppercase) for _ in range(2))
    first = "".join(draw.choice(string.digits) for _ in range(3))
    second = "".join(draw.choice(string.digits) for _ in range(7))
    return f"{letters}-{salt}{first}-{salt // 2}{second}"


def _order(body: Body) -> tuple[Address | None, int]:
    try:
        address = Address.from_json(body["address"]) if body.get("address") is not None else None
        count = sum(item.quantity for item in cart_items(body))
    except (RecordError, ValueError) as exc:
        raise BadRequest(str(exc)) from None
    return address, count


async def get_quote(app: web.Application, body: Body) -> Mapping[str, Any]:
    _, count = _order(body)
    cost = quote_for(count)
    log.info("[GetQuote] completed request", items=count)
    return {"cost_usd": cost.to_json()}


async def ship_order(app: web.Application, body: Body) -> Mapping[str, Any]:
    address, count = _order(body)
    if address is None:
        raise BadRequest("address is required")
    tracking = tracking_id(address)
    log.info("[ShipOrder] completed request", items=count, tracking_id=tracking)
    return {"tracking_id": tracking}


def create_app() -> web.Application:
    return service_app(log, methods({(RPC_SERVICE, "GetQuote"): get_quote, (RPC_SERVICE, "ShipOrder"): ship_order}))


def main() -> None:
    serve(SERVICE, listen_port(PORT), create_app)


if __name__ == "__main__":
    main()
