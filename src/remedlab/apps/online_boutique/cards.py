"""Credit card checks as the payment service makes them: number, brand and expiry."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

ACCEPTED_BRANDS = ("visa", "mastercard")
BRAND_NAMES = {"visa": "VISA", "mastercard": "MasterCard", "amex": "American Express", "discover": "Discover"}


class CardError(ValueError):
    """A card the shop cannot charge; ``reason`` is invalid, unaccepted or expired."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class AcceptedCard:
    brand: str
    last_four: str


def normalize_number(number: str) -> str:
    """The digits of a card number written with spaces or dashes; '' when anything else is in it."""
    digits = number.replace(" ", "").replace("-", "")
    return digits if digits.isdigit() else ""


def luhn_valid(digits: str) -> bool:
    """True when ``digits`` passes the Luhn checksum."""
    if not digits.isdigit():
        return False
    checksum = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2 == 1:
            value *= 2
            if value > 9:
                value -= 9
        checksum += value
    return checksum % 10 == 0


def card_brand(digits: str) -> str | None:
    """The card network a number belongs to, from its prefix and length; None when unknown."""
    length = len(digits)
    if digits.startswith("4") and length in (13, 16, 19):
        return "visa"
    if length == 16 and (51 <= int(digits[:2]) <= 55 or 2221 <= int(digits[:4]) <= 2720):
        return "mastercard"
    if length == 15 and digits[:2] in ("34", "37"):
        return "amex"
    if length == 16 and (digits.startswith(("6011", "65")) or 644 <= int(digits[:3]) <= 649):
        return "discover"
    return None


def validate_card(number: str, expiration_year: int, expiration_month: int, today: date) -> AcceptedCard:
    """The brand and last four digits of a card the shop accepts, or :class:`CardError`."""
    digits = normalize_number(number)
    brand = card_brand(digits) if digits else None
    if not digits or brand is None or not luhn_valid(digits) or not 1 <= expiration_month <= 12:
        raise CardError("invalid", "Credit card info is invalid")
    if brand not in ACCEPTED_BRANDS:
        raise CardError(
            "unaccepted",
            f"Sorry, we cannot process {BRAND_NAMES[brand]} credit cards. Only VISA or MasterCard is accepted.",
        )
    last_four = digits[-4:]
    if today.year * 12 + today.month > expiration_year * 12 + expiration_month:
        raise CardError(
            "expired", f"Your credit card (ending {last_four}) expired on {expiration_month}/{expiration_year}"
        )
    return AcceptedCard(brand, last_four)
