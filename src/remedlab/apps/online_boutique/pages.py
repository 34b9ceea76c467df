"""The frontend's pages: what each shows, rendered through the templates."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from http import HTTPStatus

from remedlab.apps.online_boutique.model import Ad, Product
from remedlab.apps.online_boutique.money import Money
from remedlab.apps.online_boutique.storefront import Storefront
from remedlab.apps.online_boutique.templates import Html, render, render_each

SELECTED = Html(" selected")
NOT_SELECTED = Html("")


@dataclass(frozen=True)
class Chrome:
    """What every page shows around its content: the currency picker, the cart size, the ids."""

    session_id: str
    request_id: str
    user_currency: str
    currencies: Sequence[str] = ()
    cart_size: int = 0
    show_tools: bool = True


@dataclass(frozen=True)
class CartLine:
    product: Product
    quantity: int
    price: Money
    """The line's price: the unit price, in the shopper's currency, times the quantity."""


def options(values: Sequence[object], selected: object, labels: Sequence[str] | None = None) -> Html:
    """``<option>`` elements for ``values``, the one equal to ``selected`` marked."""
    shown = labels if labels is not None else [str(v) for v in values]
    return render_each(
        "option",
        (
            {"value": value, "label": label, "selected": SELECTED if value == selected else NOT_SELECTED}
            for value, label in zip(values, shown, strict=True)
        ),
    )


def page(title: str, content: Html, chrome: Chrome, shop: Storefront) -> Html:
    tools = NOT_SELECTED
    if chrome.show_tools:
        labels = [f"{shop.currency_symbols.get(c, '')} {c}".strip() for c in chrome.currencies]
        tools = render(
            "header_tools",
            currency_options=options(list(chrome.currencies), chrome.user_currency, labels),
            cart_size=chrome.cart_size,
        )
    return render(
        "layout",
        title=title,
        header_tools=tools,
        content=content,
        session_id=chrome.session_id,
        request_id=chrome.request_id,
    )


def ad_block(ad: Ad | None) -> Html:
    return render("ad", redirect_url=ad.redirect_url, text=ad.text) if ad is not None else NOT_SELECTED


def recommendations_block(products: Sequence[Product]) -> Html:
    if not products:
        return NOT_SELECTED
    items = render_each("recommendation", ({"id": p.id, "name": p.name, "picture": p.picture} for p in products))
    return render("recommendations", items=items)


def home_page(chrome: Chrome, products: Sequence[tuple[Product, Money]], ad: Ad | None, shop: Storefront) -> Html:
    cards = render_each(
        "product_card",
        ({"id": p.id, "name": p.name, "picture": p.picture, "price": shop.price(price)} for p, price in products),
    )
    return page("Hot Products", render("home", product_cards=cards, ad=ad_block(ad)), chrome, shop)


def product_page(
    chrome: Chrome,
    product: Product,
    price: Money,
    recommendations: Sequence[Product],
    ad: Ad | None,
    shop: Storefront,
) -> Html:
    content = render(
        "product",
        id=product.id,
        name=product.name,
        description=product.description,
        picture=product.picture,
        price=shop.price(price),
        quantity_options=options(list(shop.quantity_choices), shop.quantity_choices[0]),
        recommendations=recommendations_block(recommendations),
        ad=ad_block(ad),
    )
    return page(product.name, content, chrome, shop)


def cart_page(
    chrome: Chrome,
    lines: Sequence[CartLine],
    shipping: Money,
    total: Money,
    recommendations: Sequence[Product],
    shop: Storefront,
    year: int,
) -> Html:
    if not lines:
        content = render("cart_empty", recommendations=recommendations_block(recommendations))
        return page("Shopping Cart", content, chrome, shop)
    items = render_each(
        "cart_item",
        (
            {
                "id": line.product.id,
                "name": line.product.name,
                "picture": line.product.picture,
                "quantity": line.quantity,
                "price": shop.price(line.price),
            }
            for line in lines
        ),
    )
    defaults = shop.checkout_defaults
    years = [year + offset for offset in range(shop.expiration_years_shown)]
    content = render(
        "cart",
        cart_size=sum(line.quantity for line in lines),
        items=items,
        shipping_cost=shop.price(shipping),
        total_cost=shop.price(total),
        email=defaults["email"],
        street_address=defaults["street_address"],
        zip_code=defaults["zip_code"],
        city=defaults["city"],
        state=defaults["state"],
        country=defaults["country"],
        credit_card_number=defaults["credit_card_number"],
        credit_card_cvv=defaults["credit_card_cvv"],
        month_options=options(list(range(1, 13)), int(defaults["credit_card_expiration_month"])),
        year_options=options(years, years[min(1, len(years) - 1)]),
        recommendations=recommendations_block(recommendations),
    )
    return page("Shopping Cart", content, chrome, shop)


def order_page(
    chrome: Chrome,
    order_id: str,
    tracking_id: str,
    total_paid: Money,
    recommendations: Sequence[Product],
    shop: Storefront,
) -> Html:
    content = render(
        "order",
        order_id=order_id,
        tracking_id=tracking_id,
        total_paid=shop.price(total_paid),
        recommendations=recommendations_block(recommendations),
    )
    return page("Order Confirmation", content, chrome, shop)


def error_page(chrome: Chrome, status: int, message: str, service: str, shop: Storefront) -> Html:
    try:
        status_text = HTTPStatus(status).phrase
    except ValueError:
        status_text = ""
    content = render("error", status_code=status, status_text=status_text, message=message, service=service)
    return page("Error", content, chrome, shop)
