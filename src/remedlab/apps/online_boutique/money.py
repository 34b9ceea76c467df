"""Amounts of money as whole units plus nanos (10^-9 units), both carrying the amount's sign."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

NANOS_PER_UNIT = 1_000_000_000
MAX_NANOS = NANOS_PER_UNIT - 1


class MoneyError(ValueError):
    """An amount is malformed, or two amounts of different currencies were combined."""


@dataclass(frozen=True, slots=True)
class Money:
    """``units + nanos / 10^9`` of ``currency_code``; units and nanos never have opposite signs."""

    currency_code: str
    units: int = 0
    nanos: int = 0

    def __post_init__(self) -> None:
        if not self.currency_code:
            raise MoneyError("an amount needs a currency code")
        if not -MAX_NANOS <= self.nanos <= MAX_NANOS:
            raise MoneyError(f"nanos {self.nanos} out of range [-{MAX_NANOS}, {MAX_NANOS}]")
        if (self.units > 0 and self.nanos < 0) or (self.units < 0 and self.nanos > 0):
            raise MoneyError(f"units {self.units} and nanos {self.nanos} have opposite signs")

    @classmethod
    def from_nanos(cls, currency_code: str, total: int) -> Money:
        """The amount of ``total`` nanos, split into units and nanos of the same sign."""
        sign = -1 if total < 0 else 1
        units, nanos = divmod(abs(total), NANOS_PER_UNIT)
        return cls(currency_code, sign * units, sign * nanos)

    @classmethod
    def from_decimal(cls, currency_code: str, amount: Decimal) -> Money:
        """``amount`` truncated (toward zero) to whole nanos."""
        return cls.from_nanos(currency_code, int(amount * NANOS_PER_UNIT))

    @classmethod
    def zero(cls, currency_code: str) -> Money:
        return cls(currency_code, 0, 0)

    @property
    def total_nanos(self) -> int:
        return self.units * NANOS_PER_UNIT + self.nanos

    def as_decimal(self) -> Decimal:
        return Decimal(self.total_nanos) / NANOS_PER_UNIT

    def __add__(self, other: Money) -> Money:
        if other.currency_code != self.currency_code:
            raise MoneyError(f"cannot add {other.currency_code} to {self.currency_code}")
        return Money.from_nanos(self.currency_code, self.total_nanos + other.total_nanos)

    def times(self, count: int) -> Money:
        """This amount ``count`` times over."""
        return Money.from_nanos(self.currency_code, self.total_nanos * count)

    def to_json(self) -> dict[str, Any]:
        return {"currency_code": self.currency_code, "units": self.units, "nanos": self.nanos}

    @classmethod
    def from_json(cls, value: Any) -> Money:
        """An amount from ``{"currency_code", "units", "nanos"}`` (missing numbers are zero)."""
        if not isinstance(value, Mapping):
            raise MoneyError("an amount must be an object with currency_code, units and nanos")
        code = value.get("currency_code")
        units = value.get("units", 0)
        nanos = value.get("nanos", 0)
        if not isinstance(code, str):
            raise MoneyError("currency_code must be a string")
        for name, number in (("units", units), ("nanos", nanos)):
            if isinstance(number, bool) or not isinstance(number, int):
                raise MoneyError(f"{name} must be an integer")
        return cls(code, units, nanos)


def total(amounts: Iterable[Money], currency_code: str) -> Money:
    """The sum of ``amounts`` (all in ``currency_code``); zero when there are none."""
    result = Money.zero(currency_code)
    for amount in amounts:
        result = result + amount
    return result


def format_money(amount: Money, symbol: str | None = None) -> str:
    """``$19.99``: the symbol (or the code and a space), units, and cents truncated."""
    prefix = symbol if symbol is not None else f"{amount.currency_code} "
    sign = "-" if amount.total_nanos < 0 else ""
    cents = abs(amount.nanos) // (NANOS_PER_UNIT // 100)
    return f"{sign}{prefix}{abs(amount.units)}.{cents:02d}"
