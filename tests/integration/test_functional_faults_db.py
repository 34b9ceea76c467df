"""AIOpsLab's database faults on Hotel Reservation's PostgreSQL stores, carried out through the
Kubernetes API (`KubeBackend`): within 5 s of the injection the workload's requests to the frontend
fail and the fault shows; the mitigation script shipped in the database pod (run with `kubectl exec`)
clears it; recover() then leaves the repair alone, and without a repair recover() restores health."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Coroutine, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

import pytest

from remedlab.chaos.functional import revoke_auth, user_unregistered
from remedlab.chaos.functional.action import FunctionalAction
from remedlab.chaos.functional.postgres_sql import RolePrivileges, psql, role_privileges
from remedlab.chaos.functional.postgres_target import DatabaseTarget, database_target
from remedlab.kube.kube_backend import KubeBackend
from tests.integration.kubectl_harness import Kubectl
from tests.integration.load_harness import BackgroundLoad
from tests.integration.server_harness import ServerProcess, running_server

pytestmark = pytest.mark.integration

NS = "hotel-reservation"
T = TypeVar("T")


@dataclass(frozen=True)
class Case:
    action: FunctionalAction
    database: str
    script: str


CASES = {
    "revoke-auth": Case(revoke_auth.ACTION, "postgres-geo", "restore-grants.sh"),
    "user-unregistered": Case(user_unregistered.ACTION, "postgres-rate", "recreate-user.sh"),
}


@dataclass
class Lab:
    server: ServerProcess
    backend: KubeBackend
    loop: asyncio.AbstractEventLoop
    kubectl: Kubectl

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return self.loop.run_until_complete(coro)

    def chaos(self, database: str) -> dict[str, Any]:
        return {"metadata": {"namespace": NS, "name": f"db-{database}"}, "spec": {"deployment": database}}

    def target(self, database: str) -> DatabaseTarget:
        return database_target(self.backend, self.chaos(database))

    def privileges(self, database: str) -> RolePrivileges:
        return self.run(role_privileges(self.backend, self.target(database)))

    def load(self) -> BackgroundLoad:
        ip = self.server.get("services", NS, "frontend")["spec"]["clusterIP"]
        return BackgroundLoad(ip, 5000, NS, rate=20)


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    with running_server(NS) as server:
        loop = asyncio.new_event_loop()
        backend = KubeBackend(server.home / "kubeconfig")
        loop.run_until_complete(backend.start())
        try:
            yield Lab(server, backend, loop, Kubectl(server, tmp_path_factory.mktemp("kube-cache")))
        finally:
            loop.run_until_complete(backend.stop())
            loop.close()


def wait_serving(load: BackgroundLoad, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    summary = None
    while time.monotonic() < deadline:
        time.sleep(1.0)
        summary = load.window(2.0)
        if summary.requests >= 10 and summary.success_rate == 1.0:
            return
    raise AssertionError(f"the frontend does not serve every request: {summary}")


def wait_fault_shows(lab: Lab, load: BackgroundLoad, case: Case, record: dict[str, Any]) -> str:
    """Within 5 s of the injection: requests fail and the action sees the fault."""
    started = time.monotonic()
    while True:
        summary = load.window(1.0)
        seen, how = case.action.observable(lab.backend, lab.chaos(case.database), record)
        if seen and summary.requests and summary.success_rate < 0.5:
            return how
        assert time.monotonic() - started < 5.0, f"the fault does not show within 5 s: {how}; {summary}"
        time.sleep(0.25)


@pytest.mark.parametrize("name", sorted(CASES))
def test_fault_shows_and_the_mitigation_script_clears_it(lab: Lab, name: str) -> None:
    case = CASES[name]
    chaos = lab.chaos(case.database)
    with lab.load() as load:
        wait_serving(load)
        record = lab.run(case.action.inject(lab.backend, chaos))
        assert record["mechanism"] == name and record["phase"] == "Injected"
        assert record["clients"] == [case.database.removeprefix("postgres-")]
        how = wait_fault_shows(lab, load, case, record)
        assert "not ready" in how or "logs:" in how, how

        out = lab.kubectl.ok("exec", "-n", NS, f"deploy/{case.database}", "--", "sh", f"/scripts/{case.script}")
        assert "restored" in out, out
        wait_serving(load)
        repaired = lab.privileges(case.database)
        lab.run(case.action.recover(lab.backend, chaos, record))
        assert lab.privileges(case.database) == repaired
        lab.server.wait_for(
            lambda: not case.action.observable(lab.backend, chaos, record)[0], timeout=10, what="the fault to clear"
        )
        assert load.measure(2.0).success_rate == 1.0


@pytest.mark.parametrize("name", sorted(CASES))
def test_recover_without_a_repair_restores_health(lab: Lab, name: str) -> None:
    case = CASES[name]
    chaos = lab.chaos(case.database)
    with lab.load() as load:
        wait_serving(load)
        before = lab.privileges(case.database)
        record = lab.run(case.action.inject(lab.backend, chaos))
        wait_fault_shows(lab, load, case, record)
        lab.run(case.action.recover(lab.backend, chaos, record))
        assert lab.privileges(case.database) == before
        wait_serving(load)
        lab.run(case.action.recover(lab.backend, chaos, record))  # a second time: nothing more to do
        assert lab.privileges(case.database) == before


def test_recover_leaves_a_partial_human_fix_alone(lab: Lab) -> None:
    """Someone granted the role SELECT only: recover() does not add what revoke-auth took beyond it."""
    case = CASES["revoke-auth"]
    chaos = lab.chaos(case.database)
    record = lab.run(case.action.inject(lab.backend, chaos))
    target = lab.target(case.database)
    lab.run(psql(lab.backend, target, f"GRANT SELECT ON points TO {target.role};"))
    lab.run(case.action.recover(lab.backend, chaos, record))
    assert [r.privileges for r in lab.privileges(case.database).relations] == [["SELECT"]]
    lab.kubectl.ok("exec", "-n", NS, f"deploy/{case.database}", "--", "sh", "/scripts/restore-grants.sh")
