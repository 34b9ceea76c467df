"""The frontend's calls to the shop's services, each failure told as what could not be done."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from remedlab.apps.kit.client import ServiceClient, UpstreamError
from remedlab.apps.online_boutique.forms import Checkout
from remedlab.apps.online_boutique.model import Ad, CartItem, OrderResult, Product, RecordError, cart_items
from remedlab.apps.online_boutique.money import Money, MoneyError
from remedlab.apps.online_boutique.rpc import CALL_TIMEOUT, call, env_address, peer_name

PLACE_ORDER_TIMEOUT = 2 * CALL_TIMEOUT
"""An order is a dozen calls in a row; it gets longer than one call."""
T = TypeVar("T")


class BackendError(Exception):
    """A call the page needs failed: ``action`` says what could not be done, ``service`` who failed."""

    def __init__(self, action: str, service: str, reason: str, status: int | None = None) -> None:
        super().__init__(f"{action}: {service}: {reason}")
        self.action = action
        self.service = service
        self.reason = reason
        self.status = status

    @property
    def not_found(self) -> bool:
        return self.status == 404


@dataclass(frozen=True)
class Addresses:
    """Where the services the frontend calls are (their ``*_ADDR`` variables)."""

    product_catalog: str
    currency: str
    cart: str
    recommendation: str
    shipping: str
    checkout: str
    ad: str

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Addresses:
        return cls(
            product_catalog=env_address("PRODUCT_CATALOG_SERVICE_ADDR", environ),
            currency=env_address("CURRENCY_SERVICE_ADDR", environ),
            cart=env_address("CART_SERVICE_ADDR", environ),
            recommendation=env_address("RECOMMENDATION_SERVICE_ADDR", environ),
            shipping=env_address("SHIPPING_SERVICE_ADDR", environ),
            checkout=env_address("CHECKOUT_SERVICE_ADDR", environ),
            ad=env_address("AD_SERVICE_ADDR", environ),
        )


class Backend:
    """Typed calls to the shop's services over one keep-alive client."""

    def __init__(self, client: ServiceClient, addresses: Addresses, recommendations_shown: int) -> None:
        self.client = client
        self.at = addresses
        self.recommendations_shown = recommendations_shown

    async def _call(
        self,
        action: str,
        address: str,
        service: str,
        method: str,
        body: Mapping[str, Any],
        timeout: float = CALL_TIMEOUT,
    ) -> dict[str, Any]:
        try:
            return await call(self.client, address, service, method, body, timeout=timeout)
        except UpstreamError as exc:
            raise BackendError(action, exc.service, exc.reason, exc.status) from exc

    async def currencies(self) -> list[str]:
        answer = await self._call(
            "could not retrieve currencies", self.at.currency, "CurrencyService", "GetSupportedCurrencies", {}
        )
        codes = answer.get("currency_codes", [])
        return [c for c in codes if isinstance(c, str)] if isinstance(codes, list) else []

    async def products(self) -> list[Product]:
        action = "could not retrieve products"
        answer = await self._call(action, self.at.product_catalog, "ProductCatalogService", "ListProducts", {})
        return self._decode(action, self.at.product_catalog, lambda: _products(answer.get("products")))

    async def product(self, product_id: str) -> Product:
        action = f"could not retrieve product {product_id}"
        answer = await self._call(
            action, self.at.product_catalog, "ProductCatalogService", "GetProduct", {"id": product_id}
        )
        return self._decode(action, self.at.product_catalog, lambda: Product.from_json(answer))

    async def cart(self, user_id: str) -> list[CartItem]:
        action = "could not retrieve cart"
        answer = await self._call(action, self.at.cart, "CartService", "GetCart", {"user_id": user_id})
        return self._decode(action, self.at.cart, lambda: cart_items(answer))

    async def add_to_cart(self, user_id: str, product_id: str, quantity: int) -> None:
        body = {"user_id": user_id, "item": {"product_id": product_id, "quantity": quantity}}
        await self._call("failed to add to cart", self.at.cart, "CartService", "AddItem", body)

    async def empty_cart(self, user_id: str) -> None:
        await self._call("failed to empty cart", self.at.cart, "CartService", "EmptyCart", {"user_id": user_id})

    async def convert(self, amount: Money, currency: str) -> Money:
        """``amount`` in ``currency``; no call when it already is."""
        if amount.currency_code == currency:
            return amount
        action = f"failed to convert {amount.currency_code} to {currency}"
        body = {"from": amount.to_json(), "to_code": currency}
        answer = await self._call(action, self.at.currency, "CurrencyService", "Convert", body)
        return self._decode(action, self.at.currency, lambda: Money.from_json(answer))

    async def recommendations(self, user_id: str, product_ids: Sequence[str]) -> list[Product]:
        """The products recommended next to ``product_ids`` (as many as a page shows)."""
        action = "failed to get product recommendations"
        body = {"user_id": user_id, "product_ids": list(product_ids)}
        answer = await self._call(action, self.at.recommendation, "RecommendationService", "ListRecommendations", body)
        ids = answer.get("product_ids", [])
        if not isinstance(ids, list):
            raise BackendError(action, peer_name(self.at.recommendation), "product_ids is not a list")
        products = await asyncio.gather(*(self.product(pid) for pid in ids if isinstance(pid, str)))
        return list(products[: self.recommendations_shown])

    async def shipping_quote(self, items: Sequence[CartItem], currency: str) -> Money:
        action = "failed to get shipping quote"
        body = {"address": None, "items": [item.to_json() for item in items]}
        answer = await self._call(action, self.at.shipping, "ShippingService", "GetQuote", body)
        quote = self._decode(action, self.at.shipping, lambda: Money.from_json(answer.get("cost_usd")))
        return await self.convert(quote, currency)

    async def place_order(self, user_id: str, currency: str, order: Checkout) -> OrderResult:
        action = "failed to complete the order"
        body = {
            "user_id": user_id,
            "user_currency": currency,
            "address": order.address.to_json(),
            "email": order.email,
            "credit_card": order.credit_card(),
        }
        answer = await self._call(
            action, self.at.checkout, "CheckoutService", "PlaceOrder", body, timeout=PLACE_ORDER_TIMEOUT
        )
        return self._decode(action, self.at.checkout, lambda: OrderResult.from_json(answer.get("order")))

    async def ad(self, context_keys: Sequence[str]) -> Ad | None:
        """One of the ads the ad service offers for ``context_keys``, None when it has none."""
        action = "failed to retrieve ads"
        answer = await self._call(action, self.at.ad, "AdService", "GetAds", {"context_keys": list(context_keys)})
        ads = self._decode(action, self.at.ad, lambda: [Ad.from_json(a) for a in answer.get("ads") or []])
        return random.choice(ads) if ads else None

    @staticmethod
    def _decode(action: str, address: str, decode: Callable[[], T]) -> T:
        try:
            return decode()
        except (RecordError, MoneyError, TypeError) as exc:
            raise BackendError(action, peer_name(address), f"malformed answer: {exc}") from exc


def _products(value: Any) -> list[Product]:
    if not isinstance(value, list):
        raise RecordError("products is not a list")
    return [Product.from_json(p) for p in value]
