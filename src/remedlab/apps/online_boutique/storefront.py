"""The frontend's settings from its data file: currencies shown, cookies, form defaults."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from remedlab.apps.online_boutique.data_files import load_json
from remedlab.apps.online_boutique.money import Money, format_money

SETTINGS_FILE = "storefront.json"
SESSION_COOKIE = "shop_session-id"
CURRENCY_COOKIE = "shop_currency"


@dataclass(frozen=True)
class Storefront:
    default_currency: str
    shown_currencies: tuple[str, ...]
    currency_symbols: Mapping[str, str]
    cookie_max_age: int
    quantity_choices: tuple[int, ...]
    max_quantity: int
    recommendations_shown: int
    expiration_years_shown: int
    checkout_defaults: Mapping[str, str]

    @classmethod
    def from_json(cls, data: Any) -> Storefront:
        return cls(
            default_currency=str(data["default_currency"]),
            shown_currencies=tuple(str(c) for c in data["shown_currencies"]),
            currency_symbols={str(k): str(v) for k, v in data["currency_symbols"].items()},
            cookie_max_age=int(data["cookie_max_age_seconds"]),
            quantity_choices=tuple(int(q) for q in data["quantity_choices"]),
            max_quantity=int(data["max_quantity"]),
            recommendations_shown=int(data["recommendations_shown"]),
            expiration_years_shown=int(data["expiration_years_shown"]),
            checkout_defaults={str(k): str(v) for k, v in data["checkout_defaults"].items()},
        )

    def shown(self, supported: list[str]) -> list[str]:
        """The supported currencies the shop offers, in the currency service's order."""
        offered = set(self.shown_currencies)
        return [code for code in supported if code in offered]

    def price(self, amount: Money) -> str:
        """An amount as the pages show it: ``$19.99``, ``¥2217.00``, ``BGN 3.12``."""
        return format_money(amount, self.currency_symbols.get(amount.currency_code))


@cache
def storefront() -> Storefront:
    """The settings shipped with the shop."""
    return Storefront.from_json(load_json(SETTINGS_FILE))
