"""The server's HTTPS listener: the same application on a second port, with the cluster's serving
certificate. Kubernetes clients (kubectl, the official clients) send bearer tokens only over TLS, so
kubeconfigs point here; the plain-HTTP port stays for remedlab's own clients and MicroRemed-CS ones."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Iterator

import uvicorn
from starlette.types import ASGIApp

from remedlab.cluster.apiserver.certificates import ServingCertificates
from remedlab.server.websocket_protocol import KubernetesWebSocketProtocol


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on ``host:port`` (port 0: one the system picks); OSError when it is taken."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    sock.listen(512)
    sock.set_inheritable(True)
    return sock


GRACEFUL_SECONDS = 2
"""How long a stop waits for requests in flight (watches, log follows) before closing them."""


class _Server(uvicorn.Server):
    """A uvicorn server that leaves signals to the main one (which stops this one on shutdown)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class TlsListener:
    def __init__(self, sock: socket.socket, certificates: ServingCertificates) -> None:
        self.sock = sock
        self.certificates = certificates
        self._server: _Server | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def port(self) -> int:
        return int(self.sock.getsockname()[1])

    async def start(self, app: ASGIApp) -> None:
        config = uvicorn.Config(
            app,
            ssl_certfile=str(self.certificates.cert),
            ssl_keyfile=str(self.certificates.key),
            lifespan="off",
            log_level="warning",
            access_log=False,
            timeout_graceful_shutdown=GRACEFUL_SECONDS,
            ws=KubernetesWebSocketProtocol,
        )
        self._server = _Server(config)
        self._task = asyncio.create_task(self._server.serve(sockets=[self.sock]))

    async def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self.sock.close()
