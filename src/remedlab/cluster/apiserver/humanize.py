"""Ages and durations as Kubernetes prints them: the AGE of an object (``5m``, ``3h4m``, ``2d``),
``HumanDuration`` and ``ShortHumanDuration`` of ``k8s.io/apimachinery/pkg/util/duration``, and the
RFC 3339 timestamps they are computed from.

Pure functions of their arguments; ``now`` is POSIX seconds so a whole table shares one clock.
"""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime

_FRACTION = re.compile(r"\.(\d+)")

UNKNOWN = "<unknown>"
"""What an age cell shows for an absent or unreadable timestamp."""


def parse_timestamp(value: object) -> datetime | None:
    """An RFC 3339 timestamp as the API writes it (``2024-05-01T10:00:00Z``, fractions allowed);
    None when absent or malformed. A timestamp without a zone is taken as UTC."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
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
    """Seconds from the timestamp `value` to `now` (default: the current time); None without one."""
    parsed = parse_timestamp(value)
    if parsed is None:
        return None
    return (time.time() if now is None else now) - parsed.timestamp()


def human_duration(seconds: float) -> str:
    """``HumanDuration``: two to three significant figures (5s, 3m2s, 4h10m, 2d3h, 400d, 3y20d).

    Up to two seconds in the future reads as ``0s`` (clock skew); further ahead is ``<invalid>``.
    """
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


def short_human_duration(seconds: float) -> str:
    """``ShortHumanDuration``: one unit only (45s, 5m, 3h, 12d, 2y)."""
    whole = int(seconds)
    if whole < -1:
        return "<invalid>"
    if whole < 0:
        return "0s"
    if whole < 60:
        return f"{whole}s"
    if whole < 3600:
        return f"{whole // 60}m"
    hours = whole // 3600
    if hours < 24:
        return f"{hours}h"
    if hours < 24 * 365:
        return f"{hours // 24}d"
    return f"{hours // 24 // 365}y"


def age(value: object, now: float | None = None) -> str:
    """The AGE of a timestamp as of `now` (default: the current time); ``<unknown>`` without one."""
    parsed = parse_timestamp(value)
    if parsed is None:
        return UNKNOWN
    return human_duration((time.time() if now is None else now) - parsed.timestamp())
