"""Resource quantities (CPU and memory) as the API writes them."""

from __future__ import annotations

import math
import re

_QUANTITY = re.compile(r"^([+-]?(?:\d+\.?\d*|\.\d+))(?:([eE][+-]?\d+)|(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E)?)$")
_SUFFIX_FACTORS = {
    "": 1.0,
    "n": 1e-9,
    "u": 1e-6,
    "m": 1e-3,
    "k": 1e3,
    "M": 1e6,
    "G": 1e9,
    "T": 1e12,
    "P": 1e15,
    "E": 1e18,
    "Ki": 1024.0,
    "Mi": 1024.0**2,
    "Gi": 1024.0**3,
    "Ti": 1024.0**4,
    "Pi": 1024.0**5,
    "Ei": 1024.0**6,
}
_BINARY_UNITS = (("Ei", 1024**6), ("Pi", 1024**5), ("Ti", 1024**4), ("Gi", 1024**3), ("Mi", 1024**2), ("Ki", 1024))


def parse_quantity(text: object) -> float:
    """The numeric value of a quantity (`250m` is 0.25, `64Mi` is 67108864); ValueError when malformed."""
    raw = str(text).strip()
    match = _QUANTITY.match(raw)
    if match is None:
        raise ValueError(f"quantities must match the regular expression, got {raw!r}")
    number, exponent, suffix = match.groups()
    value = float(number)
    if exponent:
        return value * 10.0 ** int(exponent[1:])
    return value * _SUFFIX_FACTORS[suffix or ""]


def millicores(text: object) -> int:
    return round(parse_quantity(text) * 1000)


def format_cpu(millis: int) -> str:
    """CPU in the canonical form: `2` for whole cores, `250m` otherwise, `0` for nothing."""
    if millis == 0:
        return "0"
    if millis % 1000 == 0:
        return str(millis // 1000)
    return f"{millis}m"


def format_bytes(amount: int) -> str:
    """Memory in the largest binary unit that divides it exactly (`192Mi`), else plain bytes."""
    if amount == 0:
        return "0"
    for suffix, factor in _BINARY_UNITS:
        if amount % factor == 0:
            return f"{amount // factor}{suffix}"
    return str(amount)


def format_top_cpu(millis: float) -> str:
    """CPU usage as `kubectl top` prints it: whole millicores, rounded up."""
    return f"{math.ceil(millis)}m"


def format_top_memory(amount: float) -> str:
    """Memory usage as `kubectl top` prints it: whole mebibytes, rounded down."""
    return f"{int(amount) // (1024 * 1024)}Mi"
