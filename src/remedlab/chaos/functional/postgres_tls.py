"""Whether a PostgreSQL store takes TCP clients without TLS, and how to change it in place.

Everything goes through `psql` in the store's pod, as the superuser (`postgres_sql.py`): the server
reads and writes its own files (``pg_read_file``; a large object exported, or for a private key
``COPY ... TO PROGRAM`` under ``umask 077``), ``ALTER SYSTEM`` turns ``ssl`` on or back, and
``pg_reload_conf()`` makes the server read its configuration and ``pg_hba.conf`` again. A reload
reaches new sessions only: existing ones keep what they had.
"""

from __future__ import annotations

import asyncio
import json
import re
import shlex
import time

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel

from remedlab.api.client import Backend
from remedlab.api.errors import Conflict
from remedlab.chaos.functional.postgres_sql import PSQL_TIMEOUT_S, psql, psql_each, sql_file, sql_text
from remedlab.chaos.functional.postgres_target import DatabaseTarget, StoreLogin, store_login
from remedlab.chaos.functional.tls_material import ServerTls

SSL_WAIT_S = 5.0
AUTO_CONF = "postgresql.auto.conf"
REJECT_PLAINTEXT = (
    "hostnossl  all  all  0.0.0.0/0  reject",
    "hostnossl  all  all  ::/0       reject",
)
_HOST_RULE = re.compile(r"^host(\s)", re.MULTILINE)


class ServerTlsState(BaseModel):
    """How the server takes TCP clients (`sql/server_tls_state.sql`)."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)

    hba_file: str
    hba: str
    data_directory: str
    ssl: str
    ssl_source_file: str | None = None
    ssl_cert_file: str = "server.crt"
    ssl_key_file: str = "server.key"

    @property
    def serves_tls(self) -> bool:
        return self.ssl == "on"

    @property
    def ssl_set_by_alter_system(self) -> bool:
        return bool(self.ssl_source_file) and str(self.ssl_source_file).endswith(AUTO_CONF)


def requires_tls(hba: str) -> bool:
    """Whether an hba file rejects every TCP client without TLS before any rule lets one in."""
    for line in hba.splitlines():
        fields = line.split("#", 1)[0].split()
        if not fields or fields[0] == "local":
            continue
        if fields[0] in ("host", "hostnossl"):
            return fields[0] == "hostnossl" and fields[-1] == "reject"
    return True  # no rule takes TCP clients without TLS


def tls_only(hba: str) -> str:
    """The hba file with every ``host`` rule turned ``hostssl``, and plaintext TCP rejected ahead of them."""
    lines = _HOST_RULE.sub(r"hostssl\1", hba).splitlines()
    first_tcp = next(
        (i for i, line in enumerate(lines) if line.split() and line.split()[0].startswith("host")), len(lines)
    )
    return "\n".join([*lines[:first_tcp], *REJECT_PLAINTEXT, *lines[first_tcp:]]) + "\n"


async def server_tls_state(backend: Backend, target: DatabaseTarget) -> ServerTlsState:
    return ServerTlsState.model_validate(json.loads(await psql(backend, target, sql_file("server_tls_state.sql"))))


async def write_server_file(backend: Backend, target: DatabaseTarget, path: str, text: str) -> None:
    """Write ``text`` to ``path`` on the server (a path relative to its data directory, or absolute)."""
    await psql(backend, target, sql_text("write_server_file.sql", path=path, text=text))


async def write_private_file(backend: Backend, target: DatabaseTarget, path: str, text: str) -> None:
    """Write ``text`` (lines without tabs or backslashes) to ``path`` on the server, mode 0600."""
    program = f"umask 077 && cat > {shlex.quote(path)}"
    await psql(backend, target, sql_text("write_private_file.sql", text=text, program=program))


def _conninfo_value(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


async def tls_login(backend: Backend, target: DatabaseTarget, login: StoreLogin) -> tuple[bool, str]:
    """Whether the application role logs in over TCP with TLS (sslmode=require), and if not, why."""
    conninfo = " ".join(
        f"{key}={_conninfo_value(value)}"
        for key, value in (
            ("host", login.host),
            ("port", str(login.port)),
            ("dbname", target.database),
            ("user", target.role),
            ("password", login.password),
            ("sslmode", "require"),
            ("connect_timeout", "3"),
        )
    )
    argv = ["psql", "-X", "-q", "-tA", "-d", conninfo, "-c", sql_file("tls_login.sql")]
    out, err, code = await backend.exec(target.namespace, target.pod, target.container, argv, PSQL_TIMEOUT_S)
    if code == 0 and out.strip() == "t":
        return True, ""
    lines = [line for line in (err or out).strip().splitlines() if line.strip()]
    return False, lines[0] if lines else f"exit code {code}"


async def reload_configuration(backend: Backend, target: DatabaseTarget) -> None:
    await psql(backend, target, sql_file("reload_conf.sql"))


async def turn_ssl_on(backend: Backend, target: DatabaseTarget) -> None:
    await psql_each(backend, target, [sql_file("ssl_on.sql")])


async def restore_ssl(backend: Backend, target: DatabaseTarget, original: ServerTlsState) -> None:
    """Put the ssl setting back as it was: ALTER SYSTEM's own value, or none (the configuration's)."""
    if original.ssl_set_by_alter_system:
        await psql_each(backend, target, [sql_text("ssl_set.sql", value=original.ssl)])
    else:
        await psql_each(backend, target, [sql_file("ssl_reset.sql")])


async def wait_tls(backend: Backend, target: DatabaseTarget) -> tuple[bool, str]:
    """Whether the role logs in over TLS within ``SSL_WAIT_S`` of a reload (which takes a moment to reach
    new sessions), and if not, why."""
    login = store_login(backend, target)
    deadline = time.monotonic() + SSL_WAIT_S
    while True:
        served, why = await tls_login(backend, target, login)
        if served or time.monotonic() >= deadline:
            return served, why
        await asyncio.sleep(0.2)


async def end_plaintext_sessions(backend: Backend, target: DatabaseTarget) -> int:
    """End the application role's sessions that do not use TLS; how many there were."""
    return int((await psql(backend, target, sql_text("end_plaintext_sessions.sql", role=target.role))).strip() or 0)


async def tls_sessions(backend: Backend, target: DatabaseTarget) -> int:
    """How many sessions of the application role use TLS now (clients configured for it)."""
    return int((await psql(backend, target, sql_text("tls_sessions.sql", role=target.role))).strip() or 0)


async def require_tls(
    backend: Backend, target: DatabaseTarget, before: ServerTlsState, faulty_hba: str, tls: ServerTls
) -> None:
    """Serve TLS with ``tls`` (when the server did not serve TLS yet) and take TCP clients with TLS only,
    then reload; Conflict, with the configuration put back, when the server does not turn TLS on."""
    if not before.serves_tls:
        await write_private_file(backend, target, before.ssl_key_file, tls.key)
        await write_server_file(backend, target, before.ssl_cert_file, tls.cert + tls.ca_cert)
        await turn_ssl_on(backend, target)
    await write_server_file(backend, target, before.hba_file, faulty_hba)
    await reload_configuration(backend, target)
    served, why = await wait_tls(backend, target)
    if served:
        return
    await write_server_file(backend, target, before.hba_file, before.hba)
    if not before.serves_tls:
        await restore_ssl(backend, target, before)
    await reload_configuration(backend, target)
    raise Conflict(f"the database of {target.deployment} does not serve TLS ({why}): its log says why")
