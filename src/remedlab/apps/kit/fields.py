"""Request fields of the DeathStarBench apps' methods: the originals' Thrift arguments, read from JSON bodies
(between services) or form and query fields (at their front ends).

Ids are Thrift ``i64``: whole numbers from 0 to 2**63-1, given as JSON numbers or as decimal text
(the front end's forms, and the ids it answers as text). Each reader raises :class:`BadRequest`
with a one-line message naming the field.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from remedlab.apps.kit.rpc import BadRequest

MAX_ID = 2**63 - 1
MAX_TEXT = 20_000
MAX_NAME = 200
MAX_ITEMS = 1000
MAX_TIMELINE_INDEX = 100_000


def id_value(value: Any, name: str) -> int:
    """An ``i64`` id: a whole number in [0, 2**63-1], as a number or as decimal text."""
    if isinstance(value, str):
        text = value.strip()
        if not (text.isascii() and text.isdigit()):
            raise BadRequest(f"{name} must be a whole number, not {value[:40]!r}")
        value = int(text)
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadRequest(f"{name} must be a whole number")
    if not 0 <= value <= MAX_ID:
        raise BadRequest(f"{name} must be between 0 and {MAX_ID}")
    return value


def id_field(fields: Mapping[str, Any], name: str) -> int:
    value = fields.get(name)
    if value is None or value == "":
        raise BadRequest(f"missing {name}")
    return id_value(value, name)


def optional_id_field(fields: Mapping[str, Any], name: str) -> int | None:
    value = fields.get(name)
    return None if value is None or value == "" else id_value(value, name)


def text_field(fields: Mapping[str, Any], name: str, *, max_length: int = MAX_NAME, required: bool = True) -> str:
    """A text field; non-empty unless ``required`` is False."""
    value = fields.get(name, "")
    if not isinstance(value, str):
        raise BadRequest(f"{name} must be text")
    if required and not value:
        raise BadRequest(f"missing {name}")
    if len(value) > max_length:
        raise BadRequest(f"{name} is longer than {max_length} characters")
    return value


def index_field(fields: Mapping[str, Any], name: str) -> int:
    """A position in a timeline (``start`` or ``stop``), from 0."""
    value = id_field(fields, name)
    if value > MAX_TIMELINE_INDEX:
        raise BadRequest(f"{name} must be at most {MAX_TIMELINE_INDEX}")
    return value


def list_field(fields: Mapping[str, Any], name: str) -> list[Any]:
    value = fields.get(name, [])
    if not isinstance(value, list):
        raise BadRequest(f"{name} must be a list")
    if len(value) > MAX_ITEMS:
        raise BadRequest(f"{name} holds more than {MAX_ITEMS} items")
    return value


def id_list_field(fields: Mapping[str, Any], name: str) -> list[int]:
    return [id_value(value, name) for value in list_field(fields, name)]


def text_list_field(fields: Mapping[str, Any], name: str, *, max_length: int = MAX_TEXT) -> list[str]:
    values = list_field(fields, name)
    for value in values:
        if not isinstance(value, str) or len(value) > max_length:
            raise BadRequest(f"{name} must be a list of texts of at most {max_length} characters")
    return values


def json_list_field(fields: Mapping[str, str], name: str) -> list[Any]:
    """A form field holding a JSON list (the front end's ``media_ids``, ``media_types``); empty when absent."""
    raw = fields.get(name, "")
    if not raw:
        return []
    try:
        value = json.loads(raw)
    except ValueError:
        raise BadRequest(f"{name} must be a JSON list") from None
    if not isinstance(value, list):
        raise BadRequest(f"{name} must be a JSON list")
    return value
