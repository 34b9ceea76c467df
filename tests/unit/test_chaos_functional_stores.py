"""The functional faults on an app's stores, on a store-backed cluster whose database pod answers `psql`
from a small model of a PostgreSQL server: tls-required switches the server to TLS-only clients and back
(leaving a repaired hba file, and the TLS its clients were given, alone), redeploy-without-pv makes the
store's claims again and starts the services using it again, then loads the data back on recovery."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import pytest

from remedlab.api.client import Backend
from remedlab.api.errors import BadRequest, Conflict
from remedlab.api.pod_log_options import LogOptions
from remedlab.apps.catalog import get_app
from remedlab.chaos.controller import register_validators
from remedlab.chaos.functional import postgres_tls, redeploy_without_pv, tls_required
from remedlab.chaos.functional.postgres_tls import REJECT_PLAINTEXT, requires_tls, tls_only
from remedlab.cluster.apiserver.store import Store
from tests.unit.test_chaos_controller import StoreBackend

NS = "shop"
Obj = dict[str, Any]
HBA = "local   all  all                trust\nhost    all  all   127.0.0.0/8   scram-sha-256\n"
HBA_FILE = "/var/lib/postgresql/data/pg_hba.conf"


def _unquote(literal: str) -> str:
    return literal.replace("''", "'")


@dataclass
class FakeServer:
    """What the faults see of a PostgreSQL server through `psql`: its hba file, ssl, its sessions."""

    hba: str = HBA
    ssl: str = "off"
    ssl_loaded: bool = False
    tls_sessions: int = 0
    files: dict[str, str] = field(default_factory=dict)
    statements: list[str] = field(default_factory=list)
    commands: list[list[str]] = field(default_factory=list)

    def answer(self, sql: str) -> str:
        self.statements.append(sql)
        if "'hbaFile'" in sql:
            state = {"hbaFile": HBA_FILE, "hba": self.hba, "dataDirectory": "/var/lib/postgresql/data", "ssl": self.ssl}
            return json.dumps({**state, "sslSourceFile": None, "sslCertFile": "server.crt", "sslKeyFile": "server.key"})
        if "lo_export" in sql:
            text = re.search(r"convert_to\('((?:[^']|'')*)', 'UTF8'\)", sql)
            path = re.search(r"lo_export\(lo, '((?:[^']|'')*)'\)", sql)
            assert text and path
            self.files[_unquote(path.group(1))] = _unquote(text.group(1))
            if _unquote(path.group(1)) == HBA_FILE:
                self.hba = _unquote(text.group(1))
            return ""
        if "TO PROGRAM" in sql:
            program = re.search(r"TO PROGRAM '((?:[^']|'')*)'", sql)
            assert program and program.group(1) == "umask 077 && cat > server.key"
            self.files["server.key"] = "key"
            return ""
        if sql.startswith("ALTER SYSTEM SET ssl = on"):
            self.ssl = "on"
        elif sql.startswith("ALTER SYSTEM RESET ssl"):
            self.ssl = "off"
        elif "pg_reload_conf" in sql:
            self.ssl_loaded = self.ssl == "on" and "server.key" in self.files
            return "t\n"
        elif "pg_terminate_backend" in sql:
            return "2\n"
        elif "s.ssl;" in sql:
            return f"{self.tls_sessions}\n"
        return ""


class PsqlBackend(StoreBackend):
    """A store-backed cluster whose pods answer `psql` (and other commands) from a FakeServer."""

    def __init__(self, store: Store) -> None:
        super().__init__(store)
        self.server = FakeServer()
        self.fail_restore = False

    async def exec(
        self, namespace: str, name: str, container: str | None, command: list[str], timeout: float
    ) -> tuple[str, str, int]:
        self.server.commands.append(command)
        if command[0] != "psql":
            return ("", "no such script", 1) if self.fail_restore else ("data loaded\n", "", 0)
        if "sslmode='require'" in command[command.index("-d") + 1]:
            return ("t\n", "", 0) if self.server.ssl_loaded else ("", "server does not support SSL", 2)
        out = "".join(self.server.answer(command[i + 1]) for i, arg in enumerate(command) if arg == "-c")
        return out, "", 0

    def logs(self, namespace: str, name: str, options: LogOptions) -> str:
        return ""


def _pod(name: str, app: str, ready: bool = True) -> Obj:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": NS, "labels": {"app": app}},
        "spec": {
            "nodeName": "node",
            "containers": [
                {"name": app, "image": "remedlab/postgres:15", "env": [{"name": "POSTGRES_USER", "value": "app"}]}
            ],
        },
        "status": {
            "phase": "Running",
            "podIP": "127.0.0.9",
            "conditions": [{"type": "Ready", "status": "True" if ready else "False"}],
        },
    }


def _deployment(name: str, env: list[Obj], volumes: list[Obj] | None = None) -> Obj:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": NS},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {
                    "containers": [{"name": name, "image": "remedlab/postgres:15", "env": env}],
                    "volumes": volumes or [],
                },
            },
        },
    }


@pytest.fixture
def backend(tmp_path: Path) -> Iterator[PsqlBackend]:
    register_validators()
    store = Store(tmp_path / "cluster.db")
    backend = PsqlBackend(store)
    backend.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}})
    claim = [{"name": "data", "persistentVolumeClaim": {"claimName": "db-data"}}]
    backend.create(_deployment("db", [{"name": "POSTGRES_USER", "value": "app"}], claim))
    backend.create(_deployment("api", [{"name": "DATABASE_ADDR", "value": "db:5432"}]))
    backend.create(
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "db", "namespace": NS},
            "spec": {"selector": {"app": "db"}, "ports": [{"port": 5432}]},
        }
    )
    backend.create(
        {
            "apiVersion": "v1",
            "kind": "PersistentVolumeClaim",
            "metadata": {"name": "db-data", "namespace": NS, "labels": {"app": "db"}},
            "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}},
        }
    )
    backend.store.create(_pod("db-1", "db"))
    backend.store.create(_pod("api-1", "api"))
    try:
        yield backend
    finally:
        store.close()


def _chaos(action: str, **parameters: Any) -> Obj:
    return {
        "apiVersion": "chaos.remedlab.io/v1alpha1",
        "kind": "FunctionalChaos",
        "metadata": {"name": action, "namespace": NS},
        "spec": {"action": action, "deployment": "db", "parameters": parameters},
    }


def test_an_hba_file_is_made_tls_only_and_told_apart() -> None:
    faulty = tls_only(HBA)
    assert faulty.splitlines() == [
        "local   all  all                trust",
        *REJECT_PLAINTEXT,
        "hostssl    all  all   127.0.0.0/8   scram-sha-256",
    ]
    assert requires_tls(faulty) and not requires_tls(HBA)
    assert not requires_tls("hostssl all all all md5\nhostnossl all all all md5\n")  # plaintext let in
    assert requires_tls("local all all trust\n")  # no TCP rule at all


def test_tls_required_serves_tls_to_tls_clients_only_until_recovered(backend: PsqlBackend) -> None:
    chaos = _chaos("tls-required")
    action = tls_required.ACTION
    record = asyncio.run(action.inject(cast(Backend, backend), chaos))
    server = backend.server
    assert server.ssl == "on" and server.ssl_loaded and server.hba == tls_only(HBA)
    assert server.files["server.crt"].count("BEGIN CERTIFICATE") == 2  # its own and its CA's
    assert record["clients"] == ["api"] and record["restartedPods"] == ["api-1"] and record["endedSessions"] == 2
    assert record["server"]["hba"] == HBA and record["faultyHba"] == tls_only(HBA)
    with pytest.raises(Conflict, match="over TLS only already"):
        asyncio.run(action.inject(cast(Backend, backend), chaos))

    asyncio.run(action.recover(cast(Backend, backend), chaos, record))
    assert (server.hba, server.ssl) == (HBA, "off")
    asyncio.run(action.recover(cast(Backend, backend), chaos, record))  # again: nothing more to do
    assert (server.hba, server.ssl) == (HBA, "off")


def test_tls_required_leaves_a_repair_and_tls_clients_alone(backend: PsqlBackend) -> None:
    chaos = _chaos("tls-required", restartClients=False)
    action = tls_required.ACTION
    record = asyncio.run(action.inject(cast(Backend, backend), chaos))
    assert record["restartedPods"] == []
    # the clients were configured for TLS (DATABASE_SSLMODE=require): ssl stays on, the hba goes back
    backend.server.tls_sessions = 1
    asyncio.run(action.recover(cast(Backend, backend), chaos, record))
    assert (backend.server.hba, backend.server.ssl) == (HBA, "on")

    backend.server = FakeServer()
    record = asyncio.run(action.inject(cast(Backend, backend), chaos))
    repaired = HBA + "hostssl all all ::1/128 md5\n"  # someone's own repair (sh /scripts/allow-non-tls.sh)
    backend.server.hba = repaired
    asyncio.run(action.recover(cast(Backend, backend), chaos, record))
    assert (backend.server.hba, backend.server.ssl) == (repaired, "off")


def test_tls_required_puts_everything_back_when_the_server_cannot_serve_tls(
    backend: PsqlBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(postgres_tls, "SSL_WAIT_S", 0.3)
    original = backend.server.answer

    def no_key(sql: str) -> str:
        out = original(sql)
        if "pg_reload_conf" in sql:
            backend.server.ssl_loaded = False  # the key was refused
        return out

    backend.server.answer = no_key  # type: ignore[method-assign]
    with pytest.raises(Conflict, match="does not serve TLS \\(server does not support SSL\\)"):
        asyncio.run(tls_required.ACTION.inject(cast(Backend, backend), _chaos("tls-required")))
    assert (backend.server.hba, backend.server.ssl) == (HBA, "off")


def test_redeploy_without_pv_makes_the_claims_again_and_restores_the_data_on_recovery(backend: PsqlBackend) -> None:
    action = redeploy_without_pv.ACTION
    chaos = _chaos("redeploy-without-pv")
    before = backend.get("persistentvolumeclaims", NS, "db-data")
    record = asyncio.run(action.inject(cast(Backend, backend), chaos))
    after = backend.get("persistentvolumeclaims", NS, "db-data")
    assert after["metadata"]["uid"] != before["metadata"]["uid"]  # a new claim: a new, empty volume
    assert after["spec"] == before["spec"] and after["metadata"]["labels"] == {"app": "db"}
    assert backend.get("deployments", NS, "db")["spec"]["replicas"] == 1
    assert record["stores"] == [{"deployment": "db", "replicas": 1, "claims": ["db-data"]}]
    assert record["clients"] == ["api"] and record["restartedPods"] == ["api-1"]

    backend.store.create(_pod("db-2", "db"))  # the store's new pod, on the new volume
    backend.store.create(_pod("api-2", "api", ready=False))
    seen, detail = action.observable(cast(Backend, backend), chaos, record)
    assert seen and "api-2 is not ready" in detail

    asyncio.run(action.recover(cast(Backend, backend), chaos, record))
    assert backend.server.commands[-1] == ["sh", "/scripts/restore-data.sh"]
    backend.fail_restore = True
    with pytest.raises(Conflict, match="restoring the data of db failed: no such script"):
        asyncio.run(action.recover(cast(Backend, backend), chaos, record))
    runs = len(backend.server.commands)
    asyncio.run(action.recover(cast(Backend, backend), _chaos("redeploy-without-pv", restore=[]), record))
    assert len(backend.server.commands) == runs  # restore [] leaves the data lost


def test_redeploy_without_pv_needs_a_store_with_a_claim(backend: PsqlBackend) -> None:
    chaos = {**_chaos("redeploy-without-pv"), "spec": {"action": "redeploy-without-pv", "deployment": "api"}}
    with pytest.raises(BadRequest, match="deployment api keeps no data on a volume claim"):
        asyncio.run(redeploy_without_pv.ACTION.inject(cast(Backend, backend), chaos))


def test_every_postgres_store_of_an_app_is_a_target_of_the_store_faults() -> None:
    app = get_app("hotel-reservation")
    stores = [f"postgres-{s}" for s in ("geo", "rate", "profile", "recommendation", "reservation", "user")]
    for fault in ("tls-required", "redeploy-without-pv"):
        assert app.targets_for(fault) == stores
    assert app.targets_for("misconfig-app") == ["rate"]
    assert "tls-required" not in get_app("simple-micro").targets  # no PostgreSQL store
