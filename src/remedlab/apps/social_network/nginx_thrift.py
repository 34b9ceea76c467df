"""nginx-thrift: Social Network's front end (port 8080), the original's ``wrk2-api`` Lua handlers.

- ``POST /wrk2-api/user/register`` (``first_name``, ``last_name``, ``username``, ``password``,
  ``user_id``): user-service ``RegisterUserWithId``; answers ``Success!``.
- ``POST /wrk2-api/user/follow`` (``user_id`` and ``followee_id``, or ``user_name`` and
  ``followee_name``): social-graph-service ``Follow`` or ``FollowWithUsername``; ``Success!``.
- ``POST /wrk2-api/post/compose`` (``username``, ``user_id``, ``text``, ``post_type``, and
  optionally ``media_ids`` and ``media_types``, JSON lists): compose-post-service
  ``ComposePost``; ``Successfully upload post``.
- ``GET /wrk2-api/home-timeline/read`` and ``GET /wrk2-api/user-timeline/read`` (``user_id``,
  ``start``, ``stop``): home- or user-timeline-service; a JSON list of posts, newest first, their
  ids and times as text.

Fields come from the form of a POST or the query string. A missing or malformed one answers 400
(``Incomplete arguments``, or what is wrong); a failed call answers 500 with the original's
message and the callee's reason (``compost_post failure: …``, the original's spelling). Each
request gets a ``req_id``, 60 random bits, as nginx's request id gives the original's.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from remedlab.apps.kit.client import ServiceClient
from remedlab.apps.kit.fields import (
    MAX_NAME,
    MAX_TEXT,
    id_field,
    id_value,
    index_field,
    json_list_field,
    text_field,
)
from remedlab.apps.kit.front_end import INCOMPLETE, Fields, handler, request_id, require, text_answer
from remedlab.apps.kit.health import add_health_routes
from remedlab.apps.kit.metrics import add_metrics_route
from remedlab.apps.kit.rpc import BadRequest, serve
from remedlab.apps.kit.structured_log import get_logger
from remedlab.apps.social_network.post import Post, front_end_post, post_type_value
from remedlab.apps.social_network.rpc import (
    COMPOSE_POST,
    HOME_TIMELINE,
    SOCIAL_GRAPH,
    USER,
    USER_TIMELINE,
    Peer,
    answer_objects,
    call,
    use_client_pool,
)

SERVICE = "nginx-thrift"
PORT = 8080
CALL_TIMEOUT = 8.0
"""How long the front end waits for the service it calls (which calls others in turn)."""
REQUIRED = {
    "register": ("first_name", "last_name", "username", "password", "user_id"),
    "compose": ("user_id", "username", "post_type", "text"),
    "timeline": ("user_id", "start", "stop"),
}

log = get_logger(SERVICE)


async def register(client: ServiceClient, fields: Fields) -> web.Response:
    require(fields, REQUIRED["register"])
    body = {
        "req_id": request_id(),
        "first_name": text_field(fields, "first_name", max_length=MAX_NAME),
        "last_name": text_field(fields, "last_name", max_length=MAX_NAME),
        "username": text_field(fields, "username", max_length=MAX_NAME),
        "password": text_field(fields, "password", max_length=MAX_NAME),
        "user_id": id_field(fields, "user_id"),
    }
    await call(client, USER, "RegisterUserWithId", body, timeout=CALL_TIMEOUT)
    return text_answer("Success!")


async def follow(client: ServiceClient, fields: Fields) -> web.Response:
    req_id = request_id()
    if fields.get("user_id") and fields.get("followee_id"):
        body: dict[str, Any] = {
            "req_id": req_id,
            "user_id": id_field(fields, "user_id"),
            "followee_id": id_field(fields, "followee_id"),
        }
        await call(client, SOCIAL_GRAPH, "Follow", body, timeout=CALL_TIMEOUT)
    elif fields.get("user_name") and fields.get("followee_name"):
        body = {
            "req_id": req_id,
            "user_name": text_field(fields, "user_name", max_length=MAX_NAME),
            "followee_name": text_field(fields, "followee_name", max_length=MAX_NAME),
        }
        await call(client, SOCIAL_GRAPH, "FollowWithUsername", body, timeout=CALL_TIMEOUT)
    else:
        raise BadRequest(INCOMPLETE)
    return text_answer("Success!")


async def compose(client: ServiceClient, fields: Fields) -> web.Response:
    require(fields, REQUIRED["compose"])
    media_ids, media_types = json_list_field(fields, "media_ids"), json_list_field(fields, "media_types")
    if not (media_ids and media_types):  # the original sends media only when both lists are given
        media_ids, media_types = [], []
    body = {
        "req_id": request_id(),
        "username": text_field(fields, "username", max_length=MAX_NAME),
        "user_id": id_field(fields, "user_id"),
        "text": text_field(fields, "text", max_length=MAX_TEXT),
        "media_ids": [id_value(media_id, "media_ids") for media_id in media_ids],
        "media_types": media_types,
        "post_type": int(post_type_value(fields.get("post_type"))),
    }
    await call(client, COMPOSE_POST, "ComposePost", body, timeout=CALL_TIMEOUT)
    return text_answer("Successfully upload post")


async def read_timeline(client: ServiceClient, fields: Fields, peer: Peer, method: str) -> web.Response:
    require(fields, REQUIRED["timeline"])
    body = {
        "req_id": request_id(),
        "user_id": id_field(fields, "user_id"),
        "start": index_field(fields, "start"),
        "stop": index_field(fields, "stop"),
    }
    reply = await call(client, peer, method, body, timeout=CALL_TIMEOUT)
    posts = answer_objects(reply, "posts", peer, Post.from_json)
    return web.json_response([front_end_post(post) for post in posts])


def create_app() -> web.Application:
    app = web.Application()
    use_client_pool(app, log)
    routes = web.RouteTableDef()
    routes.post("/wrk2-api/user/register")(handler(log, register, "User registration failure"))
    routes.post("/wrk2-api/user/follow")(handler(log, follow, "Follow Failed"))
    routes.post("/wrk2-api/post/compose")(handler(log, compose, "compost_post failure"))

    async def home(client: ServiceClient, fields: Fields) -> web.Response:
        return await read_timeline(client, fields, HOME_TIMELINE, "ReadHomeTimeline")

    async def user(client: ServiceClient, fields: Fields) -> web.Response:
        return await read_timeline(client, fields, USER_TIMELINE, "ReadUserTimeline")

    routes.get("/wrk2-api/home-timeline/read")(handler(log, home, "Get home-timeline failure"))
    routes.get("/wrk2-api/user-timeline/read")(handler(log, user, "Get user-timeline failure"))
    app.add_routes(routes)
    add_health_routes(app)
    add_metrics_route(app)
    return app


def main() -> None:
    serve(SERVICE, PORT, create_app)


if __name__ == "__main__":
    main()
