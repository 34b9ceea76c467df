"""Fault parameter formats, as Chaos Mesh writes them: Go durations, tc rates, percents, sizes."""

from __future__ import annotations

import re

_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)")
_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
_RATE = re.compile(r"^(\d+(?:\.\d+)?)\s*(bit|kbit|mbit|gbit|tbit|bps|kbps|mbps|gbps|tbps)$", re.IGNORECASE)
_RATE_UNITS = {
    "bit": 1 / 8,
    "kbit": 1e3 / 8,
    "mbit": 1e6 / 8,
    "gbit": 1e9 / 8,
    "tbit": 1e12 / 8,
    "bps": 1.0,
    "kbps": 1e3,
    "mbps": 1e6,
    "gbps": 1e9,
    "tbps": 1e12,
}


def parse_duration(text: str) -> float:
    """A Go duration ("1000ms", "5s", "1h30m", "-5m") in seconds."""
    raw = str(text).strip()
    sign = -1.0 if raw.startswith("-") else 1.0
    body = raw.lstrip("+-")
    if body == "0":
        return 0.0
    pos = 0
    total = 0.0
    for match in _DURATION_PART.finditer(body):
        if match.start() != pos:
            break
        total += float(match.group(1)) * _UNITS[match.group(2)]
        pos = match.end()
    if pos != len(body) or not body:
        raise ValueError(f'invalid duration "{text}": use a number with a unit, e.g. "500ms", "5s", "1m30s"')
    return sign * total


def parse_rate(text: str) -> float:
    """A tc rate ("1mbps" = 1 MB/s, "8mbit" = 1 MB/s) in bytes per second."""
    match = _RATE.match(str(text).strip())
    if not match:
        raise ValueError(f'invalid rate "{text}": use e.g. "1mbps" (bytes/s) or "8mbit" (bits/s)')
    return float(match.group(1)) * _RATE_UNITS[match.group(2).lower()]


def parse_percent(text: str | int | float, what: str = "percent") -> float:
    try:
        value = float(str(text).strip().rstrip("%"))
    except ValueError:
        raise ValueError(f'invalid {what} "{text}": use a number from 0 to 100') from None
    if not 0 <= value <= 100:
        raise ValueError(f"{what} must be between 0 and 100, got {text}")
    return value


def parse_size(text: str | int) -> int:
    """stress-ng style sizes ("1280MiB", "256MB", "1GB", "512M") in bytes."""
    match = re.match(r"^(\d+(?:\.\d+)?)\s*(b|kb|mb|gb|kib|mib|gib|k|m|g)?$", str(text).strip(), re.IGNORECASE)
    if not match:
        raise ValueError(f'invalid size "{text}": use e.g. "256MiB" or "1GB"')
    unit = (match.group(2) or "b").lower()
    factor = {
        "b": 1,
        "kb": 1000,
        "mb": 1000**2,
        "gb": 1000**3,
        "kib": 1024,
        "mib": 1024**2,
        "gib": 1024**3,
        "k": 1024,
        "m": 1024**2,
        "g": 1024**3,
    }[unit]
    return int(float(match.group(1)) * factor)
