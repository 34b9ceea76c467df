"""checkoutservice: places an order: cart, prices, shipping, payment, shipment, confirmation (port 5050)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from remedlab.apps.kit.client import ServiceClient, UpstreamError
from remedlab.apps.kit.rpc import CLIENT, BadRequest, RpcError, serve, service_app, use_client
from remedlab.apps.kit.structured_log import get_logger
from remedlab.apps.online_boutique.model import (
    Address,
    CartItem,
    OrderItem,
    OrderResult,
    Product,
    RecordError,
    cart_items,
)
from remedlab.apps.online_boutique.money import Money, MoneyError, total
from remedlab.apps.online_boutique.rpc import Body, call, env_address, field_object, field_str, listen_port, methods

SERVICE = "checkoutservice"
PORT = 5050

log = get_logger(SERVICE)


@dataclass(frozen=True)
class Peers:
    """Where the services an order goes through are (their ``*_ADDR`` variables)."""

    product_catalog: str
    shipping: str
    payment: str
    email: str
    currency: str
    cart: str

    @classmethod
    def from_env(cls) -> Peers:
        return cls(
            product_catalog=env_address("PRODUCT_CATALOG_SERVICE_ADDR"),
            shipping=env_address("SHIPPING_SERVICE_ADDR"),
            payment=env_address("PAYMENT_SERVICE_ADDR"),
            email=env_address("EMAIL_SERVICE_ADDR"),
            currency=env_address("CURRENCY_SERVICE_ADDR"),
            cart=env_address("CART_SERVICE_ADDR"),
        )


PEERS = web.AppKey("peers", Peers)


class OrderFlow:
    """The calls of one order, in the order the shop makes them."""

    def __init__(self, client: ServiceClient, peers: Peers, user_id: str, currency: str) -> None:
        self.client = client
        self.peers = peers
        self.user_id = user_id
        self.currency = currency

    async def convert(self, amount: Money) -> Money:
        answer = await call(
            self.client,
            self.peers.currency,
            "CurrencyService",
            "Convert",
            {"from": amount.to_json(), "to_code": self.currency},
        )
        return Money.from_json(answer)

    async def cart(self) -> list[CartItem]:
        answer = await call(self.client, self.peers.cart, "CartService", "GetCart", {"user_id": self.user_id})
        return cart_items(answer)

    async def priced_item(self, item: CartItem) -> OrderItem:
        answer = await call(
            self.client, self.peers.product_catalog, "ProductCatalogService", "GetProduct", {"id": item.product_id}
        )
        return OrderItem(item, await self.convert(Product.from_json(answer).price_usd))

    async def shipping_cost(self, address: Address, items: list[CartItem]) -> Money:
        body = {"address": address.to_json(), "items": [i.to_json() for i in items]}
        answer = await call(self.client, self.peers.shipping, "ShippingService", "GetQuote", body)
        return await self.convert(Money.from_json(answer.get("cost_usd")))

    async def charge(self, amount: Money, card: Mapping[str, Any]) -> str:
        body = {"amount": amount.to_json(), "credit_card": dict(card)}
        answer = await call(self.client, self.peers.payment, "PaymentService", "Charge", body)
        return str(answer.get("transaction_id", ""))

    async def ship(self, address: Address, items: list[CartItem]) -> str:
        body = {"address": address.to_json(), "items": [i.to_json() for i in items]}
        answer = await call(self.client, self.peers.shipping, "ShippingService", "ShipOrder", body)
        return str(answer.get("tracking_id", ""))

    async def empty_cart(self) -> None:
        await call(self.client, self.peers.cart, "CartService", "EmptyCart", {"user_id": self.user_id})

    async def confirm(self, email: str, order: OrderResult) -> None:
        body = {"email": email, "order": order.to_json()}
        await call(self.client, self.peers.email, "EmailService", "SendOrderConfirmation", body)


def _failure(step: str, exc: Exception) -> RpcError:
    if isinstance(exc, UpstreamError):
        log.error(f"{step}: {exc.service} failed", upstream=exc.service, reason=exc.reason)
    else:
        log.error(f"{step}: bad answer", exc=exc)
    return RpcError(f"{step}: {exc}")


async def place_order(app: web.Application, body: Body) -> Mapping[str, Any]:
    user_id = field_str(body, "user_id")
    currency = field_str(body, "user_currency")
    email = field_str(body, "email")
    card = field_object(body, "credit_card")
    try:
        address = Address.from_json(field_object(body, "address"))
    except RecordError as exc:
        raise BadRequest(f"address: {exc}") from None
    log.info("[PlaceOrder]", user_id=user_id, user_currency=currency)
    flow = OrderFlow(app[CLIENT], app[PEERS], user_id, currency)
    order_id = str(uuid.uuid4())

    try:
        items = await flow.cart()
        priced = await asyncio.gather(*(flow.priced_item(item) for item in items))
        shipping = await flow.shipping_cost(address, items)
        amount = shipping + total((line.cost.times(line.item.quantity) for line in priced), currency)
    except (UpstreamError, RecordError, MoneyError) as exc:
        raise _failure("failed to prepare order", exc) from None

    try:
        transaction_id = await flow.charge(amount, card)
    except UpstreamError as exc:
        raise _failure("failed to charge card", exc) from None
    log.info("payment went through", transaction_id=transaction_id, order_id=order_id)

    try:
        tracking_id = await flow.ship(address, items)
    except UpstreamError as exc:
        raise _failure("shipping error", exc) from None

    try:
        await flow.empty_cart()
    except UpstreamError as exc:
        log.warning("failed to empty the cart", upstream=exc.service, reason=exc.reason, user_id=user_id)

    order = OrderResult(order_id, tracking_id, shipping, address, tuple(priced))
    try:
        await flow.confirm(email, order)
    except UpstreamError as exc:
        log.warning(f"failed to send order confirmation to {email}", upstream=exc.service, reason=exc.reason)
    else:
        log.info(f"order confirmation email sent to {email}", order_id=order_id)
    return {"order": order.to_json()}


def create_app(peers: Peers | None = None) -> web.Application:
    app = service_app(log, methods({("CheckoutService", "PlaceOrder"): place_order}))
    app[PEERS] = peers or Peers.from_env()
    use_client(app, log)
    return app


def main() -> None:
    serve(SERVICE, listen_port(PORT), create_app)


if __name__ == "__main__":
    main()
