"""How the API answers: JSON bodies, the media types clients ask for, Status errors, list envelopes
and continue tokens."""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any

import orjson
from pydantic import BaseModel
from starlette.responses import Response

from remedlab.api.errors import BadRequest, ClusterError
from remedlab.api.kinds import KindInfo, Obj
from remedlab.api.meta import IncludeObject

JSON = "application/json"


def json_bytes(value: Any) -> bytes:
    if isinstance(value, BaseModel):
        value = value.model_dump(by_alias=True, exclude_none=True, mode="json")
    return orjson.dumps(value)


def json_response(value: Any, status: int = 200, media_type: str = JSON, warnings: list[str] | None = None) -> Response:
    headers = {"Warning": ", ".join(f'299 - "{_quote(w)}"' for w in warnings)} if warnings else None
    return Response(json_bytes(value), status_code=status, media_type=media_type, headers=headers)


def _quote(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


def error_response(error: ClusterError) -> Response:
    return Response(json_bytes(error.status()), status_code=error.code, media_type=JSON)


# --------------------------------------------------------------------------- what the client accepts


@dataclass(frozen=True)
class Rendering:
    """The form an answer takes: plain objects, a meta.k8s.io Table, or metadata only."""

    form: str = "object"  # "object" | "table" | "metadata"
    include_object: IncludeObject = "Metadata"


def rendering(accept: str, include_object: str | None) -> Rendering:
    """Read the Accept header as kube-apiserver does: the first offered type it can serve wins."""
    for offer in (o.strip() for o in accept.split(",") if o.strip()):
        params = dict(p.strip().split("=", 1) for p in offer.split(";")[1:] if "=" in p)
        kind = params.get("as")
        base = offer.split(";", 1)[0].strip()
        if base not in ("application/json", "*/*", "application/*", "application/yaml"):
            continue
        if kind == "Table" and params.get("g") == "meta.k8s.io":
            mode = include_object if include_object in ("None", "Metadata", "Object") else "Metadata"
            return Rendering("table", mode)  # type: ignore[arg-type]
        if kind in ("PartialObjectMetadata", "PartialObjectMetadataList") and params.get("g") == "meta.k8s.io":
            return Rendering("metadata")
        if kind is None:
            return Rendering()
    return Rendering()


def partial_metadata(obj: Obj) -> Obj:
    return {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": obj.get("metadata", {})}


# --------------------------------------------------------------------------- lists


def list_kind(info: KindInfo) -> str:
    return f"{info.kind}List"


def list_bytes(info: KindInfo, raw_items: list[str], rv: int, continue_token: str | None) -> bytes:
    """A list envelope around objects already serialised (no parsing on the fast path)."""
    meta: dict[str, str] = {"resourceVersion": str(rv)}
    if continue_token:
        meta["continue"] = continue_token
    head = json.dumps({"kind": list_kind(info), "apiVersion": info.api_version, "metadata": meta})
    return (head[:-1] + ',"items":[' + ",".join(raw_items) + "]}").encode()


def encode_continue(rv: int, key: tuple[str, str]) -> str:
    raw = json.dumps({"rv": rv, "start": list(key)}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_continue(token: str) -> tuple[int, tuple[str, str]]:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        data = json.loads(raw)
        start = data["start"]
        return int(data["rv"]), (str(start[0]), str(start[1]))
    except (ValueError, KeyError, IndexError, TypeError, binascii.Error):
        raise BadRequest(f'invalid continue token "{token[:40]}": list again without it') from None
