"""The frontend's HTML forms, checked: add to cart, set currency, check out."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from remedlab.apps.online_boutique.model import Address

CURRENCY_CODE = re.compile(r"^[A-Z]{3}$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")
MAX_FIELD = 256
CHECKOUT_FIELDS = (
    "email",
    "street_address",
    "zip_code",
    "city",
    "state",
    "country",
    "credit_card_number",
    "credit_card_expiration_month",
    "credit_card_expiration_year",
    "credit_card_cvv",
)


class FormError(ValueError):
    """A form field is missing or malformed; the message names it."""


def _text(form: Mapping[str, str], name: str) -> str:
    value = form.get(name, "").strip()
    if not value:
        raise FormError(f"{name} is required")
    if len(value) > MAX_FIELD:
        raise FormError(f"{name} is too long")
    return value


def _number(form: Mapping[str, str], name: str, low: int, high: int) -> int:
    text = _text(form, name)
    if not text.isdigit():
        raise FormError(f"{name} must be a whole number")
    value = int(text)
    if not low <= value <= high:
        raise FormError(f"{name} must be between {low} and {high}")
    return value


@dataclass(frozen=True, slots=True)
class AddToCart:
    product_id: str
    quantity: int


def parse_add_to_cart(form: Mapping[str, str], max_quantity: int) -> AddToCart:
    """``product_id`` and ``quantity`` (1 to ``max_quantity``) of the add-to-cart form."""
    return AddToCart(_text(form, "product_id"), _number(form, "quantity", 1, max_quantity))


def parse_currency(form: Mapping[str, str]) -> str:
    """The ISO 4217 code of the set-currency form."""
    code = _text(form, "currency_code")
    if not CURRENCY_CODE.match(code):
        raise FormError(f"currency_code {code!r} is not a currency code")
    return code


@dataclass(frozen=True, slots=True)
class Checkout:
    email: str
    address: Address
    card_number: str
    card_expiration_month: int
    card_expiration_year: int
    card_cvv: int

    def credit_card(self) -> dict[str, Any]:
        return {
            "credit_card_number": self.card_number,
            "credit_card_cvv": self.card_cvv,
            "credit_card_expiration_year": self.card_expiration_year,
            "credit_card_expiration_month": self.card_expiration_month,
        }


def parse_checkout(form: Mapping[str, str]) -> Checkout:
    """The order form: email, shipping address and card (checked by the payment service later)."""
    email = _text(form, "email")
    if not EMAIL.match(email):
        raise FormError(f"email {email!r} is not an email address")
    address = Address(
        street_address=_text(form, "street_address"),
        city=_text(form, "city"),
        state=_text(form, "state"),
        country=_text(form, "country"),
        zip_code=_text(form, "zip_code"),
    )
    return Checkout(
        email=email,
        address=address,
        card_number=_text(form, "credit_card_number"),
        card_expiration_month=_number(form, "credit_card_expiration_month", 1, 12),
        card_expiration_year=_number(form, "credit_card_expiration_year", 1970, 9999),
        card_cvv=_number(form, "credit_card_cvv", 0, 9999),
    )
