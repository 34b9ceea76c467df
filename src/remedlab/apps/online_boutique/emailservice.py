"""emailservice: order confirmations, logged rather than mailed (port 8080, Service port 5000)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aiohttp import web

from remedlab.apps.kit.rpc import BadRequest, serve, service_app
from remedlab.apps.kit.structured_log import get_logger
from remedlab.apps.online_boutique.model import OrderResult, RecordError
from remedlab.apps.online_boutique.rpc import Body, field_object, field_str, listen_port, methods

SERVICE = "emailservice"
PORT = 8080
RPC_SERVICE = "EmailService"

log = get_logger(SERVICE)


async def send_order_confirmation(app: web.Application, body: Body) -> Mapping[str, Any]:
    email = field_str(body, "email")
    try:
        order = OrderResult.from_json(field_object(body, "order"))
    except (RecordError, ValueError) as exc:
        raise BadRequest(f"order: {exc}") from None
    log.info(
        f"A request to send order confirmation email to {email} has been received.",
        order_id=order.order_id,
        items=len(order.items),
    )
    return {}


def create_app() -> web.Application:
    return service_app(log, methods({(RPC_SERVICE, "SendOrderConfirmation"): send_order_confirmation}))


def main() -> None:
    serve(SERVICE, listen_port(PORT), create_app)


if __name__ == "__main__":
    main()
