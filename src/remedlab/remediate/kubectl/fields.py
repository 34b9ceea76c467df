"""Typed access to the Kubernetes-shaped JSON objects the cluster API serves."""

from __future__ import annotations

from typing import Any

JsonObject = dict[str, Any]


def dig(value: Any, *path: str | int) -> Any:
    """Follow `path` through nested dicts and lists; None when any step is missing."""
    current = value
    for step in path:
        if isinstance(step, int):
            if not isinstance(current, list) or not -len(current) <= step < len(current):
                return None
            current = current[step]
        else:
            if not isinstance(current, dict):
                return None
            current = current.get(step)
        if current is None:
            return None
    return current


def get_dict(value: Any, *path: str | int) -> JsonObject:
    found = dig(value, *path)
    return found if isinstance(found, dict) else {}


def get_list(value: Any, *path: str | int) -> list[Any]:
    found = dig(value, *path)
    return found if isinstance(found, list) else []


def get_dicts(value: Any, *path: str | int) -> list[JsonObject]:
    return [item for item in get_list(value, *path) if isinstance(item, dict)]


def get_str(value: Any, *path: str | int, default: str = "") -> str:
    found = dig(value, *path)
    if found is None:
        return default
    if isinstance(found, bool):
        return "true" if found else "false"
    return str(found)


def get_int(value: Any, *path: str | int, default: int = 0) -> int:
    found = dig(value, *path)
    if isinstance(found, bool):
        return int(found)
    if isinstance(found, int):
        return found
    if isinstance(found, float):
        return int(found)
    if isinstance(found, str):
        try:
            return int(found)
        except ValueError:
            return default
    return default


def get_bool(value: Any, *path: str | int) -> bool:
    found = dig(value, *path)
    if isinstance(found, str):
        return found.lower() == "true"
    return bool(found)


def str_map(value: Any, *path: str | int) -> dict[str, str]:
    """A string-to-string map such as labels, annotations or a selector's matchLabels."""
    return {str(k): "" if v is None else str(v) for k, v in get_dict(value, *path).items()}


def name_of(obj: Any) -> str:
    return get_str(obj, "metadata", "name")


def namespace_of(obj: Any) -> str:
    return get_str(obj, "metadata", "namespace")
