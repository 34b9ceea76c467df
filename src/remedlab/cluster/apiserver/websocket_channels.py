"""The WebSocket side the streaming subresources share (`pods/exec`, `pods/portforward`).

Kubernetes' channel protocols number the streams of one WebSocket: each frame starts with its
channel. Binary variants (`v5.channel.k8s.io`, `v4.channel.k8s.io`, `channel.k8s.io`): binary
frames, one channel byte then the data; text frames from the client are read as their UTF-8 bytes,
as the official Python client sends them. Base64 variants (`v4.base64.channel.k8s.io`,
`base64.channel.k8s.io`): text frames, the channel as an ASCII digit then the data in base64.

Before the upgrade a request can still be refused with an HTTP Status (`refuse`); after it, each
subresource reports errors its own way, on a channel.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
from collections.abc import Sequence

from starlette.websockets import WebSocket, WebSocketDisconnect

from remedlab.api.errors import ClusterError
from remedlab.cluster.apiserver.responses import error_response

V5 = "v5.channel.k8s.io"
V4 = "v4.channel.k8s.io"
V4_BASE64 = "v4.base64.channel.k8s.io"
V1 = "channel.k8s.io"
V1_BASE64 = "base64.channel.k8s.io"
TEXT_FRAMES = (V4_BASE64, V1_BASE64)

SEND_ERRORS = (WebSocketDisconnect, RuntimeError, OSError)
"""What sending to a client that has gone raises."""


def offered_protocols(websocket: WebSocket) -> list[str]:
    """The subprotocols the client offers, in its order of preference."""
    return list(websocket.scope.get("subprotocols") or [])


def first_served(offered: Sequence[str], served: Sequence[str]) -> str | None:
    """The first offered subprotocol that is served (None: none offered, or none fits)."""
    return next((p for p in offered if p in served), None)


async def next_message(websocket: WebSocket) -> bytes | None:
    """The next message from the client as bytes (text as its UTF-8); None once the client has gone."""
    message = await websocket.receive()
    if message["type"] == "websocket.disconnect":
        return None
    data: bytes | None = message.get("bytes")
    if data is None:
        data = (message.get("text") or "").encode()
    return data


class ChannelSocket:
    """Frames on one WebSocket, by channel, in the negotiated channel subprotocol."""

    def __init__(self, websocket: WebSocket, protocol: str) -> None:
        self.websocket = websocket
        self.protocol = protocol
        self.text = protocol in TEXT_FRAMES

    async def send(self, channel: int, data: bytes) -> None:
        if self.text:
            await self.websocket.send_text(chr(ord("0") + channel) + base64.b64encode(data).decode("ascii"))
        else:
            await self.websocket.send_bytes(bytes([channel]) + data)

    async def receive(self) -> tuple[int, bytes] | None:
        """The next frame from the client: (channel, data); None once it has gone."""
        while True:
            frame = await next_message(self.websocket)
            if frame is None:
                return None
            if not frame:
                continue
            if not self.text:
                return frame[0], frame[1:]
            with contextlib.suppress(binascii.Error, ValueError):
                return frame[0] - ord("0"), base64.b64decode(frame[1:], validate=True)

    async def close(self) -> None:
        """Close the connection normally (1000); nothing to do when the client has gone."""
        with contextlib.suppress(*SEND_ERRORS):
            await self.websocket.close(1000)


async def refuse(websocket: WebSocket, error: ClusterError) -> None:
    """Refuse the upgrade: an HTTP Status when the server can send one, else a policy close."""
    if "websocket.http.response" in websocket.scope.get("extensions", {}):
        await websocket.send_denial_response(error_response(error))
    else:
        await websocket.close(code=1002, reason=error.message[:120])
