"""movie-info-service: movies' records (port 9090), in movie-info-mongodb with movie-info-memcached in front.

- ``WriteMovieInfo {req_id, movie_id, title, casts, plot_id, thumbnail_ids, photo_ids, video_ids,
  avg_rating, num_rating}`` writes a movie's record (again: replaced).
- ``ReadMovieInfo {req_id, movie_id}`` answers the record (:class:`~.movie.MovieInfo`) from memcached,
  else the ``movie_info`` table (then cached); an unknown id fails: ``Movie_id: <id> doesn't exist``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from aiohttp import web

from remedlab.apps.kit.cache import Cache
from remedlab.apps.kit.fields import MAX_NAME, id_field, text_field
from remedlab.apps.kit.rpc import CACHE, DATABASE, NotFound, serve
from remedlab.apps.kit.structured_log import get_logger
from remedlab.apps.kit.thrift_rpc import methods, stored_service_app
from remedlab.apps.media_microservices.cache_keys import cache_key
from remedlab.apps.media_microservices.movie import MovieInfo
from remedlab.apps.media_microservices.rpc import MOVIE_INFO, PORT

SERVICE = MOVIE_INFO.service
COLUMNS = "movie_id, title, casts, plot_id, thumbnail_ids, photo_ids, video_ids, avg_rating, num_rating"
WRITE = (
    f"INSERT INTO movie_info ({COLUMNS}) VALUES ($1, $2, $3::jsonb, $4, $5::jsonb, $6::jsonb, $7::jsonb, $8, $9)"
    " ON CONFLICT (movie_id) DO UPDATE SET title = $2, casts = $3::jsonb, plot_id = $4, thumbnail_ids = $5::jsonb,"
    " photo_ids = $6::jsonb, video_ids = $7::jsonb, avg_rating = $8, num_rating = $9"
)
SELECT = f"SELECT {COLUMNS} FROM movie_info WHERE movie_id = $1"
JSON_COLUMNS = ("casts", "thumbnail_ids", "photo_ids", "video_ids")

log = get_logger(SERVICE)


def movie_info_from_row(row: Mapping[str, Any]) -> MovieInfo:
    data = dict(row)
    for column in JSON_COLUMNS:
        if isinstance(data[column], str):
            data[column] = json.loads(data[column])
    return MovieInfo.from_json(data)


async def write_movie_info(app: web.Application, body: dict[str, Any]) -> dict[str, Any]:
    id_field(body, "req_id")
    info = MovieInfo.from_json(body)
    as_json = info.to_json()
    lists = {column: json.dumps(as_json[column]) for column in JSON_COLUMNS}
    await app[DATABASE].execute(
        WRITE,
        *(info.movie_id, info.title, lists["casts"], info.plot_id),
        *(lists["thumbnail_ids"], lists["photo_ids"], lists["video_ids"], info.avg_rating, info.num_rating),
        table="movie_info",
    )
    key = cache_key(info.movie_id, "movie_info")
    if key:
        await app[CACHE].delete(key)
    return {}


async def read_movie_info(app: web.Application, body: dict[str, Any]) -> dict[str, Any]:
    id_field(body, "req_id")
    movie_id = text_field(body, "movie_id", max_length=MAX_NAME)
    cache: Cache = app[CACHE]
    key = cache_key(movie_id, "movie_info")
    cached = await cache.get(key) if key else None
    if cached is not None:
        return MovieInfo.from_json(cached).to_json()
    row = await app[DATABASE].fetchrow(SELECT, movie_id, table="movie_info")
    if row is None:
        raise NotFound(f"Movie_id: {movie_id} doesn't exist")
    info = movie_info_from_row(row).to_json()
    if key:
        await cache.set(key, info)
    return info


def create_app() -> web.Application:
    table = {"WriteMovieInfo": write_movie_info, "ReadMovieInfo": read_movie_info}
    app = stored_service_app(log, methods(MOVIE_INFO, table), "movie_info")
    return app


def main() -> None:
    serve(SERVICE, PORT, create_app)


if __name__ == "__main__":
    main()
