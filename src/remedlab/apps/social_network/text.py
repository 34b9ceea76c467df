"""text-service: a post's text, its mentions and its links (port 9090).

``ComposeText {req_id, text}`` answers ``{"text", "user_mentions", "urls"}``. It finds the
mentions (``@`` then letters, digits, ``-`` or ``_``) and the links (``http://`` or ``https://``
then URL characters), then asks url-shorten-service for short URLs (``ComposeUrls``) and
user-mention-service for the mentioned users (``ComposeUserMentions``) at the same time; the text
answered has each link replaced by its short URL.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Sequence
from typing import Any

from aiohttp import web

from remedlab.apps.kit.client import UpstreamError
from remedlab.apps.kit.fields import MAX_TEXT, id_field, text_field
from remedlab.apps.kit.rpc import CLIENT, serve, service_app
from remedlab.apps.kit.structured_log import get_logger
from remedlab.apps.social_network.post import Url, UserMention
from remedlab.apps.social_network.rpc import (
    PORT,
    TEXT,
    URL_SHORTEN,
    USER_MENTION,
    answer_objects,
    call,
    methods,
    use_client_pool,
)

SERVICE = TEXT.service
MENTION = re.compile(r"@[a-zA-Z0-9\-_]+")
URL = re.compile(r"(http://|https://)([a-zA-Z0-9_!~*'().&=+$%\-]+)")

log = get_logger(SERVICE)


def mentioned_usernames(text: str) -> list[str]:
    """The usernames mentioned, in order (repeats kept, as the original sends them)."""
    return [match.group()[1:] for match in MENTION.finditer(text)]


def links(text: str) -> list[str]:
    return [match.group() for match in URL.finditer(text)]


def with_short_urls(text: str, urls: Sequence[Url]) -> str:
    """``text`` with its i-th link replaced by ``urls[i]``'s short URL."""
    replacements = iter(urls)

    def replace(match: re.Match[str]) -> str:
        url = next(replacements, None)
        return url.shortened_url if url is not None else match.group()

    return URL.sub(replace, text)


async def compose_text(app: web.Application, body: dict[str, Any]) -> dict[str, Any]:
    req_id = id_field(body, "req_id")
    text = text_field(body, "text", max_length=MAX_TEXT, required=False)
    found_links, usernames = links(text), mentioned_usernames(text)
    client = app[CLIENT]
    shortened, mentioned = await asyncio.gather(
        call(client, URL_SHORTEN, "ComposeUrls", {"req_id": req_id, "urls": found_links}),
        call(client, USER_MENTION, "ComposeUserMentions", {"req_id": req_id, "usernames": usernames}, read=True),
    )
    urls = answer_objects(shortened, "urls", URL_SHORTEN, Url.from_json)
    if len(urls) != len(found_links):
        raise UpstreamError(URL_SHORTEN.service, reason=f"{len(urls)} short URLs for {len(found_links)} links")
    mentions = answer_objects(mentioned, "user_mentions", USER_MENTION, UserMention.from_json)
    return {
        "text": with_short_urls(text, urls),
        "user_mentions": [m.to_json() for m in mentions],
        "urls": [u.to_json() for u in urls],
    }


def create_app() -> web.Application:
    app = service_app(log, methods(TEXT, {"ComposeText": compose_text}))
    use_client_pool(app, log)
    return app


def main() -> None:
    serve(SERVICE, PORT, create_app)


if __name__ == "__main__":
    main()
