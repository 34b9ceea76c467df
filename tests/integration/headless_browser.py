"""Debian's Chromium, headless, driven over the DevTools protocol: open a page, collect its console
errors and uncaught exceptions, evaluate script in it and take screenshots. The browser runs in its
own process group with a fresh profile, listens on loopback only, and is killed on close."""

from __future__ import annotations

import base64
import contextlib
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
from websockets.sync.client import ClientConnection, connect

CHROMIUM = "/usr/bin/chromium"
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--remote-debugging-address=127.0.0.1",
    "--remote-debugging-port=0",
)


class BrowserError(AssertionError):
    pass


class Page:
    def __init__(self, socket: ClientConnection) -> None:
        self.socket = socket
        self.next_id = 0
        self.events: list[dict[str, Any]] = []

    def send(self, method: str, timeout: float = 30.0, **params: Any) -> dict[str, Any]:
        self.next_id += 1
        ident = self.next_id
        self.socket.send(json.dumps({"id": ident, "method": method, "params": params}))
        deadline = time.monotonic() + timeout
        while True:
            message = json.loads(self.socket.recv(timeout=max(0.01, deadline - time.monotonic())))
            if message.get("id") == ident:
                if "error" in message:
                    raise BrowserError(f"{method}: {message['error']}")
                result: dict[str, Any] = message.get("result") or {}
                return result
            if "method" in message:
                self.events.append(message)

    def wait_event(self, method: str, timeout: float = 30.0) -> dict[str, Any]:
        for event in self.events:
            if event["method"] == method:
                self.events.remove(event)
                return event
        deadline = time.monotonic() + timeout
        while True:
            message: dict[str, Any] = json.loads(self.socket.recv(timeout=max(0.01, deadline - time.monotonic())))
            if message.get("method") == method:
                return message
            if "method" in message:
                self.events.append(message)

    def evaluate(self, expression: str, timeout: float = 30.0) -> Any:
        """The value of a script expression (a promise is awaited); an exception fails."""
        answer = self.send("Runtime.evaluate", timeout, expression=expression, awaitPromise=True, returnByValue=True)
        if "exceptionDetails" in answer:
            raise BrowserError(f"{expression[:80]}: {answer['exceptionDetails']}")
        return answer.get("result", {}).get("value")

    def errors(self) -> list[str]:
        """Console errors, uncaught exceptions and error log entries seen so far."""
        self.send("Runtime.evaluate", expression="0")  # gathers the events sent before it
        out = []
        for event in self.events:
            params = event.get("params") or {}
            if event["method"] == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
                out.append(" ".join(str(a.get("value", a.get("description"))) for a in params.get("args") or []))
            elif event["method"] == "Runtime.exceptionThrown":
                details = params.get("exceptionDetails") or {}
                out.append(str((details.get("exception") or {}).get("description") or details.get("text")))
            elif event["method"] == "Log.entryAdded" and (params.get("entry") or {}).get("level") == "error":
                out.append(str(params["entry"].get("text")))
        return out

    def open(self, url: str, timeout: float = 30.0) -> float:
        """Load a page; the seconds until its load event."""
        began = time.monotonic()
        self.send("Page.navigate", url=url)
        self.wait_event("Page.loadEventFired", timeout)
        return time.monotonic() - began

    def screenshot(self, path: Path) -> Path:
        data = self.send("Page.captureScreenshot", format="png")["data"]
        path.write_bytes(base64.b64decode(data))
        return path


@contextlib.contextmanager
def headless_page(width: int = 1400, height: int = 1000) -> Iterator[Page]:
    """A fresh headless Chromium with one blank page, ready to collect errors."""
    if not os.path.exists(CHROMIUM):
        raise BrowserError(f"{CHROMIUM} is missing: `make setup` installs Debian's chromium")
    profile = Path(tempfile.mkdtemp(prefix="remedlab-chromium-"))
    log = (profile / "chromium.log").open("w")
    process = subprocess.Popen(
        [CHROMIUM, *FLAGS, f"--user-data-dir={profile}", f"--window-size={width},{height}", "about:blank"],
        stdout=log,
        stderr=log,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 30
        port_file = profile / "DevToolsActivePort"
        while not (port_file.exists() and port_file.read_text().strip()):
            if process.poll() is not None:
                raise BrowserError(
                    f"chromium exited with {process.returncode}: {(profile / 'chromium.log').read_text()}"
                )
            if time.monotonic() > deadline:
                raise BrowserError("chromium did not open its DevTools port in 30 s")
            time.sleep(0.05)
        port = int(port_file.read_text().split()[0])
        targets = httpx.get(f"http://127.0.0.1:{port}/json/list", timeout=10).json()
        url = next(t["webSocketDebuggerUrl"] for t in targets if t.get("type") == "page")
        with connect(url, max_size=None, open_timeout=10) as socket:
            page = Page(socket)
            for domain in ("Runtime", "Log", "Page"):
                page.send(f"{domain}.enable")
            page.send(
                "Emulation.setDeviceMetricsOverride", width=width, height=height, deviceScaleFactor=1, mobile=False
            )
            yield page
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(10)
        log.close()
        shutil.rmtree(profile, ignore_errors=True)
