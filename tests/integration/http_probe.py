"""Requests to an app from the test, the way a user or an SRE with curl would make them."""

from __future__ import annotations

import json
import random
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from remedlab.apps.catalog import get_app
from tests.integration.server_harness import ServerProcess, running_server


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirect())


@dataclass(frozen=True)
class Answer:
    status: int
    text: str
    seconds: float
    headers: dict[str, str]

    def json(self) -> Any:
        return json.loads(self.text)


def fetch(
    url: str,
    *,
    method: str = "GET",
    headers: dict[str, str] | None = None,
    form: dict[str, str] | None = None,
    json_body: Any = None,
    timeout: float = 15.0,
) -> Answer:
    """One request; HTTP errors and redirects are answers too (status, body, time taken)."""
    data = urllib.parse.urlencode(form).encode() if form is not None else None
    if json_body is not None:
        data = json.dumps(json_body).encode()
    request = urllib.request.Request(url, data=data, method=method, headers=dict(headers or {}))
    if json_body is not None:
        request.add_header("Content-Type", "application/json")
    if form is not None:
        request.add_header("Content-Type", "application/x-www-form-urlencoded")
    started = time.perf_counter()
    try:
        with _OPENER.open(request, timeout=timeout) as resp:
            body = resp.read().decode(errors="replace")
            return Answer(resp.status, body, time.perf_counter() - started, dict(resp.headers))
    except urllib.error.HTTPError as exc:
        body = exc.read().decode(errors="replace")
        return Answer(exc.code, body, time.perf_counter() - started, dict(exc.headers or {}))
    except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
        return Answer(0, str(exc), time.perf_counter() - started, {})


@contextmanager
def deployed_app(app: str, service: str, port: int) -> Iterator[tuple[ServerProcess, str]]:
    """A fresh server with `app` deployed and Ready, and the base URL of its `service`; cleaned up after."""
    started = time.monotonic()
    with running_server(app) as server:
        print(f"{app} Ready in {time.monotonic() - started:.2f}s")
        namespace = get_app(app).namespace
        ip = server.get("services", namespace, service)["spec"]["clusterIP"]
        yield server, f"http://{ip}:{port}"


def call(url: str, headers: dict[str, str] | None = None) -> tuple[int, Any]:
    """GET a JSON answer: (status, decoded body)."""
    answer = fetch(url, headers=headers)
    return answer.status, answer.json()


def new_traceparent() -> tuple[str, str]:
    """(trace id, traceparent header) of a fresh sampled trace whose root is the test."""
    trace_id = f"{random.getrandbits(128):032x}"
    return trace_id, f"00-{trace_id}-{random.getrandbits(64) | 1:016x}-01"


def trace_of(server: ServerProcess, trace_id: str, spans: int) -> dict[str, Any] | None:
    """The stored trace once it holds at least `spans` spans, else None."""
    status, body = server.request("GET", f"/v1/traces/{trace_id}")
    if status == 200 and len(body["spans"]) >= spans:
        return dict(body)
    return None


def trace_with_servers(
    server: ServerProcess, trace_id: str, services: set[str], spans: int = 1
) -> dict[str, Any] | None:
    """The stored trace once every one of `services` has its SERVER span in it (pods send on their own schedule)."""
    trace = trace_of(server, trace_id, spans)
    served = {s["service"] for s in trace["spans"] if s["kind"] == "SERVER"} if trace else set()
    return trace if services <= served else None
