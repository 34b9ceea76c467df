"""media-service: the media of a new post (port 9090).

``ComposeMedia {req_id, media_types, media_ids}`` answers ``{"media": [{media_id, media_type}]}``,
the two lists paired in order; lists of different lengths are refused. Like the original it keeps
no data: media-mongodb and media-memcached serve the original's media front end, which remedlab
does not run.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from remedlab.apps.kit.fields import MAX_NAME, id_field, id_list_field, text_list_field
from remedlab.apps.kit.rpc import BadRequest, serve, service_app
from remedlab.apps.kit.structured_log import get_logger
from remedlab.apps.social_network.post import Media
from remedlab.apps.social_network.rpc import MEDIA, PORT, methods

SERVICE = MEDIA.service

log = get_logger(SERVICE)


def compose_media(media_types: list[str], media_ids: list[int]) -> list[Media]:
    if len(media_types) != len(media_ids):
        raise BadRequest("The lengths of media_id list and media_type list are not equal")
    return [Media(media_id, media_type) for media_id, media_type in zip(media_ids, media_types, strict=True)]


async def compose_media_method(app: web.Application, body: dict[str, Any]) -> dict[str, Any]:
    id_field(body, "req_id")
    media = compose_media(text_list_field(body, "media_types", max_length=MAX_NAME), id_list_field(body, "media_ids"))
    return {"media": [m.to_json() for m in media]}


def create_app() -> web.Application:
    return service_app(log, methods(MEDIA, {"ComposeMedia": compose_media_method}))


def main() -> None:
    serve(SERVICE, PORT, create_app)


if __name__ == "__main__":
    main()
