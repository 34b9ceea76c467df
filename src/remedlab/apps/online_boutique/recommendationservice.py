"""recommendationservice: up to five catalog products the shopper is not looking at (port 8080)."""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping
from typing import Any

from aiohttp import web

from remedlab.apps.kit.client import UpstreamError
from remedlab.apps.kit.rpc import CLIENT, RpcError, serve, service_app, use_client
from remedlab.apps.kit.structured_log import get_logger
from remedlab.apps.online_boutique.rpc import Body, call, env_address, field_str_list, listen_port, methods

SERVICE = "recommendationservice"
PORT = 8080
MAX_RESPONSES = 5

CATALOG = web.AppKey("catalog", str)
log = get_logger(SERVICE)


def recommend(
    product_ids: Iterable[str], excluded: Iterable[str], rng: random.Random | None = None, limit: int = MAX_RESPONSES
) -> list[str]:
    """Up to ``limit`` ids drawn at random from ``product_ids``, none of them in ``excluded``."""
    skip = set(excluded)
    candidates = [pid for pid in dict.fromkeys(product_ids) if pid not in skip]
    return (rng or random).sample(candidates, min(limit, len(candidates)))


async def list_recommendations(app: web.Application, body: Body) -> Mapping[str, Any]:
    requested = field_str_list(body, "product_ids")
    try:
        answer = await call(app[CLIENT], app[CATALOG], "ProductCatalogService", "ListProducts", {})
    except UpstreamError as exc:
        log.error("cannot list the catalog", upstream=exc.service, reason=exc.reason)
        raise RpcError(f"failed to list products: {exc}") from None
    products = answer.get("products", [])
    ids = [p["id"] for p in products if isinstance(p, dict) and isinstance(p.get("id"), str)]
    chosen = recommend(ids, requested)
    log.info(f"[Recv ListRecommendations] product_ids={chosen}")
    return {"product_ids": chosen}


def create_app(catalog_address: str | None = None) -> web.Application:
    app = service_app(log, methods({("RecommendationService", "ListRecommendations"): list_recommendations}))
    app[CATALOG] = catalog_address or env_address("PRODUCT_CATALOG_SERVICE_ADDR")
    use_client(app, log)
    return app


def main() -> None:
    serve(SERVICE, listen_port(PORT), create_app)


if __name__ == "__main__":
    main()
