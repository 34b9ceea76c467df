"""url-shorten-service: short URLs for the links in posts (port 9090), kept in url-shorten-mongodb.

``ComposeUrls {req_id, urls}`` answers ``{"urls": [{shortened_url, expanded_url}]}``: each URL
gets ``http://short-url/`` and ten random letters or digits, and the pairs are inserted into the
``url_shorten`` table (nothing is stored when there are no URLs).

``GetExtendedUrls {req_id, shortened_urls}`` answers ``{"urls"}``: the long URLs, in order (an
unknown short URL gives an empty string); they are looked up in url-shorten-memcached, then in
the table, and cached.
"""

from __future__ import annotations

import random
from typing import Any

from aiohttp import web

from remedlab.apps.kit.cache import Cache
from remedlab.apps.kit.fields import MAX_TEXT, id_field, text_list_field
from remedlab.apps.kit.rpc import CACHE, DATABASE, serve
from remedlab.apps.kit.structured_log import get_logger
from remedlab.apps.kit.thrift_rpc import stored_service_app
from remedlab.apps.social_network.post import Url
from remedlab.apps.social_network.rpc import PORT, URL_SHORTEN, methods, unique

SERVICE = URL_SHORTEN.service
HOSTNAME = "http://short-url/"
SHORT_LENGTH = 10
ALPHABET = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
INSERT_URLS = "INSERT INTO url_shorten (shortened_url, expanded_url) SELECT * FROM unnest($1::text[], $2::text[])"
EXPANDED_URLS = "SELECT shortened_url, expanded_url FROM url_shorten WHERE shortened_url = ANY($1::text[])"

log = get_logger(SERVICE)
_random = random.SystemRandom()


def shorten(urls: list[str], rng: random.Random = _random) -> list[Url]:
    """A new short URL for each of ``urls``, in order."""
    return [Url(HOSTNAME + "".join(rng.choices(ALPHABET, k=SHORT_LENGTH)), url) for url in urls]


async def compose_urls(app: web.Application, body: dict[str, Any]) -> dict[str, Any]:
    id_field(body, "req_id")
    urls = shorten(text_list_field(body, "urls", max_length=MAX_TEXT))
    if urls:
        shortened, expanded = [u.shortened_url for u in urls], [u.expanded_url for u in urls]
        await app[DATABASE].execute(INSERT_URLS, shortened, expanded, table="url_shorten")
    return {"urls": [u.to_json() for u in urls]}


async def get_extended_urls(app: web.Application, body: dict[str, Any]) -> dict[str, Any]:
    id_field(body, "req_id")
    wanted = text_list_field(body, "shortened_urls", max_length=MAX_TEXT)
    cache: Cache = app[CACHE]
    keyed = {url: url.removeprefix(HOSTNAME) for url in unique(wanted) if url.startswith(HOSTNAME)}
    cached = await cache.get_many([key for key in keyed.values() if key.isalnum()])
    found = {url: cached[key] for url, key in keyed.items() if isinstance(cached.get(key), str)}
    missing = [url for url in unique(wanted) if url not in found]
    if missing:
        rows = await app[DATABASE].fetch(EXPANDED_URLS, missing, table="url_shorten")
        fetched = {row["shortened_url"]: row["expanded_url"] for row in rows}
        for url, expanded in fetched.items():
            key = keyed.get(url)
            if key is not None and key.isalnum():
                await cache.set(key, expanded)
        found.update(fetched)
    return {"urls": [found.get(url, "") for url in wanted]}


def create_app() -> web.Application:
    table = {"ComposeUrls": compose_urls, "GetExtendedUrls": get_extended_urls}
    app = stored_service_app(log, methods(URL_SHORTEN, table), "url_shorten")
    return app


def main() -> None:
    serve(SERVICE, PORT, create_app)


if __name__ == "__main__":
    main()
