"""Request bodies in Kubernetes' protobuf encoding, read into the JSON form the handlers take.

client-go's typed clients send built-in kinds as ``application/vnd.kubernetes.protobuf``
(kubectl's ``auth can-i`` posts a SelfSubjectAccessReview that way, ``drain`` an Eviction).
The body is the 4-byte magic ``k8s\\0`` and a ``runtime.Unknown`` envelope
(typeMeta, raw object bytes). This module reads the protobuf wire format for the
kinds that clients send to remedlab as protobuf; answers always go out as JSON, which
every client accepts.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

from remedlab.api.errors import BadRequest, UnsupportedMediaType

MAGIC = b"k8s\x00"


@dataclass(frozen=True)
class Field:
    name: str
    type: str  # "string" | "int" | "bool" | "bytes" | "message" | "map" (entries of ``message``)
    message: str = ""
    repeated: bool = False


Schema = dict[int, Field]

SCHEMAS: dict[str, Schema] = {
    "TypeMeta": {1: Field("apiVersion", "string"), 2: Field("kind", "string")},
    "Unknown": {
        1: Field("typeMeta", "message", "TypeMeta"),
        2: Field("raw", "bytes"),
        3: Field("contentEncoding", "string"),
        4: Field("contentType", "string"),
    },
    "ObjectMeta": {
        1: Field("name", "string"),
        2: Field("generateName", "string"),
        3: Field("namespace", "string"),
        5: Field("uid", "string"),
        6: Field("resourceVersion", "string"),
        11: Field("labels", "map", "StringEntry"),
        12: Field("annotations", "map", "StringEntry"),
    },
    "StringEntry": {1: Field("key", "string"), 2: Field("value", "string")},
    "BytesEntry": {1: Field("key", "string"), 2: Field("value", "bytes")},
    "NamespaceSpec": {1: Field("finalizers", "string", repeated=True)},
    "Namespace": {1: Field("metadata", "message", "ObjectMeta"), 2: Field("spec", "message", "NamespaceSpec")},
    "ConfigMap": {
        1: Field("metadata", "message", "ObjectMeta"),
        2: Field("data", "map", "StringEntry"),
        3: Field("binaryData", "map", "BytesEntry"),
        4: Field("immutable", "bool"),
    },
    "Secret": {
        1: Field("metadata", "message", "ObjectMeta"),
        2: Field("data", "map", "BytesEntry"),
        3: Field("type", "string"),
        4: Field("stringData", "map", "StringEntry"),
        5: Field("immutable", "bool"),
    },
    "LabelSelectorAttributes": {1: Field("rawSelector", "string")},
    "FieldSelectorAttributes": {1: Field("rawSelector", "string")},
    "ResourceAttributes": {
        1: Field("namespace", "string"),
        2: Field("verb", "string"),
        3: Field("group", "string"),
        4: Field("version", "string"),
        5: Field("resource", "string"),
        6: Field("subresource", "string"),
        7: Field("name", "string"),
        8: Field("fieldSelector", "message", "FieldSelectorAttributes"),
        9: Field("labelSelector", "message", "LabelSelectorAttributes"),
    },
    "NonResourceAttributes": {1: Field("path", "string"), 2: Field("verb", "string")},
    "SelfSubjectAccessReviewSpec": {
        1: Field("resourceAttributes", "message", "ResourceAttributes"),
        2: Field("nonResourceAttributes", "message", "NonResourceAttributes"),
    },
    "SelfSubjectAccessReview": {
        1: Field("metadata", "message", "ObjectMeta"),
        2: Field("spec", "message", "SelfSubjectAccessReviewSpec"),
    },
    "Preconditions": {1: Field("uid", "string"), 2: Field("resourceVersion", "string")},
    "DeleteOptions": {
        1: Field("gracePeriodSeconds", "int"),
        2: Field("preconditions", "message", "Preconditions"),
        3: Field("orphanDependents", "bool"),
        4: Field("propagationPolicy", "string"),
        5: Field("dryRun", "string", repeated=True),
    },
    "Eviction": {
        1: Field("metadata", "message", "ObjectMeta"),
        2: Field("deleteOptions", "message", "DeleteOptions"),
    },
    # ServiceAccounts, their tokens and RBAC (`kubectl create serviceaccount|token|role|rolebinding`)
    "LocalObjectReference": {1: Field("name", "string")},
    "ObjectReference": {
        1: Field("kind", "string"),
        2: Field("namespace", "string"),
        3: Field("name", "string"),
        4: Field("uid", "string"),
        5: Field("apiVersion", "string"),
    },
    "ServiceAccount": {
        1: Field("metadata", "message", "ObjectMeta"),
        2: Field("secrets", "message", "ObjectReference", repeated=True),
        3: Field("imagePullSecrets", "message", "LocalObjectReference", repeated=True),
        4: Field("automountServiceAccountToken", "bool"),
    },
    "BoundObjectReference": {
        1: Field("kind", "string"),
        2: Field("apiVersion", "string"),
        3: Field("name", "string"),
        4: Field("uid", "string"),
    },
    "TokenRequestSpec": {
        1: Field("audiences", "string", repeated=True),
        3: Field("boundObjectRef", "message", "BoundObjectReference"),
        4: Field("expirationSeconds", "int"),
    },
    "TokenRequest": {
        1: Field("metadata", "message", "ObjectMeta"),
        2: Field("spec", "message", "TokenRequestSpec"),
    },
    "PolicyRule": {
        1: Field("verbs", "string", repeated=True),
        2: Field("apiGroups", "string", repeated=True),
        3: Field("resources", "string", repeated=True),
        4: Field("resourceNames", "string", repeated=True),
        5: Field("nonResourceURLs", "string", repeated=True),
    },
    "Role": {1: Field("metadata", "message", "ObjectMeta"), 2: Field("rules", "message", "PolicyRule", repeated=True)},
    "ClusterRole": {
        1: Field("metadata", "message", "ObjectMeta"),
        2: Field("rules", "message", "PolicyRule", repeated=True),
    },
    "Subject": {
        1: Field("kind", "string"),
        2: Field("apiGroup", "string"),
        3: Field("name", "string"),
        4: Field("namespace", "string"),
    },
    "RoleRef": {1: Field("apiGroup", "string"), 2: Field("kind", "string"), 3: Field("name", "string")},
    "RoleBinding": {
        1: Field("metadata", "message", "ObjectMeta"),
        2: Field("subjects", "message", "Subject", repeated=True),
        3: Field("roleRef", "message", "RoleRef"),
    },
    "ClusterRoleBinding": {
        1: Field("metadata", "message", "ObjectMeta"),
        2: Field("subjects", "message", "Subject", repeated=True),
        3: Field("roleRef", "message", "RoleRef"),
    },
}


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(data):
            raise ValueError("truncated varint")
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7


def decode_message(data: bytes, schema_name: str) -> dict[str, Any]:
    """A protobuf message of the named schema as JSON (unknown fields are skipped)."""
    schema = SCHEMAS[schema_name]
    out: dict[str, Any] = {}
    pos = 0
    while pos < len(data):
        tag, pos = _varint(data, pos)
        number, wire = tag >> 3, tag & 7
        if wire == 0:
            value, pos = _varint(data, pos)
            raw: Any = value
        elif wire == 2:
            length, pos = _varint(data, pos)
            raw = data[pos : pos + length]
            pos += length
        elif wire == 1:
            raw, pos = data[pos : pos + 8], pos + 8
        elif wire == 5:
            raw, pos = data[pos : pos + 4], pos + 4
        else:
            raise ValueError(f"unsupported wire type {wire}")
        field = schema.get(number)
        if field is None:
            continue
        if field.type == "map":
            entry = decode_message(bytes(raw), field.message)
            out.setdefault(field.name, {})[entry.get("key", "")] = entry.get("value", "")
            continue
        value_out: Any
        if field.type == "string":
            value_out = bytes(raw).decode()
        elif field.type == "bytes":
            value_out = base64.b64encode(bytes(raw)).decode()
        elif field.type == "int":
            value_out = raw - (1 << 64) if raw >= 1 << 63 else raw
        elif field.type == "bool":
            value_out = bool(raw)
        else:
            value_out = decode_message(bytes(raw), field.message)
        if field.repeated:
            out.setdefault(field.name, []).append(value_out)
        else:
            out[field.name] = value_out
    return out


def decode_body(body: bytes, kind: str) -> dict[str, Any]:
    """A protobuf request body (magic + runtime.Unknown) as the JSON object of ``kind``."""
    if kind not in SCHEMAS:
        raise UnsupportedMediaType(
            f"{kind} objects are not read as application/vnd.kubernetes.protobuf: send application/json"
        )
    if not body.startswith(MAGIC):
        raise BadRequest("the protobuf body lacks the k8s envelope")
    try:
        envelope = decode_message(body[len(MAGIC) :], "Unknown")
        obj = decode_message(base64.b64decode(envelope.get("raw", "")), kind)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadRequest(f"the protobuf body of the {kind} cannot be read: {exc}") from None
    type_meta = envelope.get("typeMeta") or {}
    obj["kind"] = type_meta.get("kind") or kind
    if type_meta.get("apiVersion"):
        obj["apiVersion"] = type_meta["apiVersion"]
    return obj
