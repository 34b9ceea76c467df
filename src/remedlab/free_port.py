"""A port free on a loopback address now, for a program that binds it itself soon after (a server whose
command line must name its port). Where the caller can bind and hand over the socket, it should."""

from __future__ import annotations

import socket


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])
