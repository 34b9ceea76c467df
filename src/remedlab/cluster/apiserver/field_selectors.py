"""Field selectors (``--field-selector``): ``path=value``, ``path==value`` and ``path!=value`` terms,
comma-separated, on any field of an object (``metadata.name``, ``spec.nodeName``, ``status.phase``,
``involvedObject.uid``, ...)."""

from __future__ import annotations

from typing import Any

from remedlab.api.kinds import Obj


def _field(obj: Obj, path: str) -> str:
    value: Any = obj
    for part in path.split("."):
        if not isinstance(value, dict):
            return ""
        value = value.get(part)
    return "" if value is None else str(value)


def matches_field_selector(selector: str, obj: Obj) -> bool:
    for term in (t.strip() for t in selector.split(",") if t.strip()):
        if "!=" in term:
            key, value = term.split("!=", 1)
            if _field(obj, key.strip()) == value.strip():
                return False
        else:
            key, value = term.replace("==", "=").split("=", 1)
            if _field(obj, key.strip()) != value.strip():
                return False
    return True
