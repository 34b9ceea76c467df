"""productcatalogservice: the shop's products, from the catalog data file (port 3550)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aiohttp import web

from remedlab.apps.kit.rpc import NotFound, serve, service_app
from remedlab.apps.kit.structured_log import get_logger
from remedlab.apps.online_boutique.model import Product, load_products
from remedlab.apps.online_boutique.rpc import Body, field_str, listen_port, methods

SERVICE = "productcatalogservice"
PORT = 3550
RPC_SERVICE = "ProductCatalogService"

log = get_logger(SERVICE)


class Catalog:
    """The products, by id, in catalog order."""

    def __init__(self, products: list[Product]) -> None:
        self.products = products
        self.by_id = {p.id: p for p in products}
        self.listing = {"products": [p.to_json() for p in products]}

    def get(self, product_id: str) -> Product:
        product = self.by_id.get(product_id)
        if product is None:
            raise NotFound(f"no product with ID {product_id}")
        return product

    def search(self, query: str) -> list[Product]:
        """Products whose name or description holds ``query`` (case-insensitive)."""
        needle = query.lower()
        return [p for p in self.products if needle in p.name.lower() or needle in p.description.lower()]


def create_app(catalog: Catalog | None = None) -> web.Application:
    shop = catalog or Catalog(load_products())

    async def list_products(app: web.Application, body: Body) -> Mapping[str, Any]:
        return shop.listing

    async def get_product(app: web.Application, body: Body) -> Mapping[str, Any]:
        return shop.get(field_str(body, "id")).to_json()

    async def search_products(app: web.Application, body: Body) -> Mapping[str, Any]:
        return {"results": [p.to_json() for p in shop.search(field_str(body, "query", required=False))]}

    log.info("catalog loaded", products=len(shop.products))
    return service_app(
        log,
        methods(
            {
                (RPC_SERVICE, "ListProducts"): list_products,
                (RPC_SERVICE, "GetProduct"): get_product,
                (RPC_SERVICE, "SearchProducts"): search_products,
            }
        ),
    )


def main() -> None:
    serve(SERVICE, listen_port(PORT), create_app)


if __name__ == "__main__":
    main()
