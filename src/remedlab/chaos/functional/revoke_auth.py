"""revoke-auth: the application role loses its read-write grants on its database (AIOpsLab's
revoke_auth, on PostgreSQL instead of MongoDB).

Inject: the role's privileges on every table and sequence of its database, and its default
privileges, are revoked (it still logs in), then the pods of the services using the database are
deleted, as AIOpsLab does: they start again and cannot read their tables ("permission denied for
table ..."), so they never become ready. The record keeps the grants taken away.

Recover: gives back exactly those grants, unless the role holds rights on the tables again (someone
repaired it: `sh /scripts/restore-grants.sh` in the database pod, or GRANTs) or is gone.
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import BaseModel

from remedlab.api.client import Backend
from remedlab.chaos.functional.action import Obj
from remedlab.chaos.functional.database_symptoms import database_fault_symptom
from remedlab.chaos.functional.postgres_sql import (
    RolePrivileges,
    grant_data_access,
    psql,
    revoke_data_access,
    role_privileges,
)
from remedlab.chaos.functional.postgres_target import (
    DatabaseFaultParameters,
    base_record,
    database_target,
    parameters_of,
    recorded_target,
    restart_clients,
)

SYMPTOMS = ("permission denied",)


class RevokeAuth:
    name: ClassVar[str] = "revoke-auth"
    parameters: ClassVar[type[BaseModel] | None] = DatabaseFaultParameters

    async def inject(self, backend: Backend, chaos: Obj) -> Obj:
        target = database_target(backend, chaos)
        before = await role_privileges(backend, target)
        revoke = revoke_data_access(before, target.role)
        if revoke:
            await psql(backend, target, revoke)
        restarted = restart_clients(backend, target) if parameters_of(chaos).restart_clients else []
        return base_record(
            target, self.name, revoked=before.model_dump(by_alias=True, exclude={"password"}), restartedPods=restarted
        )

    async def recover(self, backend: Backend, chaos: Obj, record: Obj) -> None:
        target = recorded_target(backend, chaos, record)
        if target is None:
            return
        now = await role_privileges(backend, target)
        if not now.exists or now.holds_any:
            return  # repaired already, or the role was dropped since: not ours to change
        revoked = RolePrivileges.model_validate({**record["revoked"], "password": None})
        grant = grant_data_access(revoked, target.role)
        if grant:
            await psql(backend, target, grant)

    def observable(self, backend: Backend, chaos: Obj, record: Obj) -> tuple[bool, str]:
        namespace = chaos["metadata"]["namespace"]
        return database_fault_symptom(
            backend, namespace, record["deployment"], record.get("clients") or [], record["injectedAt"], SYMPTOMS
        )


ACTION = RevokeAuth()
