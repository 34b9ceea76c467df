"""plot-service: movies' plots (port 9090), in plot-mongodb with plot-memcached in front.

- ``WritePlot {req_id, plot_id, plot}`` writes a plot (again: replaced).
- ``ReadPlot {req_id, plot_id}`` answers ``{"plot"}`` from memcached, else the ``plot`` table (then
  cached); an unknown id fails: ``Plot_id: <id> doesn't exist``.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from remedlab.apps.kit.cache import Cache
from remedlab.apps.kit.fields import MAX_TEXT, id_field, text_field
from remedlab.apps.kit.rpc import CACHE, DATABASE, NotFound, serve
from remedlab.apps.kit.structured_log import get_logger
from remedlab.apps.kit.thrift_rpc import methods, stored_service_app
from remedlab.apps.media_microservices.rpc import PLOT, PORT

SERVICE = PLOT.service
WRITE = "INSERT INTO plot (plot_id, plot) VALUES ($1, $2) ON CONFLICT (plot_id) DO UPDATE SET plot = $2"
SELECT = "SELECT plot FROM plot WHERE plot_id = $1"

log = get_logger(SERVICE)


def key(plot_id: int) -> str:
    return f"{plot_id}:plot"


async def write_plot(app: web.Application, body: dict[str, Any]) -> dict[str, Any]:
    id_field(body, "req_id")
    plot_id, plot = id_field(body, "plot_id"), text_field(body, "plot", max_length=MAX_TEXT, required=False)
    await app[DATABASE].execute(WRITE, plot_id, plot, table="plot")
    await app[CACHE].delete(key(plot_id))
    return {}


async def read_plot(app: web.Application, body: dict[str, Any]) -> dict[str, Any]:
    id_field(body, "req_id")
    plot_id = id_field(body, "plot_id")
    cache: Cache = app[CACHE]
    cached = await cache.get(key(plot_id))
    if isinstance(cached, str):
        return {"plot": cached}
    plot = await app[DATABASE].fetchval(SELECT, plot_id, table="plot")
    if plot is None:
        raise NotFound(f"Plot_id: {plot_id} doesn't exist")
    await cache.set(key(plot_id), str(plot))
    return {"plot": str(plot)}


def create_app() -> web.Application:
    app = stored_service_app(log, methods(PLOT, {"WritePlot": write_plot, "ReadPlot": read_plot}), "plot")
    return app


def main() -> None:
    serve(SERVICE, PORT, create_app)


if __name__ == "__main__":
    main()
