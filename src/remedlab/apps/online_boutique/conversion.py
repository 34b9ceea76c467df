"""Currency conversion through the base currency (EUR), from a table of exchange rates."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, localcontext
from typing import Any

from remedlab.apps.online_boutique.data_files import load_json
from remedlab.apps.online_boutique.money import Money

RATES_FILE = "currency_conversion.json"
PRECISION = 50


class UnsupportedCurrencyError(ValueError):
    """A currency the rate table does not know."""

    def __init__(self, code: str) -> None:
        super().__init__(f"unsupported currency: {code!r}")
        self.code = code


@dataclass(frozen=True)
class RateTable:
    """How many units of each currency one unit of ``base`` buys."""

    base: str
    rates: Mapping[str, Decimal]

    @classmethod
    def from_json(cls, data: Any) -> RateTable:
        rates = {str(code): Decimal(str(rate)) for code, rate in data["rates"].items()}
        base = str(data["base"])
        if rates.get(base) != 1:
            raise ValueError(f"the base currency {base} must have the rate 1")
        if any(rate <= 0 for rate in rates.values()):
            raise ValueError("every rate must be positive")
        return cls(base, rates)

    @property
    def codes(self) -> list[str]:
        return list(self.rates)

    def rate(self, code: str) -> Decimal:
        try:
            return self.rates[code]
        except KeyError:
            raise UnsupportedCurrencyError(code) from None

    def convert(self, amount: Money, to_code: str) -> Money:
        """``amount`` in ``to_code``, truncated to whole nanos."""
        from_rate, to_rate = self.rate(amount.currency_code), self.rate(to_code)
        with localcontext() as ctx:
            ctx.prec = PRECISION
            converted = amount.as_decimal() / from_rate * to_rate
        return Money.from_decimal(to_code, converted)


def load_rate_table() -> RateTable:
    """The rate table shipped with the shop."""
    return RateTable.from_json(load_json(RATES_FILE))
