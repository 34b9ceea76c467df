"""uvicorn's WebSocket protocol, taking the subprotocol names Kubernetes clients offer.

kubectl's port-forward offers `SPDY/3.1+portforward.k8s.io`, which the token grammar of RFC 6455
does not allow (`/`): the `websockets` handshake answers 400 before the application sees the
request, where kube-apiserver (gorilla/websocket) splits the header on commas and takes it. This
protocol keeps such a header from that check and hands the application the names as offered; the
one the application accepts goes back in the response, as for any other.
"""

from __future__ import annotations

import string

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.datastructures import Headers
from websockets.http11 import Request

SUBPROTOCOL_HEADER = "Sec-WebSocket-Protocol"
_TOKEN_CHARS = frozenset(string.ascii_letters + string.digits + "!#$%&'*+-.^_`|~")


def offered_subprotocols(headers: Headers) -> list[str]:
    """The subprotocol names of a handshake, split on commas as kube-apiserver splits them."""
    return [name.strip() for value in headers.get_all(SUBPROTOCOL_HEADER) for name in value.split(",") if name.strip()]


def is_token(name: str) -> bool:
    return bool(name) and all(c in _TOKEN_CHARS for c in name)


class KubernetesWebSocketProtocol(WebSocketsSansIOProtocol):
    """uvicorn's websockets-sansio protocol, lenient on subprotocol names as kube-apiserver is."""

    def handle_connect(self, event: Request) -> None:
        offered = offered_subprotocols(event.headers)
        if all(is_token(name) for name in offered):
            super().handle_connect(event)
            return
        checked = Headers([(k, v) for k, v in event.headers.raw_items() if k.lower() != SUBPROTOCOL_HEADER.lower()])
        super().handle_connect(Request(event.path, checked))
        scope = getattr(self, "scope", None)
        if scope is not None:  # the handshake went on: the application sees the request as it came
            scope["subprotocols"] = offered
            scope["headers"] = [(k.encode("ascii"), v.encode("latin-1")) for k, v in event.headers.raw_items()]
