"""frontend: the shop's web pages, put together from the other services (port 8080, Service port 80)."""

from __future__ import annotations

import asyncio
import datetime
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence

from aiohttp import web
from aiohttp.typedefs import Handler

from remedlab.apps.kit.client import ServiceClient
from remedlab.apps.kit.health import add_health_routes
from remedlab.apps.kit.metrics import add_metrics_route
from remedlab.apps.kit.rpc import serve
from remedlab.apps.kit.serving import QUIET_PATHS
from remedlab.apps.kit.structured_log import get_logger
from remedlab.apps.kit.tracing import current_trace_id
from remedlab.apps.online_boutique.forms import FormError, parse_add_to_cart, parse_checkout, parse_currency
from remedlab.apps.online_boutique.frontend_backend import Addresses, Backend, BackendError
from remedlab.apps.online_boutique.model import Ad, Product
from remedlab.apps.online_boutique.money import total
from remedlab.apps.online_boutique.pages import (
    CartLine,
    Chrome,
    cart_page,
    error_page,
    home_page,
    order_page,
    product_page,
)
from remedlab.apps.online_boutique.rpc import listen_port
from remedlab.apps.online_boutique.storefront import CURRENCY_COOKIE, SESSION_COOKIE, Storefront, storefront
from remedlab.apps.online_boutique.templates import Html

SERVICE = "frontend"
PORT = 8080
HEALTH_PATH = "/_healthz"
UNTRACKED_PATHS = frozenset({*QUIET_PATHS, HEALTH_PATH})

BACKEND = web.AppKey("backend", Backend)
SHOP = web.AppKey("shop", Storefront)
SESSION = web.RequestKey("session_id", str)
log = get_logger(SERVICE)

PageHandler = Callable[[web.Request], Awaitable[web.StreamResponse]]


# --------------------------------------------------------------------------- session, currency, responses


@web.middleware
async def session_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every shopper has a session id cookie; a new random one when the browser sent none."""
    if request.path in UNTRACKED_PATHS:
        return await handler(request)
    session_id = request.cookies.get(SESSION_COOKIE, "")
    fresh = not session_id
    if fresh:
        session_id = str(uuid.uuid4())
    request[SESSION] = session_id
    response = await handler(request)
    if fresh:
        response.set_cookie(SESSION_COOKIE, session_id, max_age=request.app[SHOP].cookie_max_age, path="/")
    return response


def user_currency(request: web.Request) -> str:
    return request.cookies.get(CURRENCY_COOKIE) or request.app[SHOP].default_currency


def request_id() -> str:
    return current_trace_id() or uuid.uuid4().hex


def chrome(request: web.Request, currencies: Sequence[str] = (), cart_size: int = 0, tools: bool = True) -> Chrome:
    return Chrome(
        session_id=request[SESSION],
        request_id=request_id(),
        user_currency=user_currency(request),
        currencies=request.app[SHOP].shown(list(currencies)),
        cart_size=cart_size,
        show_tools=tools,
    )


def html_response(body: Html, status: int = 200) -> web.Response:
    return web.Response(text=body, status=status, content_type="text/html")


def redirect(location: str) -> web.Response:
    return web.Response(status=302, headers={"Location": location})


def error_response(request: web.Request, status: int, message: str, service: str) -> web.Response:
    page = error_page(chrome(request, tools=False), status, message, service, request.app[SHOP])
    return html_response(page, status)


def handles_errors(handler: PageHandler) -> PageHandler:
    """A page handler whose failed calls and bad forms become error pages (and log lines)."""

    async def handle(request: web.Request) -> web.StreamResponse:
        try:
            return await handler(request)
        except BackendError as exc:
            if exc.not_found:
                log.warning(str(exc), upstream=exc.service, reason=exc.reason, path=request.path)
                return error_response(request, 404, str(exc), exc.service)
            log.error(
                f"request error: {exc.action}",
                upstream=exc.service,
                reason=exc.reason,
                upstream_status=exc.status,
                path=request.path,
                method=request.method,
            )
            return error_response(request, 500, str(exc), exc.service)
        except FormError as exc:
            log.warning("invalid form input", reason=str(exc), path=request.path)
            return error_response(request, 422, f"invalid form input: {exc}", SERVICE)

    return handle


async def form_fields(request: web.Request) -> dict[str, str]:
    form = await request.post()
    return {key: value for key, value in form.items() if isinstance(value, str)}


async def optional_ad(backend: Backend, categories: Sequence[str]) -> Ad | None:
    """An ad for the page, or none when the ad service fails (a page does not need one)."""
    try:
        return await backend.ad(categories)
    except BackendError as exc:
        log.warning("failed to retrieve ads", upstream=exc.service, reason=exc.reason)
        return None


async def optional_recommendations(backend: Backend, user_id: str) -> list[Product]:
    try:
        return await backend.recommendations(user_id, [])
    except BackendError as exc:
        log.warning("failed to get product recommendations", upstream=exc.service, reason=exc.reason)
        return []


# --------------------------------------------------------------------------- pages


@handles_errors
async def home(request: web.Request) -> web.StreamResponse:
    backend, currency = request.app[BACKEND], user_currency(request)
    currencies, products, cart, ad = await asyncio.gather(
        backend.currencies(), backend.products(), backend.cart(request[SESSION]), optional_ad(backend, [])
    )
    prices = await asyncio.gather(*(backend.convert(p.price_usd, currency) for p in products))
    cart_size = sum(item.quantity for item in cart)
    page = home_page(
        chrome(request, currencies, cart_size), list(zip(products, prices, strict=True)), ad, request.app[SHOP]
    )
    return html_response(page)


@handles_errors
async def product(request: web.Request) -> web.StreamResponse:
    backend, currency, session = request.app[BACKEND], user_currency(request), request[SESSION]
    item = await backend.product(request.match_info["id"])
    currencies, cart, price, recommended, ad = await asyncio.gather(
        backend.currencies(),
        backend.cart(session),
        backend.convert(item.price_usd, currency),
        backend.recommendations(session, [item.id]),
        optional_ad(backend, item.categories),
    )
    cart_size = sum(line.quantity for line in cart)
    page = product_page(chrome(request, currencies, cart_size), item, price, recommended, ad, request.app[SHOP])
    return html_response(page)


@handles_errors
async def add_to_cart(request: web.Request) -> web.StreamResponse:
    backend = request.app[BACKEND]
    wanted = parse_add_to_cart(await form_fields(request), request.app[SHOP].max_quantity)
    await backend.product(wanted.product_id)
    await backend.add_to_cart(request[SESSION], wanted.product_id, wanted.quantity)
    return redirect("/cart")


@handles_errors
async def view_cart(request: web.Request) -> web.StreamResponse:
    backend, currency, session = request.app[BACKEND], user_currency(request), request[SESSION]
    cart = await backend.cart(session)

    async def priced_line(product_id: str, quantity: int) -> CartLine:
        item = await backend.product(product_id)
        price = await backend.convert(item.price_usd, currency)
        return CartLine(item, quantity, price.times(quantity))

    currencies, recommended, shipping, lines = await asyncio.gather(
        backend.currencies(),
        backend.recommendations(session, [item.product_id for item in cart]),
        backend.shipping_quote(cart, currency),
        asyncio.gather(*(priced_line(item.product_id, item.quantity) for item in cart)),
    )
    grand_total = shipping + total((line.price for line in lines), currency)
    cart_size = sum(item.quantity for item in cart)
    year = datetime.date.today().year
    page = cart_page(
        chrome(request, currencies, cart_size), lines, shipping, grand_total, recommended, request.app[SHOP], year
    )
    return html_response(page)


@handles_errors
async def empty_cart(request: web.Request) -> web.StreamResponse:
    await request.app[BACKEND].empty_cart(request[SESSION])
    return redirect("/")


@handles_errors
async def checkout(request: web.Request) -> web.StreamResponse:
    backend, currency, session = request.app[BACKEND], user_currency(request), request[SESSION]
    order_form = parse_checkout(await form_fields(request))
    order = await backend.place_order(session, currency, order_form)
    log.info("order placed", order_id=order.order_id, user_id=session)
    recommended, currencies = await asyncio.gather(optional_recommendations(backend, session), backend.currencies())
    page = order_page(
        chrome(request, currencies),
        order.order_id,
        order.shipping_tracking_id,
        order.total_paid(),
        recommended,
        request.app[SHOP],
    )
    return html_response(page)


@handles_errors
async def set_currency(request: web.Request) -> web.StreamResponse:
    code = parse_currency(await form_fields(request))
    response = redirect(request.headers.get("Referer") or "/")
    response.set_cookie(CURRENCY_COOKIE, code, max_age=request.app[SHOP].cookie_max_age, path="/")
    return response


async def logout(request: web.Request) -> web.StreamResponse:
    response = redirect("/")
    for name in request.cookies:
        response.del_cookie(name, path="/")
    return response


async def healthz(request: web.Request) -> web.Response:
    return web.Response(text="ok")


# --------------------------------------------------------------------------- app


def create_app(addresses: Addresses | None = None, shop: Storefront | None = None) -> web.Application:
    settings = shop or storefront()
    peers = addresses or Addresses.from_env()
    app = web.Application(middlewares=[session_middleware])
    app[SHOP] = settings

    async def backend_context(app: web.Application) -> AsyncIterator[None]:
        client = ServiceClient(logger=log)
        app[BACKEND] = Backend(client, peers, settings.recommendations_shown)
        yield
        await client.close()

    app.cleanup_ctx.append(backend_context)
    app.router.add_get("/", home)
    app.router.add_get("/product/{id}", product)
    app.router.add_get("/cart", view_cart)
    app.router.add_post("/cart", add_to_cart)
    app.router.add_post("/cart/empty", empty_cart)
    app.router.add_post("/cart/checkout", checkout)
    app.router.add_post("/setCurrency", set_currency)
    app.router.add_get("/logout", logout)
    app.router.add_get(HEALTH_PATH, healthz)
    add_health_routes(app)
    add_metrics_route(app)
    return app


def main() -> None:
    serve(SERVICE, listen_port(PORT), create_app, quiet_paths=UNTRACKED_PATHS)


if __name__ == "__main__":
    main()
