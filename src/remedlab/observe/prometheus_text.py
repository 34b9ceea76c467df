"""A parser of the Prometheus text exposition format (0.0.4), as services serve it at ``/metrics``.

``# HELP`` and ``# TYPE`` lines name families; samples carry labels (with the
``\\\\``, ``\\"`` and ``\\n`` escapes), a value (``+Inf``, ``-Inf`` and ``NaN``
included) and an optional millisecond timestamp. A histogram's or summary's
``_bucket``/``_sum``/``_count`` samples belong to its family. Malformed input
raises :class:`PrometheusFormatError` with a one-line message naming the line.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Final

_NAME: Final = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
_LABEL_NAME: Final = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
_TYPES: Final = frozenset({"counter", "gauge", "histogram", "summary", "untyped"})
_SUFFIXES: Final = {"histogram": ("_bucket", "_sum", "_count"), "summary": ("_sum", "_count")}
_ESCAPES: Final = {"\\": "\\", '"': '"', "n": "\n"}


class PrometheusFormatError(ValueError):
    """Input that is not the Prometheus text format; the message is one line."""


@dataclass(frozen=True)
class Sample:
    name: str
    labels: dict[str, str]
    value: float
    timestamp_ms: int | None = None


@dataclass
class MetricFamily:
    name: str
    type: str = "untyped"
    help: str = ""
    samples: list[Sample] = field(default_factory=list)


def _parse_value(text: str) -> float:
    special = {"+inf": math.inf, "inf": math.inf, "-inf": -math.inf, "nan": math.nan}
    lowered = text.lower()
    if lowered in special:
        return special[lowered]
    if "_" in text:  # float() accepts digit separators, the format does not
        raise ValueError(text)
    return float(text)


def _unescape_help(text: str) -> str:
    return re.sub(r"\\(\\|n)", lambda m: "\n" if m.group(1) == "n" else "\\", text)


def _parse_labels(line: str, pos: int) -> tuple[dict[str, str], int]:
    """The label set starting after ``{`` at ``pos``; returns it and the position after ``}``."""
    labels: dict[str, str] = {}
    n = len(line)
    while True:
        while pos < n and line[pos] in " \t":
            pos += 1
        if pos < n and line[pos] == "}":
            return labels, pos + 1
        match = _LABEL_NAME.match(line, pos)
        if match is None:
            raise PrometheusFormatError(f"invalid label name at column {pos + 1}")
        name = match.group()
        pos = match.end()
        while pos < n and line[pos] in " \t":
            pos += 1
        if pos >= n or line[pos] != "=":
            raise PrometheusFormatError(f"expected '=' after label {name!r}")
        pos += 1
        while pos < n and line[pos] in " \t":
            pos += 1
        if pos >= n or line[pos] != '"':
            raise PrometheusFormatError(f"expected '\"' to open the value of label {name!r}")
        pos += 1
        chars: list[str] = []
        while True:
            if pos >= n:
                raise PrometheusFormatError(f"unterminated value of label {name!r}")
            c = line[pos]
            if c == "\\":
                if pos + 1 >= n or line[pos + 1] not in _ESCAPES:
                    raise PrometheusFormatError(f"invalid escape in the value of label {name!r}")
                chars.append(_ESCAPES[line[pos + 1]])
                pos += 2
            elif c == '"':
                pos += 1
                break
            else:
                chars.append(c)
                pos += 1
        if name in labels:
            raise PrometheusFormatError(f"duplicate label {name!r}")
        labels[name] = "".join(chars)
        while pos < n and line[pos] in " \t":
            pos += 1
        if pos < n and line[pos] == ",":
            pos += 1
        elif pos < n and line[pos] == "}":
            return labels, pos + 1
        else:
            raise PrometheusFormatError(f"expected ',' or '}}' after label {name!r}")


def _parse_sample(line: str) -> Sample:
    match = _NAME.match(line)
    if match is None:
        raise PrometheusFormatError("invalid metric name")
    name = match.group()
    pos = match.end()
    labels: dict[str, str] = {}
    if pos < len(line) and line[pos] == "{":
        labels, pos = _parse_labels(line, pos + 1)
    rest = line[pos:]
    if rest and rest[0] not in " \t":
        raise PrometheusFormatError(f"unexpected {rest[0]!r} after {name}")
    fields = rest.split()
    if not 1 <= len(fields) <= 2:
        raise PrometheusFormatError(f"expected a value and an optional timestamp after {name}")
    try:
        value = _parse_value(fields[0])
    except ValueError:
        raise PrometheusFormatError(f"invalid value {fields[0][:32]!r} for {name}") from None
    timestamp: int | None = None
    if len(fields) == 2:
        try:
            timestamp = int(fields[1])
        except ValueError:
            raise PrometheusFormatError(f"invalid timestamp {fields[1][:32]!r} for {name}") from None
    return Sample(name, labels, value, timestamp)


def _family_of(sample_name: str, families: dict[str, MetricFamily]) -> str:
    for family_type, suffixes in _SUFFIXES.items():
        for suffix in suffixes:
            base = sample_name.removesuffix(suffix)
            if base != sample_name and base in families and families[base].type == family_type:
                return base
    return sample_name


def parse(text: str) -> dict[str, MetricFamily]:
    """The metric families in ``text``, by name, in the order they first appear."""
    families: dict[str, MetricFamily] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        try:
            if line.startswith("#"):
                parts = line[1:].split(None, 2)
                if len(parts) < 2 or parts[0] not in ("HELP", "TYPE"):
                    continue  # a plain comment
                keyword, name = parts[0], parts[1]
                if not _NAME.fullmatch(name):
                    raise PrometheusFormatError(f"invalid metric name {name[:64]!r} in {keyword}")
                family = families.setdefault(name, MetricFamily(name))
                argument = parts[2] if len(parts) > 2 else ""
                if keyword == "HELP":
                    family.help = _unescape_help(argument)
                else:
                    kind = argument.strip()
                    if kind not in _TYPES:
                        raise PrometheusFormatError(f"unknown type {kind[:32]!r} for {name}")
                    if family.samples:
                        raise PrometheusFormatError(f"TYPE of {name} after its samples")
                    family.type = kind
                continue
            sample = _parse_sample(line)
            base = _family_of(sample.name, families)
            if base == sample.name and families.get(base, MetricFamily(base)).type == "histogram":
                raise PrometheusFormatError(f"histogram {base} has a sample without _bucket/_sum/_count")
            family = families.setdefault(base, MetricFamily(base))
            if family.type == "histogram" and sample.name.endswith("_bucket") and "le" not in sample.labels:
                raise PrometheusFormatError(f"{sample.name} without an 'le' label")
            family.samples.append(sample)
        except PrometheusFormatError as exc:
            raise PrometheusFormatError(f"line {number}: {exc}") from None
    return families
