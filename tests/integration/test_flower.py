"""Flower federated learning, live: the flower app gets Ready and its first FedAvg round finishes, and
the server follows its rounds as the workload; each of AIOpsLab's two Flower faults shows within a round
in the logs and the round metrics, the oracle fails a no-op, and passes the fix a person makes with the
real kubectl (a rollout undo for the misconfigured ClientApp, the stopped SuperNode's pod deleted so that
it is recreated). `remedlab run` plays Flower: a scripted ReAct agent answers a detection problem and
its no-fault control, and the baseline runbook mitigates a misconfigured ClientApp."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest

from remedlab.apps.flower.rounds import RoundRecord, parse_round
from remedlab.bench.results import RESULTS_FILE
from tests.integration.kubectl_harness import Kubectl
from tests.integration.server_harness import ServerProcess
from tests.scripted_llm import Reply, scripted_llm

pytestmark = pytest.mark.integration

NS = "flower"
T = TypeVar("T")
ROUND_SECONDS = 45.0
"""A round's budget on a busy host: a SuperNode polls every 3 s and a ClientApp process starts per round."""


@dataclass
class Lab:
    server: ServerProcess
    ready_seconds: float
    first_round_seconds: float


def _pod(server: ServerProcess, app: str) -> str:
    pods = [p for p in server.pods(NS, f"app={app}") if not p["metadata"].get("deletionTimestamp")]
    return str(pods[0]["metadata"]["name"])


def log(server: ServerProcess, app: str, container: str) -> str:
    status, body = server.request("GET", f"/api/v1/namespaces/{NS}/pods/{_pod(server, app)}/log?container={container}")
    return body if status == 200 and isinstance(body, str) else ""


def rounds(server: ServerProcess) -> list[RoundRecord]:
    """Every round the ServerApp's pod logged (its exporter's log), in order."""
    return [r for r in map(parse_round, log(server, "serverapp", "round-exporter").splitlines()) if r is not None]


def metrics(server: ServerProcess) -> dict[str, float]:
    ip = server.get("services", NS, "serverapp")["spec"]["clusterIP"]
    try:
        text = httpx.get(f"http://{ip}:9100/metrics", timeout=2).text
    except httpx.HTTPError:
        return {}
    return {m[1]: float(m[2]) for m in re.finditer(r"^(flower_\w+) (\S+)$", text, re.M)}


def wait(check: Callable[[], bool], seconds: float, what: str) -> None:
    wait_for(lambda: True if check() else None, seconds, what)


def wait_for(value: Callable[[], T | None], seconds: float, what: str) -> T:
    """The first value that is not None, within ``seconds``."""
    deadline = time.monotonic() + seconds
    while (found := value()) is None:
        assert time.monotonic() < deadline, f"{what} did not happen within {seconds:g}s"
        time.sleep(0.5)
    return found


def clean_run(server: ServerProcess) -> list[RoundRecord] | None:
    """The rounds of the first run whose rounds so far (two at least, from its first) had both clients."""
    by_run: dict[int, list[RoundRecord]] = {}
    for record in rounds(server):
        by_run.setdefault(record.run_id, []).append(record)
    for run in by_run.values():
        if len(run) >= 2 and run[0].round == 1 and all(r.clients == 2 and r.failures == 0 for r in run):
            return run
    return None


def rounds_after(server: ServerProcess, moment: float) -> list[RoundRecord]:
    return [r for r in rounds(server) if r.started >= moment]


@pytest.fixture(scope="module")
def lab() -> Iterator[Lab]:
    server = ServerProcess()
    try:
        server.start()
        started = time.monotonic()
        deployed = server.ok("POST", "/v1/apps/flower/deploy", {"timeoutSeconds": 60}, timeout=90)
        assert deployed["ready"], deployed
        ready = time.monotonic() - started
        wait(lambda: metrics(server).get("flower_rounds_total", 0) >= 1, 60, "a first round")
        first_round = time.monotonic() - started
        server.ok("POST", "/v1/workloads", {"namespace": NS})  # the server follows the rounds
        yield Lab(server, ready, first_round)
    finally:
        server.cleanup()


@pytest.fixture(scope="module")
def kubectl(lab: Lab, tmp_path_factory: pytest.TempPathFactory) -> Kubectl:
    return Kubectl(lab.server, tmp_path_factory.mktemp("kube-cache"))


def test_ready_and_rounds_learn(lab: Lab) -> None:
    print(f"flower: Ready in {lab.ready_seconds:.1f}s, first round done {lab.first_round_seconds:.1f}s after deploy")
    # on a busy host a SuperNode may join after the first run's first round: judge a run all of whose
    # rounds so far had both clients
    run = wait_for(lambda: clean_run(lab.server), 4 * ROUND_SECONDS, "a run with two rounds of both clients")
    print("accuracy per round:", [(r.round, r.accuracy, r.duration_seconds) for r in run])
    assert run[-1].accuracy > run[0].accuracy and run[-1].loss < run[0].loss
    series = metrics(lab.server)
    assert series["flower_round_clients"] == 2 and 0 < series["flower_round_accuracy"] <= 1
    # the workload is the rounds: a window is read over 20 s at least, each round one request
    wait(lambda: workload(lab.server)["window"]["requests"] >= 2, 3 * ROUND_SECONDS, "two rounds in the workload")
    seen = workload(lab.server)
    assert seen["seconds"] == 20 and set(seen["byKind"]) == {"round"}
    assert seen["window"]["success_rate"] == 1.0 and seen["window"]["p95_ms"] > 0


def workload(server: ServerProcess, seconds: float = 5) -> dict[str, Any]:
    return dict(server.ok("GET", f"/v1/workloads/{NS}?seconds={seconds}"))


def baseline(server: ServerProcess) -> dict[str, Any]:
    """The workload's window once it is clean again (the last test's fault may still show in it)."""

    def clean() -> bool:
        window = workload(server)["window"]
        return bool(window["requests"] >= 1 and window["success_rate"] == 1.0)

    wait(clean, 3 * ROUND_SECONDS, "a clean window of rounds")
    window = workload(server)["window"]
    return {"successRate": window["success_rate"], "p95Ms": window["p95_ms"]}


def grade(server: ServerProcess, target: str, chaos: str, base: dict[str, Any], timeout: float) -> dict[str, Any]:
    body = {"namespace": NS, "target": target, "chaos": chaos, "baseline": base, "timeoutSeconds": timeout}
    verdict = dict(server.ok("POST", "/v1/grade", body, timeout=timeout + 60))
    print(f"verdict on {target}: {verdict}")
    return verdict


def inject(server: ServerProcess, fault: str, target: str) -> str:
    obj = server.ok("POST", "/v1/chaos", {"fault": fault, "target": target, "namespace": NS})
    return str(obj["metadata"]["name"])


def clean_round_since(server: ServerProcess, moment: float) -> bool:
    return any(r.clients == 2 and r.failures == 0 for r in rounds_after(server, moment))


def play_fault(
    lab: Lab,
    kubectl: Kubectl,
    fault: str,
    target: str,
    symptom: tuple[str, Callable[[list[RoundRecord]], bool]],
    seen: Callable[[], bool],
    fix: tuple[str, ...],
    fix_rounds: int,
) -> float:
    """Inject ``fault`` on ``target``; wait for the ``symptom`` (what, and a check of the rounds since) and
    check what else shows (``seen``); a no-op fails; ``kubectl fix`` then passes within ``fix_rounds`` rounds.
    The time of the injection."""
    server = lab.server
    base = baseline(server)
    name = inject(server, fault, target)
    try:
        injected = time.time()
        what, check = symptom
        wait(lambda: check(rounds_after(server, injected)), 2 * ROUND_SECONDS, what)
        assert seen()
        no_op = grade(server, target, name, base, timeout=5)
        assert not no_op["passed"], no_op
        kubectl.ok(*fix)
        fixed = grade(server, target, name, base, timeout=fix_rounds * ROUND_SECONDS)
        assert fixed["passed"] and fixed["window"]["requests"] >= 1, fixed
        return injected
    finally:
        server.ok("DELETE", f"/v1/chaos/{NS}/{name}?wait=true", timeout=90)


def test_model_misconfig_fails_rounds_and_rollout_undo_clears_it(lab: Lab, kubectl: Kubectl) -> None:
    server = lab.server

    def seen() -> bool:
        exported = log(server, "serverapp", "round-exporter")
        return "parameter shape mismatch" in exported and metrics(server)["flower_rounds_degraded_total"] >= 1

    def shape_error(new: list[RoundRecord]) -> bool:
        return any(r.failures and "shape" in " ".join(r.errors) for r in new)

    injected = play_fault(
        lab, kubectl, "flower-model-misconfig", "clientapp-1", ("a round failing with a shape error", shape_error),
        seen, ("rollout", "undo", "deployment/clientapp-1", "-n", NS), fix_rounds=3,
    )  # fmt: skip
    assert clean_round_since(server, injected)


def test_node_stop_loses_a_client_and_recreating_the_pod_clears_it(lab: Lab, kubectl: Kubectl) -> None:
    server = lab.server

    def seen() -> bool:
        now = metrics(server)
        return now["flower_round_clients"] < 2 or now["flower_round_failures"] >= 1

    play_fault(
        lab, kubectl, "flower-node-stop", "supernode-1",
        ("a round without the stopped node's client", lambda new: any(r.clients < 2 for r in new)),
        seen, ("delete", "pod", "-n", NS, "-l", "app=supernode-1"), fix_rounds=4,
    )  # fmt: skip


def _run(server: ServerProcess, out: Path, *args: str, timeout: float = 420) -> dict[str, dict[str, Any]]:
    """`remedlab run --env flower` against the lab's server; each finished episode by its problem id
    (``control-N`` for a no-fault control, ``N`` for an episode of a suite)."""
    command = [sys.executable, "-m", "remedlab.cli.main", "run", "--env", NS, "--seed", "3", "--out", str(out), *args]
    env = {**server.env, "COLUMNS": "200"}
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=timeout, check=False)
    print(done.stdout[-3000:])
    assert done.returncode == 0, done.stderr
    found = {}
    for line in (out / RESULTS_FILE).read_text().splitlines():
        record = json.loads(line)
        key = record["problem"] or (f"control-{record['index']}" if record["fault"] == "none" else record["index"])
        found[str(key)] = record
    return found


def _detect(request: dict[str, Any]) -> dict[str, Any]:
    """A scripted ReAct turn: list the pods, then answer "Yes" if one is not Ready."""
    messages = request["messages"]
    if len(messages) <= 2:
        return {"content": f'Thought: look.\n```\nexec_shell("kubectl get pods -n {NS}")\n```'}
    answer = '"Yes"' if "0/1" in str(messages[-1]["content"]) else '"No"'
    return {"content": f"Thought: done.\n```\nsubmit({answer})\n```"}


def test_a_react_agent_detects_a_stopped_node_and_its_control(lab: Lab, tmp_path: Path) -> None:
    replies: list[Reply] = [_detect] * 6
    with scripted_llm(replies) as (_, url):
        records = _run(
            lab.server, tmp_path / "detect", "--suite", "aiopslab:flower_node_stop-detection", "--method", "ReAct",
            "--model", "gpt-4o-mini", "--base-url", url, "--max-steps", "4",
        )  # fmt: skip
    problem = records.pop("flower_node_stop-detection")
    ((_, control),) = records.items()
    assert problem["verdict"]["answer"] == "Yes" and problem["status"] == "success", problem["verdict"]
    assert control["verdict"]["answer"] == "No" and control["status"] == "success", control["verdict"]
    for record in (problem, control):
        assert record["quiet"]["clean"] and record["cleanup"]["healthy"], record
        assert record["baseline"]["requests"] >= 1 and record["baseline"]["success_rate"] == 1.0


def test_the_baseline_rolls_back_a_misconfigured_clientapp(lab: Lab, tmp_path: Path) -> None:
    # a ClientApp pod replaced while it holds a task leaves its SuperNode waiting until the task's token expires
    # (flwr's 30 s heartbeat), and the run in progress loses each round to its timeout until then: the rounds
    # may come back well after the rollback, so the verdict gets more than `run`'s default 120 s
    records = _run(
        lab.server, tmp_path / "baseline", "--suite", "flower-model-misconfig", "--experiments", "1",
        "--grade-timeout", "240",
    )  # fmt: skip
    ((_, episode),) = records.items()
    print(json.dumps({k: episode[k] for k in ("status", "verdict", "agent", "phases")}, indent=1)[:3000])
    assert episode["status"] == "success", episode["verdict"]
    assert episode["verdict"]["oracle"] == "remedlab" and episode["verdict"]["window"]["requests"] >= 1
    ((action,),) = [episode["agent"]["actions"]]
    assert action["ok"] and action["why"].startswith("erring-change on clientapp-"), action
    assert "shape mismatch" in action["why"], action
