"""Talking to a running server from the `remedlab` command, and starting one if none answers."""

from __future__ import annotations

import ipaddress
import json
import os
import subprocess
import sys
import time
from typing import Any

import httpx

from remedlab import paths
from remedlab.server.serve import DEFAULT_PORT, server_record_path
from remedlab.tokens import client_token


def is_loopback_url(url: str) -> bool:
    host = httpx.URL(url).host
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class ServerError(Exception):
    """The server answered with a failure, or could not be reached."""


def server_url() -> str:
    env = os.environ.get("REMEDLAB_SERVER")
    if env:
        return env.rstrip("/")
    record = server_record_path()
    if record.exists():
        try:
            return str(json.loads(record.read_text())["url"])
        except (ValueError, KeyError):
            pass
    return f"http://127.0.0.1:{DEFAULT_PORT}"


def _headers() -> dict[str, str]:
    try:
        token = client_token(paths.home())
    except OSError as exc:
        raise ServerError(f"cannot read $REMEDLAB_TOKEN_FILE: {exc.strerror}") from None
    return {"Authorization": f"Bearer {token}"} if token else {}


class ServerClient:
    def __init__(self, url: str | None = None, timeout: float = 30.0) -> None:
        self.url = (url or server_url()).rstrip("/")
        self.http = httpx.Client(base_url=self.url, timeout=timeout, headers=_headers())

    def alive(self) -> bool:
        try:
            return self.http.get("/healthz", timeout=1.0).status_code == 200
        except httpx.HTTPError:
            return False

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        if "authorization" not in self.http.headers:
            # a server this command just started wrote its tokens after the client was made
            self.http.headers.update(_headers())
        try:
            response = self.http.request(method, path, **kwargs)
        except httpx.ConnectError:
            raise ServerError(f"no remedlab server answers at {self.url}: start one with `remedlab serve`") from None
        except httpx.TimeoutException:
            raise ServerError(f"the server at {self.url} did not answer in time") from None
        if response.status_code >= 400:
            try:
                message = response.json().get("message") or response.text
            except ValueError:
                message = response.text
            raise ServerError(str(message))
        if response.headers.get("content-type", "").startswith("application/json"):
            return response.json()
        return response.text

    def close(self) -> None:
        self.http.close()


def ensure_server(client: ServerClient, timeout: float = 30.0) -> bool:
    """Start `remedlab serve` in the background when nothing answers on this host; True if one was started.
    A server named on another host is never started here: the caller's request then says that none answers."""
    if client.alive() or not is_loopback_url(client.url):
        return False
    home = paths.ensure_home()
    log = paths.private_file(home / "server.log").open("ab")
    port = client.url.rsplit(":", 1)[-1].split("/")[0]
    subprocess.Popen(
        [sys.executable, "-m", "remedlab.cli.main", "serve", "--port", port],
        stdout=log,
        stderr=log,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if client.alive():
            return True
        time.sleep(0.05)
    raise ServerError(f"the server did not start within {timeout:g}s: see {home / 'server.log'}")
