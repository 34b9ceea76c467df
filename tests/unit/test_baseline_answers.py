"""The baseline's answers to AIOpsLab's questions, read off its diagnosis with no ground truth."""

from __future__ import annotations

import copy
from typing import Any

from remedlab.agents.findings import DELETE_POD, DROP_NODE_SELECTOR, PATCH_TARGET_PORT, SCALE_UP, UNDO, Finding
from remedlab.agents.methods.baseline.answers import analyse, stores_of, template_changes
from tests.unit.test_agents_diagnosis import deployment, replicaset, service, snapshot


def _finding(rule: str, action: str, evidence: str = "", deployment_: str = "time") -> Finding:
    return Finding(rule, deployment_, evidence, action)


def _level_and_type(finding: Finding, logs: str = "", **snap: Any) -> tuple[str, str]:
    answer = analyse(snapshot(**snap), finding, logs)
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
    sick = _finding("sick-pod", DELETE_POD, "pod time-a: not Ready for 30s")
    assert _level_and_type(sick) == ("Virtualization", "Operation Error")
    denied = "store failed: permission denied for table points"
    assert _level_and_type(sick, denied) == ("Application", "Authentication Issue")
    gone = 'FATAL: password authentication failed for user "rate"'
    assert _level_and_type(sick, gone) == ("Application", "Authentication Issue")
    assert _level_and_type(sick, "file /tmp/x does not exist") == ("Virtualization", "Operation Error")
    hot = _finding("sick-pod", DELETE_POD, "pod time-a: CPU at 498m of a 500m limit")
    assert _level_and_type(hot) == ("Virtualization", "Resource Exhaustion")
    callers = _finding("sick-service", DELETE_POD, "callers failed 12 calls to time")
    assert _level_and_type(callers) == ("Virtualization", "Network/Storage Issue")


def test_a_service_names_its_stores_in_its_environment() -> None:
    time_ = deployment("time")
    env = [{"name": "DATABASE_ADDR", "value": "db:5432"}, {"name": "X", "value": "1"}]
    time_["spec"]["template"]["spec"] = {"containers": [{"name": "c", "env": env}]}
    deployments = [deployment("hello"), time_, deployment("db")]
    snap = snapshot(deployments=deployments, services=[service("db"), service("time")])
    assert stores_of(snap, "time") == ["db"]
    assert stores_of(snap, "hello") == []
