"""A route that fails inside the server answers 500 with a one-line message, and its traceback goes to
the server's log; a request the client got wrong answers 4xx."""

from __future__ import annotations

import asyncio
import logging
from types import SimpleNamespace
from typing import cast

import httpx
import pytest

from remedlab.api.client import Backend
from remedlab.server.app import create_app


def _get(path: str, backend: object) -> httpx.Response:
    app = create_app(cast(Backend, backend))

    async def send() -> httpx.Response:
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://remedlab.test") as client:
            return await client.get(path)

    return asyncio.run(send())


def _broken_list(*_args: object) -> list[object]:
    raise RuntimeError("the store's disk went away\nsecond line")


def test_an_unhandled_exception_answers_500_and_logs_its_traceback(caplog: pytest.LogCaptureFixture) -> None:
    backend = SimpleNamespace(fault_runtime=lambda: None, list_objects=_broken_list)
    with caplog.at_level(logging.ERROR, logger="remedlab"):
        answer = _get("/v1/status", backend)
    assert answer.status_code == 500, answer.text
    body = answer.json()
    assert body["reason"] == "InternalError" and "\n" not in body["message"], body
    logged = [r for r in caplog.records if r.exc_info is not None]
    assert logged and "GET /v1/status failed" in logged[0].getMessage()
    assert caplog.text.count("Traceback") >= 1


def test_a_malformed_query_is_the_clients_error() -> None:
    answer = _get("/v1/traces?limit=many", SimpleNamespace(fault_runtime=lambda: None))
    assert answer.status_code == 400 and answer.json()["reason"] == "BadRequest", answer.text
