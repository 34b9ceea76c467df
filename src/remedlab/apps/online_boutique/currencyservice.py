"""currencyservice: supported currencies and conversions between them (port 7000)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aiohttp import web

from remedlab.apps.kit.rpc import BadRequest, serve, service_app
from remedlab.apps.kit.structured_log import get_logger
from remedlab.apps.online_boutique.conversion import RateTable, UnsupportedCurrencyError, load_rate_table
from remedlab.apps.online_boutique.rpc import Body, field_money, field_str, listen_port, methods

SERVICE = "currencyservice"
PORT = 7000
RPC_SERVICE = "CurrencyService"

log = get_logger(SERVICE)


def create_app(table: RateTable | None = None) -> web.Application:
    rates = table or load_rate_table()
    supported = {"currency_codes": rates.codes}

    async def get_supported_currencies(app: web.Application, body: Body) -> Mapping[str, Any]:
        return supported

    async def convert(app: web.Application, body: Body) -> Mapping[str, Any]:
        amount = field_money(body, "from")
        to_code = field_str(body, "to_code")
        try:
            return rates.convert(amount, to_code).to_json()
        except UnsupportedCurrencyError as exc:
            raise BadRequest(str(exc)) from None

    log.info("conversion rates loaded", base=rates.base, currencies=len(rates.codes))
    return service_app(
        log,
        methods(
            {
                (RPC_SERVICE, "GetSupportedCurrencies"): get_supported_currencies,
                (RPC_SERVICE, "Convert"): convert,
            }
        ),
    )


def main() -> None:
    serve(SERVICE, listen_port(PORT), create_app)


if __name__ == "__main__":
    main()
