"""`pods/portforward` over the WebSocket channel protocol, as the official Python client speaks it.

The ports come in the query (`ports=8080&ports=9090`, or `ports=8080,9090`). Each port gets two
channels, in the order of the query: data (2i) and error (2i+1); right after the upgrade each
channel carries a frame holding only its port, 2 bytes little-endian. Every port's connection to
the pod opens at once (one connection per port per WebSocket); the client's data frames go to it,
its bytes come back as data frames. When it fails the port's error channel carries the kubelet's
message. Once every port's connection has ended, the server closes the WebSocket (1000); a client
that closes first closes them all.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from functools import partial

from remedlab.cluster.apiserver.portforward_connection import PodConnection, PodPorts
from remedlab.cluster.apiserver.websocket_channels import SEND_ERRORS, ChannelSocket


async def serve_channels(channels: ChannelSocket, ports: PodPorts, port_numbers: Sequence[int]) -> None:
    """Forward each of `port_numbers` of the pod on its pair of channels until all end or the client leaves."""

    async def send(channel: int, data: bytes) -> None:
        with contextlib.suppress(*SEND_ERRORS):
            await channels.send(channel, data)

    async def nothing() -> None:
        return None  # a pod that closes its half: the channel protocol has no way to say so

    try:
        for index, port in enumerate(port_numbers):
            for channel in (2 * index, 2 * index + 1):
                await channels.send(channel, port.to_bytes(2, "little"))
    except SEND_ERRORS:
        return  # the client left at once

    async def forward(index: int, connection: PodConnection) -> None:
        message = await connection.run()
        if message is not None:
            await send(2 * index + 1, message.encode())

    connections = [PodConnection(ports, port, partial(send, 2 * i), nothing) for i, port in enumerate(port_numbers)]
    forwarding = [asyncio.create_task(forward(i, c)) for i, c in enumerate(connections)]
    receiving = asyncio.create_task(_receive(channels, connections))
    everything = asyncio.create_task(_all(forwarding))
    try:
        await asyncio.wait([everything, receiving], return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (*forwarding, receiving, everything):
            task.cancel()
        for task in (*forwarding, receiving, everything):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await channels.close()


async def _all(tasks: Sequence[asyncio.Task[None]]) -> None:
    await asyncio.gather(*tasks)


async def _receive(channels: ChannelSocket, connections: Sequence[PodConnection]) -> None:
    """Pass the client's data frames to their port's connection until the client leaves."""
    with contextlib.suppress(*SEND_ERRORS):
        while (frame := await channels.receive()) is not None:
            channel, data = frame
            if channel % 2 == 0 and channel // 2 < len(connections) and data:
                await connections[channel // 2].from_client(data)
