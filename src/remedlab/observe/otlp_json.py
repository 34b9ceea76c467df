"""Reading OTLP/HTTP JSON trace exports (``ExportTraceServiceRequest``) into span records.

The JSON mapping of OTLP: ``resourceSpans`` -> ``scopeSpans`` -> ``spans``;
trace and span ids in hex; 64-bit integers (times, ``intValue``) as decimal
strings or numbers; enums (``kind``, ``status.code``) as numbers or their
names; attribute values as ``AnyValue`` objects. Unknown fields are ignored.

A request whose shape is wrong (not JSON, ``resourceSpans`` not a list, a
malformed resource) fails as a whole with :class:`OtlpFormatError`; a span
that is wrong is rejected alone and counted, as OTLP's partial success has it.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, cast

from remedlab.observe.trace_store import SpanKindName, SpanRecord, StatusName

MAX_VALUE_DEPTH = 8
MAX_STRING = 8192

_KINDS: dict[int, SpanKindName] = {
    0: "UNSPECIFIED",
    1: "INTERNAL",
    2: "SERVER",
    3: "CLIENT",
    4: "PRODUCER",
    5: "CONSUMER",
}
_STATUSES: dict[int, StatusName] = {0: "UNSET", 1: "OK", 2: "ERROR"}
_HEX = frozenset("0123456789abcdef")


class OtlpFormatError(ValueError):
    """The request is not an OTLP JSON trace export; the message is one line."""


class _SpanError(ValueError):
    pass


@dataclass
class ParsedExport:
    spans: list[SpanRecord] = field(default_factory=list)
    rejected: int = 0
    first_error: str | None = None

    def reject(self, message: str) -> None:
        self.rejected += 1
        if self.first_error is None:
            self.first_error = message


def parse_export(body: bytes | str) -> ParsedExport:
    """The spans of an OTLP JSON export; raises :class:`OtlpFormatError` for a malformed request."""
    try:
        document = json.loads(body)
    except (ValueError, RecursionError) as exc:
        detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise OtlpFormatError(f"request body is not JSON: {detail}") from None
    if not isinstance(document, dict):
        raise OtlpFormatError(f"request body must be a JSON object, not {_type_name(document)}")
    result = ParsedExport()
    resource_spans = document.get("resourceSpans")
    if resource_spans is None:
        return result
    if not isinstance(resource_spans, list):
        raise OtlpFormatError(f"resourceSpans must be a list, not {_type_name(resource_spans)}")
    for r_index, entry in enumerate(resource_spans):
        where = f"resourceSpans[{r_index}]"
        if not isinstance(entry, dict):
            raise OtlpFormatError(f"{where} must be an object, not {_type_name(entry)}")
        resource = entry.get("resource") or {}
        if not isinstance(resource, dict):
            raise OtlpFormatError(f"{where}.resource must be an object, not {_type_name(resource)}")
        try:
            resource_attrs = _attributes(resource.get("attributes"), f"{where}.resource.attributes")
        except _SpanError as exc:
            raise OtlpFormatError(str(exc)) from None
        scope_spans = entry.get("scopeSpans")
        if scope_spans is None:
            continue
        if not isinstance(scope_spans, list):
            raise OtlpFormatError(f"{where}.scopeSpans must be a list, not {_type_name(scope_spans)}")
        for s_index, scope in enumerate(scope_spans):
            scope_where = f"{where}.scopeSpans[{s_index}]"
            if not isinstance(scope, dict):
                raise OtlpFormatError(f"{scope_where} must be an object, not {_type_name(scope)}")
            spans = scope.get("spans")
            if spans is None:
                continue
            if not isinstance(spans, list):
                raise OtlpFormatError(f"{scope_where}.spans must be a list, not {_type_name(spans)}")
            for index, raw in enumerate(spans):
                try:
                    result.spans.append(_span(raw, resource_attrs, f"{scope_where}.spans[{index}]"))
                except _SpanError as exc:
                    result.reject(str(exc))
    return result


def _type_name(value: object) -> str:
    if value is None:
        return "null"
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean"}.get(
        type(value), "a number" if isinstance(value, int | float) else type(value).__name__
    )


def _hex_id(value: object, length: int, where: str, *, optional: bool = False) -> str:
    if optional and (value is None or value == ""):
        return ""
    if not isinstance(value, str):
        raise _SpanError(f"{where}: expected {length} hex digits, got {_type_name(value)}")
    text = value.lower()
    if len(text) != length or not set(text) <= _HEX:
        raise _SpanError(f"{where}: expected {length} hex digits, got {value[:40]!r}")
    if text == "0" * length:
        if optional:
            return ""
        raise _SpanError(f"{where}: an all-zero id is invalid")
    return text


def _uint64(value: object, where: str) -> int:
    if isinstance(value, bool):
        raise _SpanError(f"{where}: expected an unsigned integer, got a boolean")
    if isinstance(value, int):
        number = value
    elif (isinstance(value, str) and value.isdigit()) or (isinstance(value, float) and value.is_integer()):
        number = int(value)
    else:
        raise _SpanError(f"{where}: expected an unsigned integer, got {str(value)[:40]!r}")
    if not 0 <= number < 1 << 64:
        raise _SpanError(f"{where}: {number} is out of range")
    return number


def _enum(value: object, names: Mapping[int, str], prefix: str, where: str) -> int:
    if value is None:
        return 0
    if isinstance(value, int) and not isinstance(value, bool) and value in names:
        return value
    if isinstance(value, str):
        wanted = value.upper().removeprefix(prefix)
        for number, name in names.items():
            if name == wanted:
                return number
    raise _SpanError(f"{where}: unknown value {str(value)[:40]!r}")


def _string(value: object, where: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise _SpanError(f"{where}: expected a string, got {_type_name(value)}")
    return value[:MAX_STRING]


def any_value(value: object, where: str, depth: int = 0) -> Any:
    """An OTLP ``AnyValue`` as plain JSON (non-finite doubles as strings, bytes as base64 text)."""
    if depth > MAX_VALUE_DEPTH:
        raise _SpanError(f"{where}: values nested deeper than {MAX_VALUE_DEPTH} levels")
    if value is None:
        return None
    if not isinstance(value, dict):
        raise _SpanError(f"{where}: expected an AnyValue object, got {_type_name(value)}")
    if not value:
        return None
    if "stringValue" in value:
        return _string(value["stringValue"], where)
    if "boolValue" in value:
        flag = value["boolValue"]
        if not isinstance(flag, bool):
            raise _SpanError(f"{where}.boolValue: expected a boolean, got {_type_name(flag)}")
        return flag
    if "intValue" in value:
        raw = value["intValue"]
        if isinstance(raw, bool):
            raise _SpanError(f"{where}.intValue: expected an integer, got a boolean")
        try:
            return int(cast(Any, raw))
        except (TypeError, ValueError):
            raise _SpanError(f"{where}.intValue: expected an integer, got {str(raw)[:40]!r}") from None
    if "doubleValue" in value:
        raw = value["doubleValue"]
        if isinstance(raw, bool) or not isinstance(raw, int | float | str):
            raise _SpanError(f"{where}.doubleValue: expected a number, got {_type_name(raw)}")
        try:
            number = float(raw)
        except ValueError:
            raise _SpanError(f"{where}.doubleValue: expected a number, got {str(raw)[:40]!r}") from None
        return number if math.isfinite(number) else str(raw)
    if "bytesValue" in value:
        return _string(value["bytesValue"], where)
    if "arrayValue" in value:
        array = value["arrayValue"] or {}
        items = array.get("values") if isinstance(array, dict) else None
        if items is None:
            return []
        if not isinstance(items, list):
            raise _SpanError(f"{where}.arrayValue.values: expected a list, got {_type_name(items)}")
        return [any_value(item, f"{where}.arrayValue.values[{i}]", depth + 1) for i, item in enumerate(items)]
    if "kvlistValue" in value:
        kvlist = value["kvlistValue"] or {}
        items = kvlist.get("values") if isinstance(kvlist, dict) else None
        return _attributes(items, f"{where}.kvlistValue.values", depth + 1)
    return None


def _attributes(items: object, where: str, depth: int = 0) -> dict[str, Any]:
    if items is None:
        return {}
    if not isinstance(items, list):
        raise _SpanError(f"{where}: expected a list of key-values, got {_type_name(items)}")
    out: dict[str, Any] = {}
    for index, item in enumerate(items):
        if not isinstance(item, dict) or not isinstance(item.get("key"), str):
            raise _SpanError(f'{where}[{index}]: expected {{"key": string, "value": AnyValue}}')
        out[item["key"]] = any_value(item.get("value"), f"{where}[{index}].value", depth)
    return out


def _span(raw: object, resource: Mapping[str, Any], where: str) -> SpanRecord:
    if not isinstance(raw, dict):
        raise _SpanError(f"{where}: expected a span object, got {_type_name(raw)}")
    trace_id = _hex_id(raw.get("traceId"), 32, f"{where}.traceId")
    span_id = _hex_id(raw.get("spanId"), 16, f"{where}.spanId")
    parent = _hex_id(raw.get("parentSpanId"), 16, f"{where}.parentSpanId", optional=True)
    name = _string(raw.get("name"), f"{where}.name")
    kind = _KINDS[_enum(raw.get("kind"), _KINDS, "SPAN_KIND_", f"{where}.kind")]
    start = _uint64(raw.get("startTimeUnixNano"), f"{where}.startTimeUnixNano")
    end = _uint64(raw.get("endTimeUnixNano"), f"{where}.endTimeUnixNano")
    if end < start:
        raise _SpanError(f"{where}: endTimeUnixNano is before startTimeUnixNano")
    status = raw.get("status") or {}
    if not isinstance(status, dict):
        raise _SpanError(f"{where}.status: expected an object, got {_type_name(status)}")
    code = _STATUSES[_enum(status.get("code"), _STATUSES, "STATUS_CODE_", f"{where}.status.code")]
    message = _string(status.get("message"), f"{where}.status.message")
    attributes = _attributes(raw.get("attributes"), f"{where}.attributes")
    _fold_exception(raw.get("events"), attributes, where)
    return SpanRecord(
        trace_id=trace_id,
        span_id=span_id,
        parent_span_id=parent,
        service=str(resource.get("service.name") or ""),
        namespace=str(resource.get("k8s.namespace.name") or ""),
        pod=str(resource.get("k8s.pod.name") or ""),
        operation=name,
        kind=kind,
        start_ns=start,
        end_ns=end,
        status_code=code,
        status_message=message,
        attributes=attributes,
    )


def _fold_exception(events: object, attributes: dict[str, Any], where: str) -> None:
    """The first ``exception`` event's type and message, kept as span attributes (events are not stored)."""
    if not isinstance(events, list):
        return
    for index, event in enumerate(events):
        if isinstance(event, dict) and event.get("name") == "exception":
            details = _attributes(event.get("attributes"), f"{where}.events[{index}].attributes")
            for key in ("exception.type", "exception.message"):
                if key in details and key not in attributes:
                    attributes[key] = details[key]
            return
