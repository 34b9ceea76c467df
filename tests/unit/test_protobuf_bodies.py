"""Request bodies in Kubernetes' protobuf encoding (what client-go's typed clients send) read as JSON."""

from __future__ import annotations

import pytest

from remedlab.api.errors import UnsupportedMediaType
from remedlab.cluster.apiserver.protobuf import MAGIC, decode_body


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _field(number: int, payload: bytes | int) -> bytes:
    if isinstance(payload, int):
        return _varint(number << 3) + _varint(payload)
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def _envelope(api_version: str, kind: str, raw: bytes) -> bytes:
    type_meta = _field(1, api_version.encode()) + _field(2, kind.encode())
    return MAGIC + _field(1, type_meta) + _field(2, raw)


def test_an_access_review_as_kubectl_auth_can_i_sends_it() -> None:
    attributes = _field(1, b"default") + _field(2, b"delete") + _field(5, b"pods")
    review = _field(1, b"") + _field(2, _field(1, attributes))
    body = decode_body(
        _envelope("authorization.k8s.io/v1", "SelfSubjectAccessReview", review), "SelfSubjectAccessReview"
    )
    assert body == {
        "metadata": {},
        "spec": {"resourceAttributes": {"namespace": "default", "verb": "delete", "resource": "pods"}},
        "kind": "SelfSubjectAccessReview",
        "apiVersion": "authorization.k8s.io/v1",
    }


def test_maps_bytes_and_numbers() -> None:
    meta = _field(1, b"settings") + _field(11, _field(1, b"app") + _field(2, b"web"))
    secret = _field(1, meta) + _field(2, _field(1, b"password") + _field(2, b"s3cret")) + _field(3, b"Opaque")
    body = decode_body(_envelope("v1", "Secret", secret), "Secret")
    assert body["metadata"] == {"name": "settings", "labels": {"app": "web"}}
    assert body["data"] == {"password": "czNjcmV0"} and body["type"] == "Opaque"
    options = _field(1, 30) + _field(4, b"Foreground") + _field(5, b"All")
    eviction = decode_body(_envelope("policy/v1", "Eviction", _field(2, options)), "Eviction")
    assert eviction["deleteOptions"] == {"gracePeriodSeconds": 30, "propagationPolicy": "Foreground", "dryRun": ["All"]}


def test_kinds_not_read_as_protobuf_say_to_send_json() -> None:
    with pytest.raises(UnsupportedMediaType, match="send application/json"):
        decode_body(MAGIC, "Deployment")
