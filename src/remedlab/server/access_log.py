"""The server's access log: one JSON line per request (time, listener port, method, path, status, the
token's scope), as an API server's audit log at its simplest, in ``$REMEDLAB_HOME/access.log``."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from remedlab.paths import private_file
from remedlab.server.auth import SCOPE_KEY


def access_log_path(home: Path) -> Path:
    return home / "access.log"


class AccessLog:
    """ASGI middleware: records each HTTP request and WebSocket once it is answered."""

    def __init__(self, app: ASGIApp, path: Path) -> None:
        self.app = app
        self.path = path
        self._lock = threading.Lock()
        private_file(path)  # it names the admin's requests (chaos objects among them): not for pods to read
        self._file = path.open("a", buffering=1, encoding="utf-8")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        status = 0

        async def recorded(message: Message) -> None:
            nonlocal status
            if message["type"] in ("http.response.start", "websocket.accept"):
                status = int(message.get("status", 101))
            elif message["type"] == "websocket.close" and not status:
                status = 403
            await send(message)

        try:
            await self.app(scope, receive, recorded)
        finally:
            self._write(scope, status)

    def _write(self, scope: Scope, status: int) -> None:
        server = scope.get("server") or ("", 0)
        state: dict[str, Any] = scope.get("state") or {}
        line = {
            "t": round(time.time(), 3),
            "port": server[1],
            "method": scope.get("method", "WEBSOCKET"),
            "path": scope["path"],
            "status": status,
            "scope": state.get(SCOPE_KEY),
        }
        with self._lock:
            self._file.write(json.dumps(line) + "\n")
