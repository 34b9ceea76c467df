"""The shop's records as they travel between services: products, cart items, addresses, orders."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from remedlab.apps.online_boutique.data_files import load_json
from remedlab.apps.online_boutique.money import Money

PRODUCTS_FILE = "products.json"


class RecordError(ValueError):
    """A record is missing a field or has one of the wrong type."""


def _str(data: Mapping[str, Any], name: str) -> str:
    value = data.get(name, "")
    if not isinstance(value, str):
        raise RecordError(f"{name} must be a string")
    return value


def _int(data: Mapping[str, Any], name: str) -> int:
    value = data.get(name, 0)
    if isinstance(value, bool) or not isinstance(value, int):
        raise RecordError(f"{name} must be an integer")
    return value


def _mapping(value: Any, what: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise RecordError(f"{what} must be an object")
    return value


@dataclass(frozen=True, slots=True)
class Product:
    id: str
    name: str
    description: str
    picture: str
    price_usd: Money
    categories: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "description": self.description,
            "picture": self.picture,
            "price_usd": self.price_usd.to_json(),
            "categories": list(self.categories),
        }

    @classmethod
    def from_json(cls, value: Any) -> Product:
        data = _mapping(value, "a product")
        categories = data.get("categories", [])
        if not isinstance(categories, list) or not all(isinstance(c, str) for c in categories):
            raise RecordError("categories must be a list of strings")
        return cls(
            id=_str(data, "id"),
            name=_str(data, "name"),
            description=_str(data, "description"),
            picture=_str(data, "picture"),
            price_usd=Money.from_json(data.get("price_usd")),
            categories=tuple(categories),
        )


def load_products() -> list[Product]:
    """The catalog shipped with the shop."""
    return [Product.from_json(p) for p in load_json(PRODUCTS_FILE)["products"]]


@dataclass(frozen=True, slots=True)
class CartItem:
    product_id: str
    quantity: int

    def to_json(self) -> dict[str, Any]:
        return {"product_id": self.product_id, "quantity": self.quantity}

    @classmethod
    def from_json(cls, value: Any) -> CartItem:
        data = _mapping(value, "a cart item")
        return cls(_str(data, "product_id"), _int(data, "quantity"))


def cart_items(value: Any) -> list[CartItem]:
    """The items of a ``GetCart`` answer (or of any object with an ``items`` list)."""
    items = _mapping(value, "a cart").get("items", [])
    if not isinstance(items, list):
        raise RecordError("items must be a list")
    return [CartItem.from_json(item) for item in items]


@dataclass(frozen=True, slots=True)
class Address:
    street_address: str
    city: str
    state: str
    country: str
    zip_code: str

    def to_json(self) -> dict[str, Any]:
        return {
            "street_address": self.street_address,
            "city": self.city,
            "state": self.state,
            "country": self.country,
            "zip_code": self.zip_code,
        }

    @classmethod
    def from_json(cls, value: Any) -> Address:
        data = _mapping(value, "an address")
        return cls(
            _str(data, "street_address"),
            _str(data, "city"),
            _str(data, "state"),
            _str(data, "country"),
            _str(data, "zip_code"),
        )


@dataclass(frozen=True, slots=True)
class OrderItem:
    item: CartItem
    cost: Money

    def to_json(self) -> dict[str, Any]:
        return {"item": self.item.to_json(), "cost": self.cost.to_json()}

    @classmethod
    def from_json(cls, value: Any) -> OrderItem:
        data = _mapping(value, "an order item")
        return cls(CartItem.from_json(data.get("item")), Money.from_json(data.get("cost")))


@dataclass(frozen=True, slots=True)
class OrderResult:
    order_id: str
    shipping_tracking_id: str
    shipping_cost: Money
    shipping_address: Address
    items: tuple[OrderItem, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "order_id": self.order_id,
            "shipping_tracking_id": self.shipping_tracking_id,
            "shipping_cost": self.shipping_cost.to_json(),
            "shipping_address": self.shipping_address.to_json(),
            "items": [item.to_json() for item in self.items],
        }

    @classmethod
    def from_json(cls, value: Any) -> OrderResult:
        data = _mapping(value, "an order")
        items = data.get("items", [])
        if not isinstance(items, list):
            raise RecordError("items must be a list")
        return cls(
            order_id=_str(data, "order_id"),
            shipping_tracking_id=_str(data, "shipping_tracking_id"),
            shipping_cost=Money.from_json(data.get("shipping_cost")),
            shipping_address=Address.from_json(data.get("shipping_address")),
            items=tuple(OrderItem.from_json(item) for item in items),
        )

    def total_paid(self) -> Money:
        """Shipping plus every item's cost times its quantity."""
        paid = self.shipping_cost
        for line in self.items:
            paid = paid + line.cost.times(line.item.quantity)
        return paid


@dataclass(frozen=True, slots=True)
class Ad:
    redirect_url: str
    text: str

    def to_json(self) -> dict[str, str]:
        return {"redirect_url": self.redirect_url, "text": self.text}

    @classmethod
    def from_json(cls, value: Any) -> Ad:
        data = _mapping(value, "an ad")
        return cls(_str(data, "redirect_url"), _str(data, "text"))
