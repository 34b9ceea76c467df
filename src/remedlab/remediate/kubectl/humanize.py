"""Times and durations in the forms kubectl prints and accepts."""

from __future__ import annotations

import math
import re
import time
from datetime import UTC, datetime

_FRACTION = re.compile(r"\.(\d+)")
_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)")
_UNIT_SECONDS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_timestamp(value: object) -> datetime | None:
    """Parse an RFC 3339 timestamp as the API writes it; None when absent or malformed."""
    if not isinstance(value, str) or not value:
        return None
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    # datetime.fromisoformat takes at most microseconds.
    text = _FRACTION.sub(lambda m: "." + m.group(1)[:6].ljust(6, "0"), text, count=1)
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed


def seconds_since(value: object, now: float | None = None) -> float | None:
    parsed = parse_timestamp(value)
    if parsed is None:
        return None
    return (time.time() if now is None else now) - parsed.timestamp()


def human_duration(seconds: float) -> str:
    """A duration rounded the way kubectl shows ages (5s, 3m2s, 4h10m, 2d, 3y)."""
    whole = int(seconds)
    if whole < -1:
        return "<invalid>"
    if whole < 0:
        return "0s"
    if whole < 120:
        return f"{whole}s"
    minutes = whole // 60
    if minutes < 10:
        rest = whole % 60
        return f"{minutes}m" if rest == 0 else f"{minutes}m{rest}s"
    if minutes < 180:
        return f"{minutes}m"
    hours = whole // 3600
    if hours < 8:
        rest = minutes % 60
        return f"{hours}h" if rest == 0 else f"{hours}h{rest}m"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        rest = hours % 24
        return f"{hours // 24}d" if rest == 0 else f"{hours // 24}d{rest}h"
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    if hours < 24 * 365 * 8:
        days = (hours // 24) % 365
        years = hours // 24 // 365
        return f"{years}y" if days == 0 else f"{years}y{days}d"
    return f"{hours // 24 // 365}y"


def age(value: object, now: float | None = None) -> str:
    """The AGE of a timestamp, `<unknown>` when there is none."""
    elapsed = seconds_since(value, now)
    return "<unknown>" if elapsed is None else human_duration(elapsed)


def format_rfc1123z(value: object) -> str:
    """A timestamp in local time as `Mon, 02 Jan 2006 15:04:05 -0700`; `Mon, 01 Jan 0001 ...` when absent."""
    parsed = parse_timestamp(value)
    if parsed is None:
        return "Mon, 01 Jan 0001 00:00:00 +0000"
    return parsed.astimezone().strftime("%a, %d %b %Y %H:%M:%S %z")


def parse_duration(text: str) -> float:
    """Parse a duration such as 30s, 5m, 1h30m or 500ms into seconds (a bare number is seconds)."""
    raw = text.strip()
    if not raw:
        raise ValueError(f'time: invalid duration "{text}"')
    sign = 1.0
    if raw[0] in "+-":
        sign = -1.0 if raw[0] == "-" else 1.0
        raw = raw[1:]
    try:
        return sign * float(raw)
    except ValueError:
        pass
    total = 0.0
    position = 0
    while position < len(raw):
        match = _DURATION_PART.match(raw, position)
        if match is None:
            raise ValueError(f'time: invalid duration "{text}"')
        total += float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
        position = match.end()
    return sign * total


def whole_seconds(seconds: float) -> int:
    return max(0, math.ceil(seconds))
