"""unique-id-service: an id for each new review (port 9090).

``UploadUniqueId {req_id}`` makes a review id no other call gets (:mod:`remedlab.apps.kit.ids`) and
hands it to compose-review-service (``UploadUniqueId {req_id, review_id}``). It keeps no data.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from remedlab.apps.kit.fields import id_field
from remedlab.apps.kit.ids import IdMaker
from remedlab.apps.kit.rpc import CLIENT, serve, service_app
from remedlab.apps.kit.structured_log import get_logger
from remedlab.apps.kit.thrift_rpc import call, methods, use_client_pool
from remedlab.apps.media_microservices.rpc import COMPOSE_REVIEW, PORT, UNIQUE_ID

SERVICE = UNIQUE_ID.service
IDS = web.AppKey("ids", IdMaker)

log = get_logger(SERVICE)


async def upload_unique_id(app: web.Application, body: dict[str, Any]) -> dict[str, Any]:
    req_id = id_field(body, "req_id")
    review_id = app[IDS].next()
    await call(app[CLIENT], COMPOSE_REVIEW, "UploadUniqueId", {"req_id": req_id, "review_id": review_id})
    return {}


def create_app() -> web.Application:
    app = service_app(log, methods(UNIQUE_ID, {"UploadUniqueId": upload_unique_id}))
    app[IDS] = IdMaker()
    use_client_pool(app, log)
    return app


def main() -> None:
    serve(SERVICE, PORT, create_app)


if __name__ == "__main__":
    main()
