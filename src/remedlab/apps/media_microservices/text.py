"""text-service: a review's text (port 9090).

``UploadText {req_id, text}`` hands the text to compose-review-service (``UploadText``).
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from remedlab.apps.kit.fields import MAX_TEXT, id_field, text_field
from remedlab.apps.kit.rpc import CLIENT, serve, service_app
from remedlab.apps.kit.structured_log import get_logger
from remedlab.apps.kit.thrift_rpc import call, methods, use_client_pool
from remedlab.apps.media_microservices.rpc import COMPOSE_REVIEW, PORT, TEXT

SERVICE = TEXT.service

log = get_logger(SERVICE)


async def upload_text(app: web.Application, body: dict[str, Any]) -> dict[str, Any]:
    req_id = id_field(body, "req_id")
    text = text_field(body, "text", max_length=MAX_TEXT, required=False)
    await call(app[CLIENT], COMPOSE_REVIEW, "UploadText", {"req_id": req_id, "text": text})
    return {}


def create_app() -> web.Application:
    app = service_app(log, methods(TEXT, {"UploadText": upload_text}))
    use_client_pool(app, log)
    return app


def main() -> None:
    serve(SERVICE, PORT, create_app)


if __name__ == "__main__":
    main()
