"""unique-id-service: ids for new posts (port 9090).

``ComposeUniqueId {req_id, post_type}`` answers ``{"post_id"}``, an id no other call gets
(:mod:`remedlab.apps.kit.ids`). It keeps no data.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from remedlab.apps.kit.fields import id_field
from remedlab.apps.kit.ids import IdMaker
from remedlab.apps.kit.rpc import serve, service_app
from remedlab.apps.kit.structured_log import get_logger
from remedlab.apps.social_network.post import post_type_value
from remedlab.apps.social_network.rpc import PORT, UNIQUE_ID, methods

SERVICE = UNIQUE_ID.service
IDS = web.AppKey("ids", IdMaker)

log = get_logger(SERVICE)


async def compose_unique_id(app: web.Application, body: dict[str, Any]) -> dict[str, Any]:
    id_field(body, "req_id")
    post_type_value(body.get("post_type"))
    return {"post_id": app[IDS].next()}


def create_app() -> web.Application:
    app = service_app(log, methods(UNIQUE_ID, {"ComposeUniqueId": compose_unique_id}))
    app[IDS] = IdMaker()
    return app


def main() -> None:
    serve(SERVICE, PORT, create_app)


if __name__ == "__main__":
    main()
