"""Kubernetes resource quantities: CPU (cores, millicores) and memory (bytes)."""

from __future__ import annotations

import re

_SUFFIXES: dict[str, float] = {
    "": 1,
    "n": 1e-9,
    "u": 1e-6,
    "m": 1e-3,
    "k": 1e3,
    "M": 1e6,
    "G": 1e9,
    "T": 1e12,
    "P": 1e15,
    "E": 1e18,
    "Ki": 2**10,
    "Mi": 2**20,
    "Gi": 2**30,
    "Ti": 2**40,
    "Pi": 2**50,
    "Ei": 2**60,
}
_QUANTITY = re.compile(r"^([+-]?[0-9.]+(?:[eE][+-]?[0-9]+)?)(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E)?$")


class QuantityError(ValueError):
    """A quantity string that Kubernetes would not accept."""


def parse_quantity(value: str | int | float) -> float:
    """Return the quantity as a plain number (cores for CPU, bytes for memory)."""
    if isinstance(value, int | float):
        return float(value)
    match = _QUANTITY.match(value.strip())
    if not match:
        raise QuantityError(f"quantities must match the regular expression {_QUANTITY.pattern!r}: {value!r}")
    number, suffix = match.groups()
    return float(number) * _SUFFIXES[suffix or ""]


def cpu_millicores(value: str | int | float) -> int:
    """CPU quantity in millicores ("500m" -> 500, "1" -> 1000)."""
    return round(parse_quantity(value) * 1000)


def memory_bytes(value: str | int | float) -> int:
    """Memory quantity in bytes ("128Mi" -> 134217728)."""
    return round(parse_quantity(value))


def format_millicores(millicores: float) -> str:
    return f"{round(millicores)}m"


def format_mebibytes(num_bytes: float) -> str:
    return f"{round(num_bytes / 2**20)}Mi"
