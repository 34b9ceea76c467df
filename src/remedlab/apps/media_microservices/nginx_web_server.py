"""nginx-web-server: Media Microservices' front end (port 8080), the original's ``wrk2-api`` Lua handlers.

- ``POST /wrk2-api/user/register`` (``first_name``, ``last_name``, ``username``, ``password``):
  user-service ``RegisterUser``; answers ``Success!``.
- ``POST /wrk2-api/movie/register`` (``title``, ``movie_id``): movie-id-service ``RegisterMovieId``.
- ``POST /wrk2-api/review/compose`` (``title``, ``text``, ``username``, ``password``, ``rating``):
  at the same time user-service ``UploadUserWithUsername``, movie-id-service ``UploadMovieId``,
  text-service ``UploadText`` and unique-id-service ``UploadUniqueId``; ``Success!``.
- ``POST /wrk2-api/cast-info/write`` (``cast_info_id``, ``name``, ``gender``, ``intro``),
  ``/wrk2-api/plot/write`` (``plot_id``, ``plot``) and ``/wrk2-api/movie-info/write`` (a movie's
  record, :class:`~.movie.MovieInfo`), as JSON bodies or forms: the writes of cast-info-, plot- and
  movie-info-service.
- ``GET /wrk2-api/page/read`` (``movie_id``, ``review_start``, ``review_stop``): page-service
  ``ReadPage``; the page as JSON. (The original serves pages through page-service's Thrift port only.)

Fields, request ids and failures are answered as :mod:`remedlab.apps.kit.front_end` says.
"""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web

from remedlab.apps.kit.client import ServiceClient
from remedlab.apps.kit.fields import MAX_NAME, MAX_TEXT, id_field, index_field, text_field
from remedlab.apps.kit.front_end import Fields, handler, request_id, require, text_answer
from remedlab.apps.kit.health import add_health_routes
from remedlab.apps.kit.metrics import add_metrics_route
from remedlab.apps.kit.rpc import serve
from remedlab.apps.kit.structured_log import get_logger
from remedlab.apps.kit.thrift_rpc import NESTED_CALL_TIMEOUT, call, use_client_pool
from remedlab.apps.media_microservices.movie import CastInfo, MovieInfo
from remedlab.apps.media_microservices.review import rating_value
from remedlab.apps.media_microservices.rpc import (
    CAST_INFO,
    MOVIE_ID,
    MOVIE_INFO,
    PAGE,
    PLOT,
    TEXT,
    UNIQUE_ID,
    USER,
)

SERVICE = "nginx-web-server"
PORT = 8080
CALL_TIMEOUT = 8.0
"""How long the front end waits for the service it calls (which calls others in turn)."""
REQUIRED = {
    "register": ("first_name", "last_name", "username", "password"),
    "movie": ("title", "movie_id"),
    "compose": ("title", "text", "username", "password", "rating"),
    "page": ("movie_id", "review_start", "review_stop"),
}

log = get_logger(SERVICE)


async def register_user(client: ServiceClient, fields: Fields) -> web.Response:
    require(fields, REQUIRED["register"])
    body: dict[str, Any] = {"req_id": request_id()}
    for name in REQUIRED["register"]:
        body[name] = text_field(fields, name, max_length=MAX_NAME)
    await call(client, USER, "RegisterUser", body, timeout=CALL_TIMEOUT)
    return text_answer("Success!")


async def register_movie(client: ServiceClient, fields: Fields) -> web.Response:
    require(fields, REQUIRED["movie"])
    body = {
        "req_id": request_id(),
        "title": text_field(fields, "title", max_length=MAX_NAME),
        "movie_id": text_field(fields, "movie_id", max_length=MAX_NAME),
    }
    await call(client, MOVIE_ID, "RegisterMovieId", body, timeout=CALL_TIMEOUT)
    return text_answer("Success!")


async def compose_review(client: ServiceClient, fields: Fields) -> web.Response:
    require(fields, REQUIRED["compose"])
    req_id = request_id()
    title = text_field(fields, "title", max_length=MAX_NAME)
    text = text_field(fields, "text", max_length=MAX_TEXT)
    username = text_field(fields, "username", max_length=MAX_NAME)
    rating = rating_value(fields.get("rating"))
    timeout = NESTED_CALL_TIMEOUT
    await asyncio.gather(
        call(client, USER, "UploadUserWithUsername", {"req_id": req_id, "username": username}, timeout=timeout),
        call(client, MOVIE_ID, "UploadMovieId", {"req_id": req_id, "title": title, "rating": rating}, timeout=timeout),
        call(client, TEXT, "UploadText", {"req_id": req_id, "text": text}, timeout=timeout),
        call(client, UNIQUE_ID, "UploadUniqueId", {"req_id": req_id}, timeout=timeout),
    )
    return text_answer("Success!")


async def write_cast_info(client: ServiceClient, fields: Fields) -> web.Response:
    info = CastInfo.from_json(fields)
    await call(client, CAST_INFO, "WriteCastInfo", {"req_id": request_id(), **info.to_json()}, timeout=CALL_TIMEOUT)
    return text_answer("Success!")


async def write_plot(client: ServiceClient, fields: Fields) -> web.Response:
    body = {
        "req_id": request_id(),
        "plot_id": id_field(fields, "plot_id"),
        "plot": text_field(fields, "plot", max_length=MAX_TEXT),
    }
    await call(client, PLOT, "WritePlot", body, timeout=CALL_TIMEOUT)
    return text_answer("Success!")


async def write_movie_info(client: ServiceClient, fields: Fields) -> web.Response:
    info = MovieInfo.from_json(fields)
    await call(client, MOVIE_INFO, "WriteMovieInfo", {"req_id": request_id(), **info.to_json()}, timeout=CALL_TIMEOUT)
    return text_answer("Success!")


async def read_page(client: ServiceClient, fields: Fields) -> web.Response:
    require(fields, REQUIRED["page"])
    body = {
        "req_id": request_id(),
        "movie_id": text_field(fields, "movie_id", max_length=MAX_NAME),
        "review_start": index_field(fields, "review_start"),
        "review_stop": index_field(fields, "review_stop"),
    }
    return web.json_response(await call(client, PAGE, "ReadPage", body, timeout=CALL_TIMEOUT, read=True))


def create_app() -> web.Application:
    app = web.Application()
    use_client_pool(app, log)
    routes = web.RouteTableDef()
    routes.post("/wrk2-api/user/register")(handler(log, register_user, "User registration failure"))
    routes.post("/wrk2-api/movie/register")(handler(log, register_movie, "Movie registration failure"))
    routes.post("/wrk2-api/review/compose")(handler(log, compose_review, "Compose review failure"))
    routes.post("/wrk2-api/cast-info/write")(handler(log, write_cast_info, "Write cast info failure"))
    routes.post("/wrk2-api/plot/write")(handler(log, write_plot, "Write plot failure"))
    routes.post("/wrk2-api/movie-info/write")(handler(log, write_movie_info, "Write movie info failure"))
    routes.get("/wrk2-api/page/read")(handler(log, read_page, "Read page failure"))
    app.add_routes(routes)
    add_health_routes(app)
    add_metrics_route(app)
    return app


def main() -> None:
    serve(SERVICE, PORT, create_app)


if __name__ == "__main__":
    main()
