"""compose-post-service: a new post, put together and delivered (port 9090).

``ComposePost {req_id, username, user_id, text, media_ids, media_types, post_type}`` calls, at the
same time, text-service (``ComposeText``: mentions and short URLs), user-service
(``ComposeCreatorWithUserId``), media-service (``ComposeMedia``) and unique-id-service
(``ComposeUniqueId``); then, one after another as the original waits for them,
post-storage-service (``StorePost``), user-timeline-service (``WriteUserTimeline``) and
home-timeline-service (``WriteHomeTimeline``, with the mentioned users). It answers ``{}``.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from aiohttp import web

from remedlab.apps.kit.fields import MAX_NAME, MAX_TEXT, id_field, id_list_field, text_field, text_list_field
from remedlab.apps.kit.rpc import CLIENT, serve, service_app
from remedlab.apps.kit.structured_log import get_logger
from remedlab.apps.social_network.post import Creator, Media, Post, Url, UserMention, post_type_value
from remedlab.apps.social_network.rpc import (
    COMPOSE_POST,
    HOME_TIMELINE,
    MEDIA,
    NESTED_CALL_TIMEOUT,
    PORT,
    POST_STORAGE,
    TEXT,
    UNIQUE_ID,
    USER,
    USER_TIMELINE,
    answer_objects,
    call,
    methods,
    read_answer,
    use_client_pool,
)

SERVICE = COMPOSE_POST.service

log = get_logger(SERVICE)


async def compose_post(app: web.Application, body: dict[str, Any]) -> dict[str, Any]:
    req_id = id_field(body, "req_id")
    username = text_field(body, "username", max_length=MAX_NAME)
    user_id = id_field(body, "user_id")
    text = text_field(body, "text", max_length=MAX_TEXT, required=False)
    media_ids = id_list_field(body, "media_ids")
    media_types = text_list_field(body, "media_types", max_length=MAX_NAME)
    post_type = post_type_value(body.get("post_type"))
    client = app[CLIENT]

    text_reply, creator_reply, media_reply, id_reply = await asyncio.gather(
        call(client, TEXT, "ComposeText", {"req_id": req_id, "text": text}, timeout=NESTED_CALL_TIMEOUT),
        call(client, USER, "ComposeCreatorWithUserId", {"req_id": req_id, "user_id": user_id, "username": username}),
        call(client, MEDIA, "ComposeMedia", {"req_id": req_id, "media_types": media_types, "media_ids": media_ids}),
        call(client, UNIQUE_ID, "ComposeUniqueId", {"req_id": req_id, "post_type": int(post_type)}),
    )
    timestamp = time.time_ns() // 1_000_000
    mentions = answer_objects(text_reply, "user_mentions", TEXT, UserMention.from_json)
    post = Post(
        post_id=read_answer(id_reply, UNIQUE_ID, lambda r: id_field(r, "post_id")),
        creator=read_answer(creator_reply, USER, Creator.from_json),
        req_id=req_id,
        text=read_answer(text_reply, TEXT, lambda r: text_field(r, "text", max_length=MAX_TEXT, required=False)),
        user_mentions=tuple(mentions),
        media=tuple(answer_objects(media_reply, "media", MEDIA, Media.from_json)),
        urls=tuple(answer_objects(text_reply, "urls", TEXT, Url.from_json)),
        timestamp=timestamp,
        post_type=post_type,
    )
    # the post is stored before the timelines point at it, as the original orders them
    await call(client, POST_STORAGE, "StorePost", {"req_id": req_id, "post": post.to_json()})
    written = {"req_id": req_id, "post_id": post.post_id, "user_id": user_id, "timestamp": timestamp}
    await call(client, USER_TIMELINE, "WriteUserTimeline", written)
    home = {**written, "user_mentions_id": [m.user_id for m in mentions]}
    await call(client, HOME_TIMELINE, "WriteHomeTimeline", home, timeout=NESTED_CALL_TIMEOUT)
    return {}


def create_app() -> web.Application:
    app = service_app(log, methods(COMPOSE_POST, {"ComposePost": compose_post}))
    use_client_pool(app, log)
    return app


def main() -> None:
    serve(SERVICE, PORT, create_app)


if __name__ == "__main__":
    main()
