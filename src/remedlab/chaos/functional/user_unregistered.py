"""user-unregistered: the application's database user is dropped (AIOpsLab's
storage_user_unregistered, on PostgreSQL instead of MongoDB).

Inject: the role's sessions end, its privileges are taken away and the role is dropped (refused when
it owns objects, which would go with it), then the pods of the services using the database are
deleted, as AIOpsLab does: they start again and cannot log in ("password authentication failed for
user ...", the server's log adding that the role does not exist). The record keeps the role as it was:
its login, stored password hash and grants.

Recover: creates the role again as recorded, unless a role of that name exists again (someone
repaired it: `sh /scripts/recreate-user.sh` in the database pod, or CREATE ROLE).
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import BaseModel

from remedlab.api.client import Backend
from remedlab.api.errors import Conflict, NotFound
from remedlab.chaos.functional.action import Obj
from remedlab.chaos.functional.database_symptoms import database_fault_symptom
from remedlab.chaos.functional.postgres_sql import (
    RolePrivileges,
    create_role,
    drop_role,
    owns_objects,
    psql,
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

SYMPTOMS = ("password authentication failed", "does not exist")


class UserUnregistered:
    name: ClassVar[str] = "user-unregistered"
    parameters: ClassVar[type[BaseModel] | None] = DatabaseFaultParameters

    async def inject(self, backend: Backend, chaos: Obj) -> Obj:
        target = database_target(backend, chaos)
        before = await role_privileges(backend, target)
        if not before.exists:
            raise NotFound(f"role {target.role} does not exist in the database of {target.deployment}")
        if (await psql(backend, target, owns_objects(target.role))).strip() == "t":
            raise Conflict(f"role {target.role} owns objects, which dropping it would destroy: pick another role")
        await psql(backend, target, drop_role(target.role))
        restarted = restart_clients(backend, target) if parameters_of(chaos).restart_clients else []
        return base_record(target, self.name, dropped=before.model_dump(by_alias=True), restartedPods=restarted)

    async def recover(self, backend: Backend, chaos: Obj, record: Obj) -> None:
        target = recorded_target(backend, chaos, record)
        if target is None:
            return
        if (await role_privileges(backend, target)).exists:
            return  # created again already: not ours to change
        dropped = RolePrivileges.model_validate(record["dropped"])
        await psql(backend, target, create_role(dropped, target.role, target.database))

    def observable(self, backend: Backend, chaos: Obj, record: Obj) -> tuple[bool, str]:
        namespace = chaos["metadata"]["namespace"]
        return database_fault_symptom(
            backend, namespace, record["deployment"], record.get("clients") or [], record["injectedAt"], SYMPTOMS
        )


ACTION = UserUnregistered()
