"""user: checks a user name and password against the user database (port 8086).

``POST /user.User/CheckUser`` takes ``{"username", "password"}`` and answers
``{"correct"}``. The database keeps the SHA-256 of each password, in hex.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

from aiohttp import web

from remedlab.apps.hotel_reservation.rpc import tables_hold_data
from remedlab.apps.hotel_reservation.shared import text_field
from remedlab.apps.kit.database import Database
from remedlab.apps.kit.health import latched
from remedlab.apps.kit.rpc import DATABASE, serve, service_app, use_database
from remedlab.apps.kit.structured_log import get_logger

SERVICE = "user"
PORT = 8086
PASSWORD_OF = "SELECT password FROM users WHERE username = $1"

log = get_logger(SERVICE)


def password_hash(password: str) -> str:
    return hashlib.sha256(password.encode()).hexdigest()


def matches(stored: object, password: str) -> bool:
    """True when ``stored`` (a hex SHA-256, or None for an unknown user) is ``password``'s hash."""
    return isinstance(stored, str) and hmac.compare_digest(stored.lower(), password_hash(password))


async def check_user(app: web.Application, body: dict[str, Any]) -> dict[str, Any]:
    username = text_field(body, "username", max_length=100)
    password = text_field(body, "password", max_length=200, strip=False)
    stored = await app[DATABASE].fetchval(PASSWORD_OF, username, table="users")
    return {"correct": matches(stored, password)}


def create_app() -> web.Application:
    database = Database.from_env()
    app = service_app(
        log, {"/user.User/CheckUser": check_user}, ready_check=latched(tables_hold_data(database, "users"))
    )
    use_database(app, database)
    return app


def main() -> None:
    serve(SERVICE, PORT, create_app)


if __name__ == "__main__":
    main()
