"""Kubernetes Events as recorders write them: one object per distinct (object, reason, message,
field), named after the object, its repeats folded into ``count`` and ``lastTimestamp``."""

from __future__ import annotations

import hashlib
from typing import Any, Literal

from remedlab.api.kinds import Obj

EventType = Literal["Normal", "Warning"]


def event_key(obj: Obj, reason: str, message: str, field_path: str | None = None) -> tuple[str, str]:
    """(namespace, name) of the Event that records ``reason``/``message`` about ``obj``: repeats share it."""
    meta = obj["metadata"]
    key = f"{obj['kind']}/{meta['name']}/{meta.get('uid')}/{reason}/{message}/{field_path}"
    return meta.get("namespace") or "default", f"{meta['name']}.{hashlib.sha1(key.encode()).hexdigest()[:16]}"


def new_event(
    obj: Obj,
    reason: str,
    message: str,
    type_: EventType,
    source: dict[str, str],
    now: str,
    field_path: str | None = None,
) -> Obj:
    """The first Event recording ``reason``/``message`` about ``obj`` (``source``: component, host)."""
    meta = obj["metadata"]
    namespace, name = event_key(obj, reason, message, field_path)
    involved: dict[str, Any] = {
        "kind": obj["kind"],
        "name": meta["name"],
        "namespace": namespace,
        "uid": meta.get("uid"),
        "apiVersion": obj.get("apiVersion"),
    }
    if field_path:
        involved["fieldPath"] = field_path
    return {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": name, "namespace": namespace},
        "involvedObject": involved,
        "reason": reason,
        "message": message,
        "type": type_,
        "count": 1,
        "firstTimestamp": now,
        "lastTimestamp": now,
        "source": source,
    }


def repeated(event: Obj, now: str) -> Obj:
    """``event`` once more: its count and last time."""
    event["count"] = int(event.get("count", 1)) + 1
    event["lastTimestamp"] = now
    return event
