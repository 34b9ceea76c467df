"""The baseline's answers to AIOpsLab's questions, read off its diagnosis with no ground truth."""

from __future__ import annotations

import copy
from typing import Any, cast

from remedlab.agents.episode import AgentContext, Incident
from remedlab.agents.findings import (
    DELETE_POD,
    DROP_NODE_SELECTOR,
    PATCH_TARGET_PORT,
    SCALE_UP,
    SICK_POD,
    UNDO,
    Finding,
)
from remedlab.agents.methods.baseline.answers import analyse, refusing_store, stores_of, template_changes
from remedlab.agents.server_api import AgentApi, AgentApiError
from tests.unit.test_agents_diagnosis import deployment, pod, replicaset, service, snapshot


def _finding(rule: str, action: str, evidence: str = "", deployment_: str = "time") -> Finding:
    return Finding(rule, deployment_, evidence, action)


def _level_and_type(finding: Finding, refused: bool = False, **snap: Any) -> tuple[str, str]:
    answer = analyse(snapshot(**snap), finding, refused)
    return answer["system_level"], answer["fault_type"]


def test_objects_misconfigured_name_their_level_and_type() -> None:
    assert _level_and_type(_finding("service-target-port", PATCH_TARGET_PORT)) == ("Virtualization", "Misconfiguration")
    assert _level_and_type(_finding("scaled-to-zero", SCALE_UP)) == ("Virtualization", "Operation Error")
    assert _level_and_type(_finding("unschedulable", DROP_NODE_SELECTOR)) == ("Virtualization", "Dependency Problem")


def _revisions(change: dict[str, Any]) -> dict[str, Any]:
    old, new = replicaset("time", 1, 1), replicaset("time", 2, 0)
    container = {"name": "c", "image": "remedlab/time:1", "command": ["time"], "resources": {}}
    old["spec"]["template"] = {"spec": {"containers": [container]}}
    new["spec"]["template"] = {"spec": {"containers": [{**copy.deepcopy(container), **change}]}}
    return {"replicasets": [replicaset("hello", 1, 1), old, new]}


def test_a_broken_rollout_is_an_application_fault_when_its_program_changed() -> None:
    undo = _finding("rollout-regression", UNDO)
    assert _level_and_type(undo, **_revisions({"command": ["geo"]})) == ("Application", "Misconfiguration")
    assert _level_and_type(undo, **_revisions({"image": "remedlab/time:bad"})) == ("Application", "Misconfiguration")
    tiny = {"resources": {"limits": {"cpu": "2m"}}}
    assert _level_and_type(undo, **_revisions(tiny)) == ("Virtualization", "Misconfiguration")
    assert template_changes(snapshot(**_revisions(tiny)), "time") == {"resources"}
    assert template_changes(snapshot(), "time") == set()  # one revision: nothing changed


def test_a_sick_pod_is_read_from_its_evidence_and_its_log() -> None:
    sick = _finding(SICK_POD, DELETE_POD, "pod time-a: not Ready for 30s")
    assert _level_and_type(sick) == ("Virtualization", "Operation Error")
    assert _level_and_type(sick, refused=True) == ("Application", "Authentication Issue")
    hot = _finding(SICK_POD, DELETE_POD, "pod time-a: CPU at 498m of a 500m limit")
    assert _level_and_type(hot) == ("Virtualization", "Resource Exhaustion")
    callers = _finding("sick-service", DELETE_POD, "callers failed 12 calls to time")
    assert _level_and_type(callers) == ("Virtualization", "Network/Storage Issue")


def test_a_service_names_its_stores_in_its_environment() -> None:
    time_ = deployment("time")
    env = [{"name": "DATABASE_ADDR", "value": "db:5432"}, {"name": "DATABASE_USER", "value": "hello"}]
    time_["spec"]["template"]["spec"] = {"containers": [{"name": "c", "env": env}]}
    deployments = [deployment("hello"), time_, deployment("db")]
    snap = snapshot(deployments=deployments, services=[service("db"), service("time"), service("hello")])
    assert stores_of(snap, "time") == ["db"]  # not hello: a user name is no address
    assert stores_of(snap, "hello") == []


class _LogsApi:
    """Pods' logs, as the server answers `pods/log` (no previous container here)."""

    def __init__(self, logs: dict[str, str]) -> None:
        self.logs = logs

    def pod_log(
        self, namespace: str, pod: str, *, tail: int | None = 100, previous: bool = False, since: int | None = None
    ) -> str:
        if previous:
            raise AgentApiError(f'previous terminated container in pod "{pod}" not found')
        return self.logs.get(pod, "")


def _refusing(logs: dict[str, str], finding: Finding) -> str | None:
    time_ = deployment("time")
    env = [{"name": "DATABASE_ADDR", "value": "db:5432"}]
    time_["spec"]["template"]["spec"] = {"containers": [{"name": "c", "env": env}]}
    snap = snapshot(
        deployments=[deployment("hello"), time_, deployment("db")],
        replicasets=[replicaset(n, 1, 1) for n in ("hello", "time", "db")],
        pods=[pod("hello-a", "hello"), pod("time-a", "time", ready=False), pod("db-a", "db")],
        services=[service("hello"), service("time"), service("db")],
    )
    ctx = AgentContext(cast(AgentApi, _LogsApi(logs)), Incident("sm", task="localization"))
    return refusing_store(ctx, snap, finding)


def test_a_database_that_refuses_its_service_is_the_faulty_component() -> None:
    sick = Finding(SICK_POD, "time", "pod time-a: not Ready for 30s", DELETE_POD, pod="time-a")
    assert _refusing({"db-a": "ERROR:  permission denied for table points"}, sick) == "db"
    dropped = 'FATAL:  password authentication failed for user "rate"\nDETAIL:  Role "rate" does not exist.'
    assert _refusing({"db-a": dropped}, sick) == "db"
    assert _refusing({"time-a": "store db failed: permission denied"}, sick) == "db"  # its only store
    assert _refusing({"db-a": "LOG:  checkpoint complete", "time-a": "file x does not exist"}, sick) is None
    on_db = Finding("sick-service", "db", "callers failed 9 calls to db", DELETE_POD, pod="db-a")
    assert _refusing({"db-a": "ERROR:  permission denied for table points"}, on_db) == "db"
