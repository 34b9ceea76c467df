"""cast-info-service: the people of the casts (port 9090), in cast-info-mongodb with cast-info-memcached in front.

- ``WriteCastInfo {req_id, cast_info_id, name, gender, intro}`` writes a person (again: replaced).
- ``ReadCastInfo {req_id, cast_ids}`` answers ``{"cast_infos"}`` in the order asked: cached ones from
  memcached in one request, the rest from the ``cast_info`` table in one query, then cached; an
  unknown id fails (``Return set incomplete``).
"""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web

from remedlab.apps.kit.cache import Cache
from remedlab.apps.kit.database import Database
from remedlab.apps.kit.fields import id_field, id_list_field
from remedlab.apps.kit.rpc import CACHE, DATABASE, RpcError, serve
from remedlab.apps.kit.structured_log import get_logger
from remedlab.apps.kit.thrift_rpc import methods, stored_service_app, unique
from remedlab.apps.media_microservices.movie import CastInfo
from remedlab.apps.media_microservices.rpc import CAST_INFO, PORT

SERVICE = CAST_INFO.service
WRITE = (
    "INSERT INTO cast_info (cast_info_id, name, gender, intro) VALUES ($1, $2, $3, $4)"
    " ON CONFLICT (cast_info_id) DO UPDATE SET name = $2, gender = $3, intro = $4"
)
SELECT = "SELECT cast_info_id, name, gender, intro FROM cast_info WHERE cast_info_id = ANY($1::bigint[])"

log = get_logger(SERVICE)


def key(cast_info_id: int) -> str:
    return f"{cast_info_id}:cast_info"


async def read_cast_infos(cache: Cache, database: Database, ids: list[int]) -> dict[int, CastInfo]:
    wanted = unique(ids)
    if not wanted:
        return {}
    cached = await cache.get_many([key(i) for i in wanted])
    found = {i: CastInfo.from_json(cached[key(i)]) for i in wanted if key(i) in cached}
    missing = [i for i in wanted if i not in found]
    if missing:
        rows = await database.fetch(SELECT, missing, table="cast_info")
        fetched = {
            int(r["cast_info_id"]): CastInfo(int(r["cast_info_id"]), str(r["name"]), bool(r["gender"]), str(r["intro"]))
            for r in rows
        }
        await asyncio.gather(*(cache.set(key(i), info.to_json()) for i, info in fetched.items()))
        found.update(fetched)
    return found


async def write_cast_info(app: web.Application, body: dict[str, Any]) -> dict[str, Any]:
    id_field(body, "req_id")
    info = CastInfo.from_json(body)
    await app[DATABASE].execute(WRITE, info.cast_info_id, info.name, info.gender, info.intro, table="cast_info")
    await app[CACHE].delete(key(info.cast_info_id))
    return {}


async def read_cast_info(app: web.Application, body: dict[str, Any]) -> dict[str, Any]:
    id_field(body, "req_id")
    ids = id_list_field(body, "cast_ids")
    found = await read_cast_infos(app[CACHE], app[DATABASE], ids)
    absent = [i for i in ids if i not in found]
    if absent:
        log.error("Return set incomplete", missing=absent[:10])
        raise RpcError("Return set incomplete")
    return {"cast_infos": [found[i].to_json() for i in ids]}


def create_app() -> web.Application:
    table = {"WriteCastInfo": write_cast_info, "ReadCastInfo": read_cast_info}
    app = stored_service_app(log, methods(CAST_INFO, table), "cast_info")
    return app


def main() -> None:
    serve(SERVICE, PORT, create_app)


if __name__ == "__main__":
    main()
