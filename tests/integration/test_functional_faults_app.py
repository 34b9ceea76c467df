"""AIOpsLab's faults on Hotel Reservation's application and stores, live: a store that takes clients over
TLS only (tls-required), a buggy build of rate (misconfig-app) and a store redeployed without its volume
(redeploy-without-pv). Each shows within 5 s as a user or an SRE would see it, a no-op fails the oracle
and the fix a person makes (a repair script run with the real kubectl's exec, a rollout undo; for
tls-required also clients configured for TLS) passes it. The baseline runbook repairs the database
faults from the logs and rolls the bad image back. One deployed app serves every case."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from remedlab.agents.episode import DONE, Incident
from remedlab.agents.run import run_agent
from tests.integration.agent_episodes import FaultLab, episode_story, fault_lab
from tests.integration.kubectl_harness import Kubectl

pytestmark = pytest.mark.integration

NS = "hotel-reservation"
SYMPTOM_SECONDS = 5.0


@pytest.fixture(scope="module")
def lab() -> Iterator[FaultLab]:
    with fault_lab(NS, "frontend", 5000) as lab:
        lab.server.ok("POST", "/v1/workloads", {"namespace": NS, "rate": 5})
        yield lab


@pytest.fixture(scope="module")
def kubectl(lab: FaultLab, tmp_path_factory: pytest.TempPathFactory) -> Kubectl:
    return Kubectl(lab.server, tmp_path_factory.mktemp("kube-cache"))


def _within(check: Callable[[], bool], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, f"{what} did not show within {seconds:g}s"
        time.sleep(0.25)


def searches_fail(lab: FaultLab) -> bool:
    return lab.load.window_by_kind(2)["search"].success_rate < 0.5


def login_fails(lab: FaultLab) -> bool:
    """A seeded user cannot log in (Cornell_7's password is 7 written ten times)."""
    ip = lab.server.get("services", NS, "frontend")["spec"]["clusterIP"]
    try:
        answer = httpx.get(f"http://{ip}:5000/user", params={"username": "Cornell_7", "password": "7" * 10}, timeout=3)
    except httpx.HTTPError:
        return True
    return answer.status_code != 200 or answer.json().get("message") != "Login successfully!"


def crash_loops(lab: FaultLab, app: str) -> bool:
    """A pod of the app restarts, or waits to restart, after its container exited."""
    for pod in lab.server.pods(NS, f"app={app}"):
        for status in pod["status"].get("containerStatuses") or []:
            waiting = (status.get("state") or {}).get("waiting") or {}
            if status.get("restartCount", 0) > 0 or waiting.get("reason") == "CrashLoopBackOff":
                return True
    return False


def script(database: str, name: str) -> Callable[[Kubectl], Any]:
    return lambda k: k.ok("exec", "-n", NS, f"deploy/{database}", "--", "sh", f"/scripts/{name}")


# fault, target, what shows, the human fix
CASES: list[tuple[str, str, Callable[[FaultLab], bool], Callable[[Kubectl], Any]]] = [
    ("tls-required", "postgres-geo", searches_fail, script("postgres-geo", "allow-non-tls.sh")),
    (
        "misconfig-app",
        "rate",
        lambda lab: searches_fail(lab) and crash_loops(lab, "rate"),
        lambda k: k.ok("rollout", "undo", "deployment/rate", "-n", NS),
    ),
    ("redeploy-without-pv", "postgres-user", login_fails, script("postgres-user", "restore-data.sh")),
]


def baseline(lab: FaultLab) -> dict[str, Any]:
    window = lab.server.wait_for(
        lambda: (w := lab.server.ok("GET", f"/v1/workloads/{NS}?seconds=3")["window"])["success_rate"] == 1.0 and w,
        timeout=30,
        interval=0.5,
        what="a clean workload window",
    )
    return {"successRate": window["success_rate"], "p95Ms": window["p95_ms"]}


def grade(lab: FaultLab, target: str, chaos: str, base: dict[str, Any], settle: float, timeout: float) -> Any:
    body = {
        "namespace": NS,
        "target": target,
        "chaos": chaos,
        "baseline": base,
        "settleSeconds": settle,
        "timeoutSeconds": timeout,
    }
    return lab.server.ok("POST", "/v1/grade", body, timeout=timeout + 30)


@pytest.mark.parametrize(("fault", "target", "shows", "fix"), CASES, ids=[c[0] for c in CASES])
def test_the_fault_shows_a_no_op_fails_and_the_human_fix_passes(
    lab: FaultLab,
    kubectl: Kubectl,
    fault: str,
    target: str,
    shows: Callable[[FaultLab], bool],
    fix: Callable[[Kubectl], Any],
) -> None:
    base = baseline(lab)
    with lab.fault(fault, target) as chaos:
        _within(lambda: shows(lab), SYMPTOM_SECONDS, f"{fault} on {target}")
        lab.wait_fault_shows(chaos, timeout=SYMPTOM_SECONDS)
        verdict = grade(lab, target, chaos, base, settle=2, timeout=3)
        assert not verdict["passed"] and verdict["reasons"], f"a no-op passed {fault}: {verdict}"
        fix(kubectl)
        verdict = grade(lab, target, chaos, base, settle=3, timeout=60)
        assert verdict["passed"], f"the fix of {fault} failed: {verdict}"
        assert not lab.fault_shows(chaos)
        assert not shows(lab)


def test_clients_configured_for_tls_fix_tls_required_and_keep_it_after_recovery(
    lab: FaultLab, kubectl: Kubectl
) -> None:
    base = baseline(lab)
    try:
        with lab.fault("tls-required", "postgres-geo") as chaos:
            _within(lambda: searches_fail(lab), SYMPTOM_SECONDS, "tls-required on postgres-geo")
            kubectl.ok("set", "env", "deployment/geo", "-n", NS, "DATABASE_SSLMODE=require")
            verdict = grade(lab, "postgres-geo", chaos, base, settle=3, timeout=60)
            assert verdict["passed"], f"clients with TLS failed: {verdict}"
        # recovery put the hba file back and left TLS on for geo, which keeps using it
        lab.assert_serving()
    finally:
        kubectl.ok("set", "env", "deployment/geo", "-n", NS, "DATABASE_SSLMODE=disable")
        lab.wait_healthy()


@pytest.mark.parametrize(
    ("fault", "target", "acted_on"),
    [
        ("revoke-auth", "postgres-geo", "postgres-geo"),
        ("user-unregistered", "postgres-rate", "postgres-rate"),
        ("tls-required", "postgres-geo", "postgres-geo"),
        ("misconfig-app", "rate", "rate"),
    ],
)
def test_baseline_remediates(lab: FaultLab, fault: str, target: str, acted_on: str, tmp_path: Path) -> None:
    with lab.fault(fault, target) as chaos:
        lab.wait_fault_shows(chaos)
        result = run_agent("baseline", Incident(NS), lab.api, out_dir=tmp_path)
        assert result.ended == DONE, episode_story(result, tmp_path)
        assert not lab.fault_shows(chaos), f"{fault} on {target} still shows after {result.actions}"
        lab.assert_serving()
    assert result.actions and all(a["ok"] for a in result.actions), episode_story(result, tmp_path)
    assert acted_on in str(result.actions[0]["why"]), result.actions
