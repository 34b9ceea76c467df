"""`pods/portforward`: the upgrade, and which protocol the forwarded connections then travel in.

    GET /api/v1/namespaces/{namespace}/pods/{name}/portforward[?ports=8080[&ports=...]]

The subprotocol is the first of those the client offers that is served:

- `SPDY/3.1+portforward.k8s.io`: kubectl's (1.31+), SPDY/3.1 tunnelled through the WebSocket, the
  ports in each connection's streams (`portforward_spdy`);
- `v4.channel.k8s.io` and `v4.base64.channel.k8s.io`: the official clients', a pair of channels per
  port of the query (`portforward_channels`); the binary variant when the client offers none.

kubectl falls back to a SPDY/3.1 HTTP upgrade (POST) only when the WebSocket upgrade fails; that
is not served: such a request gets the reason the WebSocket upgrade failed, or "Upgrade request
required" (400).

Refused before the upgrade, with an HTTP Status: subprotocols none of which is served, ports that
are not numbers from 1 to 65535, no ports for the channel protocols, and what the node says of the
pod (no such pod, no node assigned, not running there: `PortForwardOpener`). Each forwarded
connection is a TCP connection from the server to the pod's IP, a loopback address, at that port.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NoReturn, Protocol

from starlette.datastructures import QueryParams
from starlette.websockets import WebSocket

from remedlab.api.errors import BadRequest, ClusterError
from remedlab.cluster.apiserver.portforward_channels import serve_channels
from remedlab.cluster.apiserver.portforward_connection import PodPorts
from remedlab.cluster.apiserver.portforward_spdy import SpdyPortForward
from remedlab.cluster.apiserver.websocket_channels import (
    V4,
    V4_BASE64,
    ChannelSocket,
    first_served,
    offered_protocols,
    refuse,
)

SPDY_TUNNEL = "SPDY/3.1+portforward.k8s.io"
PROTOCOLS = (SPDY_TUNNEL, V4, V4_BASE64)


class PortForwardOpener(Protocol):
    """The node's view of a pod's ports (the kubelet's `open_port_forward`); raises ClusterErrors."""

    def __call__(self, namespace: str, pod: str) -> PodPorts: ...


def parse_ports(values: Sequence[str]) -> list[int]:
    """The ports of a `ports` query (repeated, or comma-separated), as kube-apiserver reads them."""
    ports: list[int] = []
    for value in values:
        if not value:
            raise BadRequest('query parameter "ports" cannot be empty: give a port number, e.g. ports=8080')
        for text in value.split(","):
            digits = text.strip()
            if not (digits.isascii() and digits.isdigit()) or int(digits) > 0xFFFF:
                raise BadRequest(f'unable to parse "{text}" as a port: ports are numbers from 1 to 65535')
            if int(digits) < 1:
                raise BadRequest(f'port "{text}" must be > 0')
            ports.append(int(digits))
    return ports


async def serve_portforward(websocket: WebSocket, namespace: str, pod: str, open_ports: PortForwardOpener) -> None:
    """Serve one `pods/portforward` WebSocket: refuse it, or upgrade and forward until the client leaves."""
    offered = offered_protocols(websocket)
    protocol = first_served(offered, PROTOCOLS)
    try:
        if offered and protocol is None:
            raise BadRequest(f"requested protocol(s) are not supported: {offered}; supports {list(PROTOCOLS)}")
        port_numbers = parse_ports(websocket.query_params.getlist("ports"))
        if protocol != SPDY_TUNNEL and not port_numbers:
            raise BadRequest('query parameter "ports" is required: the pod\'s ports to forward, e.g. ?ports=8080')
        ports = open_ports(namespace, pod)
    except ClusterError as exc:
        await refuse(websocket, exc)
        return
    await websocket.accept(subprotocol=protocol)
    if protocol == SPDY_TUNNEL:
        await SpdyPortForward(websocket, ports).serve()
    else:
        await serve_channels(ChannelSocket(websocket, protocol or V4), ports, port_numbers)


def refuse_without_upgrade(query: QueryParams, namespace: str, pod: str, open_ports: PortForwardOpener) -> NoReturn:
    """A `pods/portforward` request that is no WebSocket upgrade (kubectl's SPDY fallback, say): the
    reason a WebSocket upgrade would fail if there is one, else 400 "Upgrade request required"."""
    parse_ports(query.getlist("ports"))
    open_ports(namespace, pod)
    raise BadRequest(
        f"Upgrade request required: pods/portforward is served over WebSocket ({SPDY_TUNNEL} for kubectl, "
        f"{V4} for the official clients)"
    )
