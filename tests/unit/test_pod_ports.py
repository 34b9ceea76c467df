"""The node's side of `pods/portforward`: TCP connections to a pod's IP, only ever a loopback one."""

from __future__ import annotations

import asyncio
import socket

import pytest

from remedlab.cluster.node.pod_ports import PodPortDialer


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_connects_to_the_pods_ip_and_port() -> None:
    async def scenario() -> bytes:
        async def answer(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            writer.write(b"hello from the pod")
            await writer.drain()
            writer.close()

        server = await asyncio.start_server(answer, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        async with server:
            reader, writer = await PodPortDialer("web_shop", "uid-1", "127.0.0.1").connect(port)
            data = await reader.read()
            writer.close()
            return data

    assert asyncio.run(scenario()) == b"hello from the pod"


def test_a_refused_port_is_worded_as_gos_dialer_words_it() -> None:
    port = _closed_port()
    with pytest.raises(OSError) as refused:
        asyncio.run(PodPortDialer("web_shop", "uid-1", "127.0.0.1").connect(port))
    assert str(refused.value) == f"dial tcp 127.0.0.1:{port}: connect: connection refused"


@pytest.mark.parametrize("ip", ["10.0.0.1", "192.168.1.1", "::ffff:8.8.8.8", "", "not-an-ip"])
def test_only_loopback_addresses_are_dialled(ip: str) -> None:
    with pytest.raises(OSError, match="not a loopback address"):
        asyncio.run(PodPortDialer("web_shop", "uid-1", ip).connect(80))
