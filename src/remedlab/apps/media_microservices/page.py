"""page-service: a movie's page (port 9090).

``ReadPage {req_id, movie_id, review_start, review_stop}`` asks, as the original does, movie-info-service
(``ReadMovieInfo``) and movie-review-service (``ReadMovieReviews``) at the same time; once the movie's
record is in, it asks cast-info-service (``ReadCastInfo``, the cast's ids) and plot-service
(``ReadPlot``, the plot's id) at the same time. It answers ``{"movie_info", "reviews", "cast_infos",
"plot"}``.
"""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web

from remedlab.apps.kit.fields import MAX_NAME, id_field, index_field, text_field
from remedlab.apps.kit.rpc import CLIENT, serve, service_app
from remedlab.apps.kit.structured_log import get_logger
from remedlab.apps.kit.thrift_rpc import NESTED_CALL_TIMEOUT, answer_list, call, methods, read_answer, use_client_pool
from remedlab.apps.media_microservices.movie import MovieInfo
from remedlab.apps.media_microservices.rpc import CAST_INFO, MOVIE_INFO, MOVIE_REVIEW, PAGE, PLOT, PORT

SERVICE = PAGE.service

log = get_logger(SERVICE)


async def read_page(app: web.Application, body: dict[str, Any]) -> dict[str, Any]:
    req_id = id_field(body, "req_id")
    movie_id = text_field(body, "movie_id", max_length=MAX_NAME)
    window = {"start": index_field(body, "review_start"), "stop": index_field(body, "review_stop")}
    client = app[CLIENT]
    reviews = asyncio.ensure_future(
        call(
            client,
            MOVIE_REVIEW,
            "ReadMovieReviews",
            {"req_id": req_id, "movie_id": movie_id, **window},
            timeout=NESTED_CALL_TIMEOUT,
            read=True,
        )
    )
    try:
        reply = await call(client, MOVIE_INFO, "ReadMovieInfo", {"req_id": req_id, "movie_id": movie_id}, read=True)
        info = read_answer(reply, MOVIE_INFO, MovieInfo.from_json)
        cast_ids = [cast.cast_info_id for cast in info.casts]
        cast_reply, plot_reply = await asyncio.gather(
            call(client, CAST_INFO, "ReadCastInfo", {"req_id": req_id, "cast_ids": cast_ids}, read=True),
            call(client, PLOT, "ReadPlot", {"req_id": req_id, "plot_id": info.plot_id}, read=True),
        )
        review_reply = await reviews
    finally:
        if reviews.done() and not reviews.cancelled():
            reviews.exception()  # seen here when another call failed first
        reviews.cancel()
    return {
        "movie_info": info.to_json(),
        "reviews": answer_list(review_reply, "reviews", MOVIE_REVIEW),
        "cast_infos": answer_list(cast_reply, "cast_infos", CAST_INFO),
        "plot": read_answer(plot_reply, PLOT, lambda r: text_field(r, "plot", max_length=100_000, required=False)),
    }


def create_app() -> web.Application:
    app = service_app(log, methods(PAGE, {"ReadPage": read_page}))
    use_client_pool(app, log)
    return app


def main() -> None:
    serve(SERVICE, PORT, create_app)


if __name__ == "__main__":
    main()
