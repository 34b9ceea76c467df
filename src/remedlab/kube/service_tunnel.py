"""Reaching a Service of a cluster from this machine through the API's ``pods/portforward``: a local
port on 127.0.0.1 whose every connection goes, over its own WebSocket (``v4.channel.k8s.io``, as the
official Python client speaks it), to a ready pod behind the Service, picked afresh for each
connection from the Service's Endpoints, as a Service spreads its connections.

As on any cluster, forwarded connections enter the pod from its own loopback: a network fault on
the pod's interface does not slow them."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from urllib.parse import urlencode

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from remedlab.api.errors import NotFound
from remedlab.api.kinds import BY_KIND, api_path
from remedlab.kube.api_client import KubeApi

log = logging.getLogger(__name__)

PROTOCOL = "v4.channel.k8s.io"
DATA, ERROR = 0, 1
READ_BYTES = 65536


def pod_and_port(api: KubeApi, namespace: str, service: str, port: int, turn: int) -> tuple[str, int]:
    """A ready pod behind the Service's ``port`` and the port it listens on, taking turns."""
    svc = api.request("GET", api_path(BY_KIND["Service"], namespace, service))
    spec_port = next((p for p in svc["spec"].get("ports") or [] if int(p["port"]) == port), None)
    if spec_port is None:
        raise NotFound(f'service "{service}" has no port {port}')
    endpoints = api.request("GET", api_path(BY_KIND["Endpoints"], namespace, service))
    ready: list[tuple[str, int]] = []
    for subset in endpoints.get("subsets") or []:
        ports = subset.get("ports") or []
        match = next((p for p in ports if p.get("name") == spec_port.get("name")), ports[0] if ports else None)
        for address in subset.get("addresses") or []:
            target = address.get("targetRef") or {}
            if match is not None and target.get("kind") == "Pod":
                ready.append((str(target["name"]), int(match["port"])))
    if not ready:
        raise NotFound(f'service "{service}" has no ready endpoint for port {port}')
    return sorted(ready)[turn % len(ready)]


class ServiceTunnel:
    """A local port forwarding to ``service:port`` of ``namespace``."""

    def __init__(self, api: KubeApi, namespace: str, service: str, port: int) -> None:
        self.api = api
        self.namespace = namespace
        self.service = service
        self.port = port
        self.local_port = 0
        self._server: asyncio.Server | None = None
        self._turns = itertools.count()
        self._connections: set[asyncio.Task[None]] = set()

    async def start(self) -> int:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.local_port = int(self._server.sockets[0].getsockname()[1])
        return self.local_port

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            for task in list(self._connections):
                task.cancel()
            with contextlib.suppress(Exception):
                await self._server.wait_closed()
            self._server = None

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._connections.add(task)
        try:
            pod, port = await asyncio.to_thread(
                pod_and_port, self.api, self.namespace, self.service, self.port, next(self._turns)
            )
            async with self._open(pod, port) as socket:
                await _pipe(socket, reader, writer)
        except (OSError, ConnectionClosed, InvalidStatus, NotFound) as exc:
            log.info("a connection to %s/%s:%d ended: %s", self.namespace, self.service, self.port, exc)
        except asyncio.CancelledError:
            pass
        finally:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()
            if task is not None:
                self._connections.discard(task)

    def _open(self, pod: str, port: int) -> connect:
        path = api_path(BY_KIND["Pod"], self.namespace, pod, "portforward")
        base = self.api.creds.server.replace("https://", "wss://", 1).replace("http://", "ws://", 1)
        return connect(
            f"{base}{path}?{urlencode({'ports': port})}",
            subprotocols=[PROTOCOL],  # type: ignore[list-item]
            ssl=self.api.ssl if base.startswith("wss://") else None,
            additional_headers={k: v for k, v in self.api.headers.items() if k != "Accept"},
            open_timeout=self.api.timeout,
            max_size=None,
        )


async def _pipe(socket: ClientConnection, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Bytes both ways until either side ends; the first frame of each channel is only its port."""

    async def upstream() -> None:
        while data := await reader.read(READ_BYTES):
            await socket.send(bytes([DATA]) + data)
        await socket.close()

    async def downstream() -> None:
        announced: set[int] = set()
        async for frame in socket:
            data = frame.encode() if isinstance(frame, str) else frame
            if not data:
                continue
            channel, payload = data[0], data[1:]
            if channel not in announced:
                announced.add(channel)  # the channel's port, 2 bytes
                payload = payload[2:]
            if channel == DATA and payload:
                writer.write(payload)
                await writer.drain()
            elif channel == ERROR and payload:
                log.info("port-forward: %s", payload.decode(errors="replace").strip())

    tasks = [asyncio.create_task(upstream()), asyncio.create_task(downstream())]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, ConnectionClosed, OSError):
                await task
