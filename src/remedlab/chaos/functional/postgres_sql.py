"""SQL on a PostgreSQL store pod, through `psql` run by exec, and what a role may do there.

`psql` is the store image's client: it reaches the pod's own server over its Unix socket as the
superuser. The queries are data files next to this module (`sql/`); the statements that take a
role's privileges away or give them back are built from a :class:`RolePrivileges` snapshot.
"""

from __future__ import annotations

import json
import re
from importlib import resources

from pydantic import BaseModel, ConfigDict, Field

from remedlab.api.client import Backend
from remedlab.api.errors import Conflict
from remedlab.apps.stores.postgres import quote_ident, quote_literal
from remedlab.chaos.functional.postgres_target import SUPERUSER, DatabaseTarget

PSQL_TIMEOUT_S = 20.0


def sql_file(name: str) -> str:
    return resources.files("remedlab.chaos.functional").joinpath("sql", name).read_text()


def sql_text(name: str, **literals: str) -> str:
    """The SQL file ``name`` with each ``{key}`` of ``literals`` replaced by its value as a quoted literal
    (comment lines are left as they are: a value may span lines)."""

    def literal(match: re.Match[str]) -> str:
        key = match.group(1)
        return quote_literal(literals[key]) if key in literals else match.group(0)

    lines = sql_file(name).splitlines(keepends=True)
    return "".join(line if line.lstrip().startswith("--") else re.sub(r"\{(\w+)\}", literal, line) for line in lines)


async def _run_psql(backend: Backend, target: DatabaseTarget, statements: list[str], database: str | None) -> str:
    argv = ["psql", "-X", "-q", "-tA", "-v", "ON_ERROR_STOP=1", "-U", SUPERUSER, "-d", database or target.database]
    for statement in statements:
        argv += ["-c", statement]
    out, err, code = await backend.exec(target.namespace, target.pod, target.container, argv, PSQL_TIMEOUT_S)
    if code != 0:
        lines = [line for line in (err or out).strip().splitlines() if line.strip()]
        detail = lines[0] if lines else f"exit code {code}"
        raise Conflict(f"psql in pod {target.pod} failed: {detail}")
    return out


async def psql(backend: Backend, target: DatabaseTarget, sql: str, database: str | None = None) -> str:
    """Run `sql` (one or more statements, one transaction) in the target's database; its output."""
    return await _run_psql(backend, target, [sql], database)


async def psql_each(backend: Backend, target: DatabaseTarget, statements: list[str]) -> str:
    """Run each statement on its own (its own transaction, as ALTER SYSTEM needs), stopping at the first
    that fails; their output."""
    return await _run_psql(backend, target, statements, None)


class _Snapshot(BaseModel):
    model_config = ConfigDict(frozen=True)


class SchemaPrivileges(_Snapshot):
    schema_: str = Field(alias="schema")
    privileges: list[str]


class RelationPrivileges(_Snapshot):
    schema_: str = Field(alias="schema")
    name: str
    sequence: bool
    privileges: list[str]


class DefaultPrivileges(_Snapshot):
    owner: str
    schema_: str | None = Field(alias="schema")
    sequence: bool
    privileges: list[str]


class RolePrivileges(_Snapshot):
    """A role in one database: whether it exists, how it logs in, what was granted to it there."""

    exists: bool
    login: bool
    password: str | None
    database: list[str]
    schemas: list[SchemaPrivileges]
    relations: list[RelationPrivileges]
    defaults: list[DefaultPrivileges]

    @property
    def holds_any(self) -> bool:
        return bool(self.relations)


async def role_privileges(backend: Backend, target: DatabaseTarget) -> RolePrivileges:
    sql = sql_file("role_privileges.sql").replace("{role}", quote_literal(target.role))
    return RolePrivileges.model_validate(json.loads(await psql(backend, target, sql)))


def _relation(r: RelationPrivileges) -> str:
    kind = "SEQUENCE" if r.sequence else "TABLE"
    return f"{kind} {quote_ident(r.schema_)}.{quote_ident(r.name)}"


def _default_scope(d: DefaultPrivileges) -> str:
    schema = f" IN SCHEMA {quote_ident(d.schema_)}" if d.schema_ else ""
    return f"ALTER DEFAULT PRIVILEGES FOR ROLE {quote_ident(d.owner)}{schema}"


def revoke_data_access(snapshot: RolePrivileges, role: str) -> str:
    """Take away the role's rights on tables and sequences (now and for later ones); it still logs in."""
    who = quote_ident(role)
    lines = [f"REVOKE ALL ON {_relation(r)} FROM {who};" for r in snapshot.relations]
    for d in snapshot.defaults:
        kind = "SEQUENCES" if d.sequence else "TABLES"
        lines.append(f"{_default_scope(d)} REVOKE ALL ON {kind} FROM {who};")
    return "\n".join(lines)


def grant_data_access(snapshot: RolePrivileges, role: str) -> str:
    """Give back exactly the rights on tables and sequences (and the default ones) the snapshot holds."""
    who = quote_ident(role)
    lines = [f"GRANT {', '.join(r.privileges)} ON {_relation(r)} TO {who};" for r in snapshot.relations]
    for d in snapshot.defaults:
        kind = "SEQUENCES" if d.sequence else "TABLES"
        lines.append(f"{_default_scope(d)} GRANT {', '.join(d.privileges)} ON {kind} TO {who};")
    return "\n".join(lines)


def create_role(snapshot: RolePrivileges, role: str, database: str) -> str:
    """Create the role again as the snapshot saw it (its stored password hash) with all its grants."""
    who = quote_ident(role)
    login = "LOGIN" if snapshot.login else "NOLOGIN"
    password = f" PASSWORD {quote_literal(snapshot.password)}" if snapshot.password else ""
    lines = [f"CREATE ROLE {who} {login}{password};"]
    if snapshot.database:
        lines.append(f"GRANT {', '.join(snapshot.database)} ON DATABASE {quote_ident(database)} TO {who};")
    lines += [f"GRANT {', '.join(s.privileges)} ON SCHEMA {quote_ident(s.schema_)} TO {who};" for s in snapshot.schemas]
    return "\n".join([*lines, grant_data_access(snapshot, role)])


def drop_role(role: str) -> str:
    """End the role's sessions, take its privileges away and drop it (it must own no objects)."""
    who = quote_ident(role)
    return (
        f"SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE usename = {quote_literal(role)};\n"
        f"DROP OWNED BY {who};\n"
        f"DROP ROLE {who};"
    )


def owns_objects(role: str) -> str:
    """A query answering `t` when the role owns something in the current database."""
    role_oid = f"(SELECT oid FROM pg_roles WHERE rolname = {quote_literal(role)})"
    return f"SELECT EXISTS (SELECT 1 FROM pg_shdepend WHERE refobjid = {role_oid} AND deptype = 'o');"
