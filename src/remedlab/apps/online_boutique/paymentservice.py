"""paymentservice: checks the credit card and "charges" it, answering a transaction id (port 50051)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import date
from typing import Any

from aiohttp import web

from remedlab.apps.kit.rpc import BadRequest, serve, service_app
from remedlab.apps.kit.structured_log import get_logger
from remedlab.apps.online_boutique.cards import CardError, validate_card
from remedlab.apps.online_boutique.money import format_money
from remedlab.apps.online_boutique.rpc import (
    Body,
    field_int,
    field_money,
    field_object,
    field_str,
    listen_port,
    methods,
)

SERVICE = "paymentservice"
PORT = 50051
RPC_SERVICE = "PaymentService"

log = get_logger(SERVICE)


async def charge(app: web.Application, body: Body) -> Mapping[str, Any]:
    amount = field_money(body, "amount")
    card = field_object(body, "credit_card")
    number = field_str(card, "credit_card_number")
    year = field_int(card, "credit_card_expiration_year")
    month = field_int(card, "credit_card_expiration_month")
    try:
        accepted = validate_card(number, year, month, date.today())
    except CardError as exc:
        log.warning("card declined", reason=exc.reason, detail=str(exc))
        raise BadRequest(str(exc)) from None
    transaction_id = str(uuid.uuid4())
    log.info(
        f"Transaction processed: {accepted.brand} ending {accepted.last_four} Amount: {format_money(amount)}",
        transaction_id=transaction_id,
    )
    return {"transaction_id": transaction_id}


def create_app() -> web.Application:
    return service_app(log, methods({(RPC_SERVICE, "Charge"): charge}))


def main() -> None:
    serve(SERVICE, listen_port(PORT), create_app)


if __name__ == "__main__":
    main()
