"""tls-required: a PostgreSQL store switched to take TCP clients over TLS only, while its clients do not
use TLS (AIOpsLab's auth_miss_mongodb: MongoDB set to requireTLS under Social Network's url-shorten).

Inject: when the server does not serve TLS yet, it gets a certificate signed by a CA made for the
occasion (``server.crt``, ``server.key`` in its data directory) and ``ssl = on`` (ALTER SYSTEM); its
``pg_hba.conf`` turns every ``host`` rule into ``hostssl`` behind ``hostnossl ... reject`` rules; the
server reloads its configuration, and the application role's sessions without TLS are ended. The
services using the store reconnect without TLS (``DATABASE_SSLMODE=disable``) and are turned away
("pg_hba.conf rejects connection for host ..., no encryption"); as AIOpsLab does, their pods are
deleted too, so that they start again and never get ready. The record keeps the server's hba file
and ssl setting as they were.

Recover: puts the hba file back unless it changed since (someone repaired it: ``sh
/scripts/allow-non-tls.sh`` in the database pod), and the ssl setting back unless a client of the
role uses TLS now (someone configured the clients for TLS: they keep it), then reloads. The
certificate and key stay in the data directory, unused once ssl is off.
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import BaseModel

from remedlab.api.client import Backend
from remedlab.api.errors import Conflict
from remedlab.chaos.functional.action import Obj
from remedlab.chaos.functional.database_symptoms import database_fault_symptom
from remedlab.chaos.functional.postgres_target import (
    DatabaseFaultParameters,
    base_record,
    database_target,
    parameters_of,
    recorded_target,
    restart_clients,
    store_hosts,
)
from remedlab.chaos.functional.postgres_tls import (
    ServerTlsState,
    end_plaintext_sessions,
    reload_configuration,
    require_tls,
    requires_tls,
    restore_ssl,
    server_tls_state,
    tls_only,
    tls_sessions,
    write_server_file,
)
from remedlab.chaos.functional.tls_material import server_tls

SYMPTOMS = ("no encryption", "SSL off")


class TlsRequired:
    name: ClassVar[str] = "tls-required"
    parameters: ClassVar[type[BaseModel] | None] = DatabaseFaultParameters

    async def inject(self, backend: Backend, chaos: Obj) -> Obj:
        target = database_target(backend, chaos)
        before = await server_tls_state(backend, target)
        if requires_tls(before.hba):
            raise Conflict(f"the database of {target.deployment} takes TCP clients over TLS only already")
        faulty = tls_only(before.hba)
        tls = server_tls(target.deployment, store_hosts(backend, target))
        await require_tls(backend, target, before, faulty, tls)
        ended = await end_plaintext_sessions(backend, target)
        restarted = restart_clients(backend, target) if parameters_of(chaos).restart_clients else []
        return base_record(
            target,
            self.name,
            server=before.model_dump(by_alias=True),
            faultyHba=faulty,
            endedSessions=ended,
            restartedPods=restarted,
        )

    async def recover(self, backend: Backend, chaos: Obj, record: Obj) -> None:
        target = recorded_target(backend, chaos, record)
        if target is None:
            return
        before = ServerTlsState.model_validate(record["server"])
        now = await server_tls_state(backend, target)
        changed = False
        if now.hba == record["faultyHba"]:
            await write_server_file(backend, target, before.hba_file, before.hba)
            changed = True
        # clients someone configured for TLS keep it: ssl stays on for them
        if not before.serves_tls and now.serves_tls and await tls_sessions(backend, target) == 0:
            await restore_ssl(backend, target, before)
            changed = True
        if changed:
            await reload_configuration(backend, target)

    def observable(self, backend: Backend, chaos: Obj, record: Obj) -> tuple[bool, str]:
        namespace = chaos["metadata"]["namespace"]
        return database_fault_symptom(
            backend, namespace, record["deployment"], record.get("clients") or [], record["injectedAt"], SYMPTOMS
        )


ACTION = TlsRequired()
